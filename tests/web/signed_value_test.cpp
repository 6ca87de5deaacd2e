#include <gale/web/signed_value.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace gale::web;
using namespace std::chrono;

namespace {

const system_clock::time_point signing_time{seconds(1700000000)};

SignedValueOptions at(system_clock::time_point now, double max_age_days = 31) {
    return SignedValueOptions{.max_age_days = max_age_days, .now = now};
}

// Runs a shell command and returns its standard output (empty on failure).
std::string capture(const std::string& command) {
    std::string output;
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) {
        return output;
    }
    std::array<char, 4096> buffer{};
    while (std::size_t count = std::fread(buffer.data(), 1, buffer.size(), pipe)) {
        output.append(buffer.data(), count);
    }
    pclose(pipe);
    while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) {
        output.pop_back();
    }
    return output;
}

bool tornado_available() {
    return std::system("/usr/bin/python3 -c 'import tornado.web' >/dev/null 2>&1") == 0;
}

}  // namespace

TEST_CASE("base64 round-trips and rejects bad input", "[web][signed_value]") {
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("f") == "Zg==");
    CHECK(base64_encode("fo") == "Zm8=");
    CHECK(base64_encode("foo") == "Zm9v");
    CHECK(base64_encode("foobar") == "Zm9vYmFy");
    CHECK(base64_encode(std::string("\xff\x00", 2)) == "/wA=");
    for (std::string text :
         std::vector<std::string>{"", "f", "fo", "foo", "foob", std::string("\0\xff\x7f", 3)}) {
        CHECK(base64_decode(base64_encode(text)) == text);
    }
    CHECK(!base64_decode("Zg="));
    CHECK(!base64_decode("Z==="));
    CHECK(!base64_decode("Zm9v!A=="));
    CHECK(!base64_decode("=Zm9"));
    CHECK(!base64_decode("Zm9v YmFy"));
}

// Known answers computed with Python Tornado 6.2 (create_signed_value, version=2).
TEST_CASE("create_signed_value matches Tornado byte for byte", "[web][signed_value]") {
    CHECK(create_signed_value(SignedValueSecrets("secret"), "user", "alice", signing_time) ==
          "2|1:0|10:1700000000|4:user|8:YWxpY2U=|"
          "625e353ffbe75bfe6bf85c804055953dd5ee49762f0b4717197c3fe832cb2aca");
    SignedValueSecrets versioned({{0, "old"}, {1, "new"}}, 1);
    CHECK(create_signed_value(versioned, "user",
                              std::string("\xff\x00"
                                          "bin",
                                          5),
                              signing_time) ==
          "2|1:1|10:1700000000|4:user|8:/wBiaW4=|"
          "8dd7e15f86f87d43575fa4bf25e2a7d9d1496611dda2b35515490dbad0333cba");
    CHECK(create_signed_value(SignedValueSecrets("secret"), "user", "", signing_time) ==
          "2|1:0|10:1700000000|4:user|0:|"
          "c3df5b41ed0adc24093d03374a8c5cff11d0f83daf050c24e206e5c370550e1e");
}

TEST_CASE("decode_signed_value accepts good values", "[web][signed_value]") {
    SignedValueSecrets secrets("secret");
    std::string signed_value = create_signed_value(secrets, "user", "alice", signing_time);
    CHECK(decode_signed_value(secrets, "user", signed_value, at(signing_time)) == "alice");
    CHECK(decode_signed_value(secrets, "user", signed_value, at(signing_time + hours(24 * 30))) ==
          "alice");
    std::string binary(256, '\0');
    for (int i = 0; i < 256; ++i) {
        binary[static_cast<std::size_t>(i)] = static_cast<char>(i);
    }
    CHECK(decode_signed_value(secrets, "b", create_signed_value(secrets, "b", binary)) == binary);
    CHECK(decode_signed_value(secrets, "e", create_signed_value(secrets, "e", "")) == "");
    CHECK(signed_value_key_version(signed_value) == 0);
}

TEST_CASE("decode_signed_value rejects expiry, tampering, wrong key and wrong name",
          "[web][signed_value]") {
    SignedValueSecrets secrets("secret");
    std::string good = create_signed_value(secrets, "user", "alice", signing_time);
    CHECK(!decode_signed_value(secrets, "user", good, at(signing_time + hours(24 * 32))));
    CHECK(!decode_signed_value(secrets, "user", good, at(signing_time + hours(2), 0.05)));
    CHECK(decode_signed_value(secrets, "user", good, at(signing_time + hours(1), 0.05)));
    CHECK(!decode_signed_value(SignedValueSecrets("other"), "user", good, at(signing_time)));
    CHECK(!decode_signed_value(secrets, "admin", good, at(signing_time)));

    // Flip every byte in turn: each change must be caught.
    for (std::size_t i = 0; i < good.size(); ++i) {
        std::string tampered = good;
        tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
        INFO(tampered);
        CHECK(!decode_signed_value(secrets, "user", tampered, at(signing_time)));
    }
    // A value renamed to another cookie is refused even with a valid signature for its fields.
    std::string other = create_signed_value(secrets, "admin", "alice", signing_time);
    CHECK(!decode_signed_value(secrets, "user", other, at(signing_time)));
}

TEST_CASE("decode_signed_value rejects malformed input", "[web][signed_value]") {
    SignedValueSecrets secrets("secret");
    for (std::string bad : std::vector<std::string>{
             "", "2", "2|", "2|1:0", "2|1:0|", "2|x:0|",
             "2|1:0|10:1700000000|4:user|8:YWxpY2U=", "2|1:0|10:1700000000|4:user|99:YWxpY2U=|sig",
             "2|1:0|10:1700000000|4:usr|8:YWxpY2U=|s", "2|1:0|-1:1700000000|4:user|8:YWxpY2U=|s",
             "2|1:0|10:170000000x|4:user|8:YWxpY2U=|s", "2|9999999999:0|", "2|1:0|10:1700000he0",
             "2|1:0|3:abc", "1|abc|def", "YWxpY2U=|1700000000|abcdef", "3|1:0|1:1|1:a|0:|s",
             std::string(100000, '|'), "2|" + std::string(100000, '9') + ":"}) {
        INFO(bad.substr(0, 80));
        CHECK(!decode_signed_value(secrets, "user", bad, at(signing_time)));
    }
    CHECK(!signed_value_key_version("garbage"));
    // A correctly signed value whose payload is not base64 is refused too.
    std::string not_base64 = "2|1:0|10:1700000000|4:user|3:a*b|";
    // (the signature does not matter: the base64 check comes after it, and it is wrong anyway)
    CHECK(
        !decode_signed_value(secrets, "user", not_base64 + std::string(64, '0'), at(signing_time)));
}

TEST_CASE("key versions allow secret rotation", "[web][signed_value]") {
    SignedValueSecrets old_keys({{0, "first"}}, 0);
    SignedValueSecrets rotated({{0, "first"}, {1, "second"}}, 1);
    std::string old_value = create_signed_value(old_keys, "user", "alice", signing_time);
    std::string new_value = create_signed_value(rotated, "user", "alice", signing_time);
    CHECK(signed_value_key_version(old_value) == 0);
    CHECK(signed_value_key_version(new_value) == 1);
    CHECK(decode_signed_value(rotated, "user", old_value, at(signing_time)) == "alice");
    CHECK(decode_signed_value(rotated, "user", new_value, at(signing_time)) == "alice");
    CHECK(!decode_signed_value(old_keys, "user", new_value, at(signing_time)));  // unknown version
    // A single secret ignores the written key version, like Tornado.
    CHECK(decode_signed_value(SignedValueSecrets("second"), "user", new_value, at(signing_time)) ==
          "alice");
    CHECK_THROWS_WITH(SignedValueSecrets({{0, "a"}}, 1), Catch::Contains("signing key version 1"));
    CHECK_THROWS_WITH(SignedValueSecrets({{-1, "a"}, {0, "b"}}, 0), Catch::Contains("negative"));
}

TEST_CASE("signed values interoperate with Python Tornado", "[web][signed_value][interop]") {
    if (!tornado_available()) {
        WARN("python3-tornado is not installed: skipping the interoperability test");
        return;
    }
    // Tornado signs (now), gale decodes.
    std::string from_tornado = capture(
        "/usr/bin/python3 -c \"from tornado.web import create_signed_value as c; "
        "print(c({3: 'rotated-secret'}, 'session', b'caf\\xc3\\xa9|42', version=2, "
        "key_version=3).decode())\"");
    REQUIRE(from_tornado.starts_with("2|1:3|"));
    SignedValueSecrets secrets({{2, "older"}, {3, "rotated-secret"}}, 3);
    CHECK(decode_signed_value(secrets, "session", from_tornado) == "caf\xc3\xa9|42");
    CHECK(!decode_signed_value(secrets, "other", from_tornado));

    // gale signs, Tornado decodes.
    std::string from_gale = create_signed_value(secrets, "session", "caf\xc3\xa9|42");
    std::string decoded = capture(
        "/usr/bin/python3 -c \"import sys; from tornado.web import decode_signed_value as d; "
        "v = d({2: 'older', 3: 'rotated-secret'}, 'session', sys.argv[1]); "
        "print(v.hex() if v is not None else 'None')\" '" +
        from_gale + "'");
    CHECK(decoded == "636166c3a97c3432");
    std::string refused = capture(
        "/usr/bin/python3 -c \"import sys; from tornado.web import decode_signed_value as d; "
        "print(d('wrong', 'session', sys.argv[1]))\" '" +
        from_gale + "'");
    CHECK(refused == "None");
}
