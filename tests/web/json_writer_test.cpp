// detail::append_json must write exactly what nlohmann's dump() writes (compact, invalid UTF-8
// replaced), for every value.
#include <catch2/catch.hpp>

#include "web/json_writer_internal.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

using gale::web::detail::append_json;

namespace {

std::string dumped(const nlohmann::json& value) {
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string written(const nlohmann::json& value) {
    std::string out;
    append_json(out, value);
    return out;
}

// A random value up to `depth` levels deep whose strings mix plain ASCII, characters JSON
// escapes, multi-byte UTF-8 and invalid UTF-8, so that both the fast path and the fallback
// are taken.
nlohmann::json random_value(std::mt19937& random, int depth) {
    static const char* const pieces[] = {
        "a",    "Hello", " ",        "\"",           "\\",
        "/",    "\n",    "\x01",     "\x1f",         "\x7f",
        "\xff", "\xc3",  "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    auto text = [&] {
        std::string result;
        for (int n = std::uniform_int_distribution<>(0, 6)(random); n > 0; --n) {
            result += pieces[std::uniform_int_distribution<std::size_t>(
                0, std::size(pieces) - 1)(random)];
        }
        return result;
    };
    switch (std::uniform_int_distribution<>(0, depth > 0 ? 7 : 5)(random)) {
        case 0:
            return nullptr;
        case 1:
            return random() % 2 == 0;
        case 2:
            return static_cast<std::int64_t>(random()) - (std::int64_t{1} << 31);
        case 3:
            return std::uniform_real_distribution<double>(-1e6, 1e6)(random);
        case 4:
            return static_cast<std::uint64_t>(random()) << 32;
        case 5:
            return text();
        case 6: {
            nlohmann::json array = nlohmann::json::array();
            for (int n = std::uniform_int_distribution<>(0, 4)(random); n > 0; --n) {
                array.push_back(random_value(random, depth - 1));
            }
            return array;
        }
        default: {
            nlohmann::json object = nlohmann::json::object();
            for (int n = std::uniform_int_distribution<>(0, 4)(random); n > 0; --n) {
                object[text()] = random_value(random, depth - 1);
            }
            return object;
        }
    }
}

}  // namespace

TEST_CASE("append_json writes what dump() writes", "[web][json]") {
    const nlohmann::json values[] = {
        nullptr,
        true,
        false,
        0,
        -1,
        std::numeric_limits<std::int64_t>::min(),
        std::numeric_limits<std::uint64_t>::max(),
        1.5,
        -0.0,
        1e300,
        0.1,
        std::numeric_limits<double>::quiet_NaN(),
        std::numeric_limits<double>::infinity(),
        "",
        "Hello, World!",
        "quote \" backslash \\ slash / tab \t newline \n nul " + std::string(1, '\0'),
        "\x7f del and \x1f unit separator",
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
        nlohmann::json::array(),
        nlohmann::json::object(),
        {{"message", "Hello, World!"}},
        {{"b", {1, 2, {{"c", nullptr}}}}, {"a", nlohmann::json::array({"x", 2.25, false})}},
        {{"k\xc3\xa9y \"quoted\"", "v"}},
        nlohmann::json::binary({1, 2, 3}, 7),
    };
    for (const nlohmann::json& value : values) {
        CAPTURE(value.dump());
        CHECK(written(value) == dumped(value));
    }
}

TEST_CASE("append_json agrees with dump() on random values", "[web][json]") {
    std::mt19937 random(20261207);
    for (int i = 0; i < 2000; ++i) {
        nlohmann::json value = random_value(random, 4);
        CAPTURE(i);
        REQUIRE(written(value) == dumped(value));
    }
}

TEST_CASE("append_json appends, and replaces invalid UTF-8", "[web][json]") {
    std::string out = "prefix:";
    append_json(out, {{"a", 1}});
    CHECK(out == "prefix:{\"a\":1}");

    const std::string replacement = "\xef\xbf\xbd";  // U+FFFD
    CHECK(written({{"key", "ok \xff"}}) == "{\"key\":\"ok " + replacement + "\"}");
    CHECK(written({{"\xc3", 1}}) == "{\"" + replacement + "\":1}");
    for (const char* bad : {"\xff", "ok \xc3", "\xed\xa0\x80", "\xc0\xaf", "a\xe2\x82"}) {
        nlohmann::json value = {{"key", bad}, {bad, bad}};
        CHECK(written(value) == dumped(value));
    }
}

TEST_CASE("append_json finds a character to escape at every position of a long string",
          "[web][json]") {
    // The fast path looks at eight bytes at a time: each special byte, at each offset of
    // each word and of the tail, must send the string to the escaping path.
    for (const char* special : {"\"", "\\", "\n", "\x01", "\x1f", "\x80", "\xff", "\xc3\xa9"}) {
        for (std::size_t length = 1; length <= 24; ++length) {
            for (std::size_t at = 0; at < length; ++at) {
                std::string text(length, 'a');
                text.replace(at, 1, special);
                nlohmann::json value = text;
                CAPTURE(special, length, at);
                REQUIRE(written(value) == dumped(value));
            }
        }
    }
    // Bytes next to the special ranges stay as they are.
    CHECK(written(std::string(" !#[]~~~ !#[]~~~ !#")) == "\" !#[]~~~ !#[]~~~ !#\"");
}
