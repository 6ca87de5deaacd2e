#include <gale/web/xsrf.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <string>
#include <vector>

using namespace gale::web;
using namespace std::chrono;

namespace {

std::string counting_token() {
    std::string token(16, '\0');
    for (std::size_t i = 0; i < token.size(); ++i) {
        token[i] = static_cast<char>(i);
    }
    return token;
}

}  // namespace

TEST_CASE("XSRF tokens are random and masked differently every time", "[web][xsrf]") {
    XsrfToken token = generate_xsrf_token();
    CHECK(token.version == 2);
    CHECK(token.token.size() == 16);
    CHECK(generate_xsrf_token().token != token.token);

    std::set<std::string> encodings;
    for (int i = 0; i < 20; ++i) {
        std::string encoded = encode_xsrf_token(token);
        CHECK(encoded.starts_with("2|"));
        encodings.insert(encoded);
        auto decoded = decode_xsrf_token(encoded);
        REQUIRE(decoded);
        CHECK(decoded->version == 2);
        CHECK(decoded->token == token.token);
        CHECK(floor<seconds>(decoded->timestamp) == floor<seconds>(token.timestamp));
    }
    CHECK(encodings.size() == 20);
}

TEST_CASE("decode_xsrf_token reads Tornado's version 2 and version 1 tokens", "[web][xsrf]") {
    // Produced by Tornado 6.2 with mask 01020304 and token bytes 00..0f.
    auto decoded = decode_xsrf_token("2|01020304|0103010705070503090b090f0d0f0d0b|1700000000");
    REQUIRE(decoded);
    CHECK(decoded->token == counting_token());
    CHECK(decoded->timestamp == system_clock::time_point{seconds(1700000000)});

    auto version_1 = decode_xsrf_token("000102030405060708090a0b0c0d0e0f");
    REQUIRE(version_1);
    CHECK(version_1->version == 1);
    CHECK(version_1->token == counting_token());
    CHECK(encode_xsrf_token(*version_1, 1) == "000102030405060708090a0b0c0d0e0f");

    auto legacy = decode_xsrf_token("xoxo");  // short, non-hex legacy tokens are raw text
    REQUIRE(legacy);
    CHECK(legacy->token == "xoxo");
}

TEST_CASE("decode_xsrf_token rejects malformed tokens", "[web][xsrf]") {
    for (std::string bad : std::vector<std::string>{
             "", "2|", "2|||", "2|01020304|00|", "2|0102030|00|1", "2|0102030405|00|1",
             "2|01020304|0g|1", "2|01020304|000|1", "2|01020304|00|x", "2|01020304|00|-1",
             "2|01020304|00|1|extra", "3|01020304|00|1", "10|abc", "2|01020304|00|1234567890123",
             "2|01020304|00|11700000000", "2|01020304|00|9223372037"}) {
        INFO(bad);
        CHECK(!decode_xsrf_token(bad));
    }
    CHECK_THROWS_WITH(encode_xsrf_token(generate_xsrf_token(), 3),
                      Catch::Contains("unknown XSRF token version 3"));
}

TEST_CASE("check_xsrf_token follows Tornado's XSRF rules", "[web][xsrf]") {
    XsrfToken token = generate_xsrf_token();
    std::string cookie = encode_xsrf_token(token);
    std::string form = encode_xsrf_token(token);  // a different mask, same token
    CHECK(form != cookie);
    CHECK(check_xsrf_token(form, cookie) == XsrfCheck::ok);
    CHECK(check_xsrf_token(cookie, cookie) == XsrfCheck::ok);
    CHECK(check_xsrf_token(encode_xsrf_token(token, 1), cookie) == XsrfCheck::ok);
    CHECK(check_xsrf_token(form, encode_xsrf_token(token, 1)) == XsrfCheck::ok);
    CHECK(check_xsrf_token("xoxo", std::string_view("xoxo")) == XsrfCheck::ok);

    CHECK(check_xsrf_token("", cookie) == XsrfCheck::missing);
    CHECK(check_xsrf_token("", std::nullopt) == XsrfCheck::missing);
    CHECK(check_xsrf_token(form, std::nullopt) == XsrfCheck::mismatch);
    CHECK(check_xsrf_token("2|bad", cookie) == XsrfCheck::invalid_format);
    CHECK(check_xsrf_token(form, std::string_view("2|bad")) == XsrfCheck::mismatch);
    CHECK(check_xsrf_token(form, std::string_view("")) == XsrfCheck::mismatch);
    CHECK(check_xsrf_token(encode_xsrf_token(generate_xsrf_token()), cookie) ==
          XsrfCheck::mismatch);

    CHECK(describe(XsrfCheck::missing) == "'_xsrf' argument missing from POST");
    CHECK(describe(XsrfCheck::invalid_format) == "'_xsrf' argument has invalid format");
    CHECK(describe(XsrfCheck::mismatch) == "XSRF cookie does not match POST argument");
}

TEST_CASE("constant_time_equals compares bytes", "[web][xsrf]") {
    CHECK(constant_time_equals("", ""));
    CHECK(constant_time_equals("abc", "abc"));
    CHECK(!constant_time_equals("abc", "abd"));
    CHECK(!constant_time_equals("abc", "ab"));
    CHECK(constant_time_equals(std::string("a\0b", 3), std::string("a\0b", 3)));
    CHECK(!constant_time_equals(std::string("a\0b", 3), std::string("a\0c", 3)));
}
