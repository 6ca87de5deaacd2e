// detail::append_json and the public JsonWriter must write exactly what nlohmann's dump()
// writes (compact, invalid UTF-8 replaced), for every value; JsonWriter refuses calls that
// would make bad JSON.
#include <catch2/catch.hpp>

#include <gale/ioloop/errors.hpp>
#include <gale/web/json_writer.hpp>

#include "web/json_writer_internal.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

using gale::web::JsonWriter;
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

// Writes `value` through JsonWriter's calls, member by member (never as one document).
void emit(JsonWriter& writer, const nlohmann::json& value) {
    switch (value.type()) {
        case nlohmann::json::value_t::object:
            writer.begin_object();
            for (const auto& [key, member] : value.items()) {
                writer.key(key);
                emit(writer, member);
            }
            writer.end_object();
            return;
        case nlohmann::json::value_t::array:
            writer.begin_array();
            for (const nlohmann::json& element : value) {
                emit(writer, element);
            }
            writer.end_array();
            return;
        case nlohmann::json::value_t::string:
            writer.value(value.get_ref<const std::string&>());
            return;
        case nlohmann::json::value_t::boolean:
            writer.value(value.get<bool>());
            return;
        case nlohmann::json::value_t::number_integer:
            writer.value(value.get<std::int64_t>());
            return;
        case nlohmann::json::value_t::number_unsigned:
            writer.value(value.get<std::uint64_t>());
            return;
        case nlohmann::json::value_t::number_float:
            writer.value(value.get<double>());
            return;
        case nlohmann::json::value_t::null:
            writer.value(nullptr);
            return;
        default:
            writer.value(value);
            return;
    }
}

std::string streamed(const nlohmann::json& value) {
    JsonWriter writer;
    emit(writer, value);
    REQUIRE(writer.complete());
    return std::string(writer.text());
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
        CHECK(streamed(value) == dumped(value));
    }
}

TEST_CASE("append_json agrees with dump() on random values", "[web][json]") {
    std::mt19937 random(20261207);
    for (int i = 0; i < 2000; ++i) {
        nlohmann::json value = random_value(random, 4);
        CAPTURE(i);
        REQUIRE(written(value) == dumped(value));
        REQUIRE(streamed(value) == dumped(value));
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

TEST_CASE("JsonWriter writes integers of every type, and documents as values", "[web][json]") {
    JsonWriter writer;
    writer.begin_array()
        .value(std::numeric_limits<std::int8_t>::min())
        .value(static_cast<unsigned char>(255))
        .value(short{-7})
        .value(std::numeric_limits<std::int64_t>::min())
        .value(std::numeric_limits<std::uint64_t>::max())
        .value(1.0)
        .value(std::numeric_limits<double>::quiet_NaN())
        .value(nlohmann::json{{"nested", {1, "two"}}})
        .begin_object()
        .end_object()
        .begin_array()
        .end_array()
        .end_array();
    CHECK(writer.complete());
    CHECK(writer.text() ==
          "[-128,255,-7,-9223372036854775808,18446744073709551615,1.0,null,"
          "{\"nested\":[1,\"two\"]},{},[]]");
    std::string taken = writer.take();
    CHECK(taken.starts_with("[-128,"));
    CHECK(writer.text().empty());
    CHECK(!writer.complete());
    writer.value("again");  // a taken writer starts over
    CHECK(writer.text() == "\"again\"");
}

// The text lives in the writer up to InlineText::inline_capacity bytes and on the heap past
// that: every length around the boundary, reached by a string or by many small values, and
// copies, moves and takes of a writer on either side of it.
TEST_CASE("JsonWriter keeps its text whole across the inline limit", "[web][json]") {
    constexpr std::size_t limit = gale::web::detail::InlineText::inline_capacity;
    for (std::size_t length = limit - 8; length <= limit + 8; ++length) {
        CAPTURE(length);
        const std::string text(length, 'x');
        JsonWriter one_string;
        one_string.begin_array().value(text).value("after").end_array();
        CHECK(one_string.text() == dumped(nlohmann::json::array({text, "after"})));

        JsonWriter many_values;
        nlohmann::json expected = nlohmann::json::array();
        many_values.begin_array();
        for (std::size_t i = 0; i < length / 2; ++i) {
            many_values.value(static_cast<int>(i % 10));
            expected.push_back(static_cast<int>(i % 10));
        }
        many_values.end_array();
        const std::string whole(many_values.text());
        CHECK(whole == dumped(expected));

        JsonWriter copied = many_values;
        CHECK(copied.text() == whole);
        JsonWriter assigned;
        assigned.value("overwritten");
        assigned = copied;
        CHECK(assigned.text() == whole);
        JsonWriter moved = std::move(copied);
        CHECK(moved.text() == whole);
        CHECK(moved.take() == whole);
        CHECK(moved.text().empty());
        moved.value(text);  // a taken writer starts over, inline again when it fits
        CHECK(moved.text() == dumped(text));
    }
    JsonWriter reserved(4 * limit);  // on the heap from the start
    reserved.begin_object().key("k").value("v").end_object();
    CHECK(reserved.text() == "{\"k\":\"v\"}");
    CHECK(JsonWriter(reserved).text() == "{\"k\":\"v\"}");
}

TEST_CASE("JsonWriter refuses calls that would make bad JSON", "[web][json]") {
    using gale::Error;
    SECTION("a second top-level value") {
        JsonWriter writer;
        writer.value(1);
        CHECK_THROWS_AS(writer.value(2), Error);
        CHECK_THROWS_AS(writer.begin_object(), Error);
    }
    SECTION("a key outside an object") {
        JsonWriter writer;
        CHECK_THROWS_AS(writer.key("a"), Error);
        writer.begin_array();
        CHECK_THROWS_AS(writer.key("a"), Error);
    }
    SECTION("a value in an object without its key, and two keys in a row") {
        JsonWriter writer;
        writer.begin_object();
        CHECK_THROWS_AS(writer.value(true), Error);
        CHECK_THROWS_AS(writer.begin_array(), Error);
        writer.key("a");
        CHECK_THROWS_AS(writer.key("b"), Error);
    }
    SECTION("an end that does not match its begin, or a key left without a value") {
        JsonWriter writer;
        CHECK_THROWS_AS(writer.end_object(), Error);
        CHECK_THROWS_AS(writer.end_array(), Error);
        writer.begin_object();
        CHECK_THROWS_AS(writer.end_array(), Error);
        writer.key("a");
        CHECK_THROWS_AS(writer.end_object(), Error);
        writer.begin_array();
        CHECK_THROWS_AS(writer.end_object(), Error);
        writer.end_array().end_object();
        CHECK(writer.complete());
        CHECK(writer.text() == "{\"a\":[]}");
    }
    SECTION("nesting deeper than max_depth") {
        JsonWriter writer;
        for (int depth = 0; depth < JsonWriter::max_depth; ++depth) {
            writer.begin_array();
        }
        CHECK_THROWS_AS(writer.begin_array(), Error);
        CHECK_THROWS_AS(writer.begin_object(), Error);
        for (int depth = 0; depth < JsonWriter::max_depth; ++depth) {
            writer.end_array();
        }
        CHECK(writer.complete());
    }
}
