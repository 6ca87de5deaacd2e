#include <gale/http/compression.hpp>
#include <gale/http/date.hpp>
#include <gale/http/headers.hpp>
#include <gale/http/parser.hpp>
#include <gale/http/status.hpp>
#include <gale/http/writer.hpp>

#include "../../src/http/lowercase_literal.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <iterator>
#include <random>
#include <string_view>

using gale::http::BodyFraming;
using gale::http::ParseStatus;
using gale::http::ResponseParser;

TEST_CASE("HTTPHeaders: case-insensitive multimap in order", "[http][headers]") {
    gale::http::HTTPHeaders headers;
    headers.add("Set-Cookie", "a=1");
    headers.add("Content-Type", "text/plain");
    headers.add("set-cookie", "b=2");
    CHECK(headers.get("SET-COOKIE") == "a=1");
    CHECK(headers.get_all("set-cookie").size() == 2);
    CHECK(headers.get_combined("set-cookie") == "a=1, b=2");
    CHECK_FALSE(headers.get("missing"));
    CHECK(headers.get_or("missing", "x") == "x");
    headers.set("Set-Cookie", "c=3");
    CHECK(headers.get_all("set-cookie") == std::vector<std::string_view>{"c=3"});
    CHECK(headers.remove("content-type") == 1);
    CHECK(headers.size() == 1);
    CHECK(gale::http::list_contains_token("keep-alive , Upgrade", "upgrade"));
    CHECK_FALSE(gale::http::list_contains_token("keep-alive", "alive"));
}

TEST_CASE("HTTPHeaders: one buffer, reused, safe with views of itself", "[http][headers]") {
    gale::http::HTTPHeaders headers;
    headers.add("Content-Type", "text/plain");
    headers.add("X-Long", std::string(300, 'l'));  // grows the buffer: earlier fields move
    CHECK(headers.get("content-type") == "text/plain");
    // set: shorter in place, longer appended, in the place of the first of its name
    headers.add("Vary", "Cookie");
    headers.set("content-type", "a/b");
    headers.set("X-Long", std::string(400, 'm'));
    CHECK(headers.get("content-type") == "a/b");
    CHECK(headers.get("x-long") == std::string(400, 'm'));
    std::vector<std::string> names;
    for (const auto& [name, value] : headers) {
        names.emplace_back(name);
    }
    CHECK(names == std::vector<std::string>{"Content-Type", "X-Long", "Vary"});
    // Values that are views of the headers themselves, through growth.
    headers.add("Copy", *headers.get("x-long"));
    headers.set("Vary", *headers.get("copy"));
    CHECK(headers.get("vary") == std::string(400, 'm'));
    headers.set("Copy", headers.get("copy")->substr(0, 3));
    CHECK(headers.get("copy") == "mmm");
    // Names that are views of the headers themselves: the lines move as fields go.
    headers.add("Gone", "1");
    headers.add("Kept", "2");
    headers.add("gone", "3");
    std::string_view gone_name = std::next(headers.begin(), 4)->first;
    REQUIRE(gone_name == "Gone");
    CHECK(headers.remove(gone_name) == 2);
    CHECK(headers.get("kept") == "2");
    headers.add("Again", "4");
    headers.add("again", "5");
    headers.set(std::next(headers.begin(), 5)->first, "6");
    CHECK(headers.get_all("again") == std::vector<std::string_view>{"6"});
    CHECK(headers.remove("again") == 1);
    CHECK(headers.remove("kept") == 1);
    // Views survive a move; copies compare equal.
    std::string_view view = *headers.get("content-type");
    gale::http::HTTPHeaders moved = std::move(headers);
    CHECK(view == "a/b");
    gale::http::HTTPHeaders copy = moved;
    CHECK(copy == moved);
    copy.set("Vary", "x");
    CHECK_FALSE(copy == moved);
    // Setting a field over and over does not grow the buffer without bound.
    for (int i = 0; i < 100'000; ++i) {
        copy.set("Counter", std::string(64 + i % 64, 'c'));
    }
    CHECK(copy.get("counter")->size() == 64 + 99'999 % 64);
    CHECK(copy.size() == 5);
    std::size_t removed = 0;
    for (int i = 0; i < 100'000; ++i) {  // 10 MB if the buffer kept every field's bytes
        copy.add("Passing", std::string(100, 'x'));
        removed += copy.remove("passing");
    }
    CHECK(removed == 100'000);
    CHECK(copy.get("counter")->size() == 64 + 99'999 % 64);
    // clear() keeps the buffer for the next message.
    copy.clear();
    CHECK(copy.empty());
    copy.add("A", "");
    CHECK(copy.get("a") == "");
    gale::http::HTTPHeaders listed{{"Checksum", "abc"}, {"X", "y"}};
    CHECK(listed.size() == 2);
    CHECK(listed.get_or("x", "") == "y");
}

// Against a plain list of pairs, through random adds, sets (growing, shrinking, same size,
// over duplicates, from views of the headers themselves) and removes: the fields and their
// wire lines stay what the list says, with no gap between lines.
TEST_CASE("HTTPHeaders: lines() are the fields as written, after any change", "[http][headers]") {
    gale::http::HTTPHeaders headers;
    std::vector<std::pair<std::string, std::string>> model;
    const std::vector<std::string> names{"A", "Vary", "content-type", "X-Long-Field-Name"};
    std::minstd_rand random(20261207);
    auto pick = [&random](std::size_t count) { return static_cast<std::size_t>(random() % count); };
    auto same_name = [](const std::string& left, const std::string& right) {
        return gale::http::equals_ignoring_case(left, right);
    };
    for (int step = 0; step < 3000; ++step) {
        std::string name = names[pick(names.size())];
        if (pick(2) == 0) {
            std::transform(name.begin(), name.end(), name.begin(),
                           [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        }
        std::string value(pick(3) == 0 ? pick(200) : pick(12), static_cast<char>('a' + step % 26));
        switch (pick(5)) {
            case 0:
            case 1:
                headers.add(name, value);
                model.emplace_back(name, value);
                break;
            case 2: {
                // From a view of a field already there, when there is one.
                std::string_view source = value;
                if (!headers.empty() && pick(2) == 0) {
                    auto [source_name, source_value] =
                        *std::next(headers.begin(), pick(headers.size()));
                    source = source_value.substr(0, pick(source_value.size() + 1));
                    value = std::string(source);
                }
                headers.set(name, source);
                auto first = std::find_if(model.begin(), model.end(), [&](const auto& field) {
                    return same_name(field.first, name);
                });
                if (first == model.end()) {
                    model.emplace_back(name, value);
                } else {
                    first->second = value;
                    auto index = first - model.begin();
                    model.erase(std::remove_if(model.begin() + index + 1, model.end(),
                                               [&](const auto& field) {
                                                   return same_name(field.first, name);
                                               }),
                                model.end());
                }
                break;
            }
            case 3: {
                std::size_t expected = std::erase_if(
                    model, [&](const auto& field) { return same_name(field.first, name); });
                REQUIRE(headers.remove(name) == expected);
                break;
            }
            default:
                if (pick(20) == 0) {
                    headers.clear();
                    model.clear();
                }
                break;
        }
        std::string expected_lines;
        for (const auto& [field_name, field_value] : model) {
            expected_lines += field_name + ": " + field_value + "\r\n";
        }
        REQUIRE(headers.lines() == expected_lines);
        REQUIRE(headers.size() == model.size());
        std::size_t i = 0;
        for (const auto& [field_name, field_value] : headers) {
            REQUIRE(field_name == model[i].first);
            REQUIRE(field_value == model[i].second);
            ++i;
        }
    }
}

TEST_CASE("HTTPHeaders: the version moves on with every change", "[http][headers]") {
    gale::http::HTTPHeaders headers;
    std::uint64_t seen = headers.version();
    auto changed = [&headers, &seen]() {
        bool moved_on = headers.version() > seen;
        seen = headers.version();
        return moved_on;
    };
    headers.add("A", "1");
    CHECK(changed());
    headers.set("A", "2");  // in place
    CHECK(changed());
    headers.set("B", "3");  // added
    CHECK(changed());
    CHECK(headers.get("a") == "2");
    CHECK(headers.contains("b"));
    CHECK_FALSE(changed());  // reading is no change
    CHECK(headers.remove("missing") == 0);
    CHECK_FALSE(changed());
    CHECK(headers.remove("a") == 1);
    CHECK(changed());
    // Assigned fields are a change even when the source's version is an old one of ours.
    gale::http::HTTPHeaders other;
    headers = other;
    CHECK(changed());
    headers = gale::http::HTTPHeaders{{"C", "4"}};
    CHECK(changed());
    headers.clear();
    CHECK(changed());
    // A moved-from set is empty, and its version moved on too.
    headers.add("D", "5");
    std::uint64_t before_move = headers.version();
    gale::http::HTTPHeaders taken = std::move(headers);
    CHECK(taken.get("d") == "5");
    CHECK(headers.empty());  // NOLINT(bugprone-use-after-move): the documented state
    CHECK(headers.version() > before_move);
    headers.add("E", "6");
    CHECK(headers.size() == 1);
}

TEST_CASE("responses: status line and framing", "[http][response]") {
    ResponseParser parser;
    REQUIRE(parser.parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello") ==
            ParseStatus::complete);
    CHECK(parser.head().status == 200);
    CHECK(parser.head().reason == "OK");
    CHECK(parser.head().framing == BodyFraming::content_length);
    CHECK(parser.head().content_length == 5);
    CHECK(parser.head_size() == 38);

    parser.reset();
    REQUIRE(parser.parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") ==
            ParseStatus::complete);
    CHECK(parser.head().framing == BodyFraming::chunked);

    parser.reset();
    REQUIRE(parser.parse("HTTP/1.0 200 OK\r\n\r\n") == ParseStatus::complete);
    CHECK(parser.head().framing == BodyFraming::until_close);
    CHECK_FALSE(parser.head().keep_alive);

    parser.reset();  // no body for HEAD, 204, 304, 1xx whatever the headers say
    REQUIRE(parser.parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true) ==
            ParseStatus::complete);
    CHECK(parser.head().framing == BodyFraming::none);
    for (std::string status : {"204 No Content", "304 Not Modified", "100 Continue"}) {
        parser.reset();
        REQUIRE(parser.parse("HTTP/1.1 " + status + "\r\nContent-Length: 5\r\n\r\n") ==
                ParseStatus::complete);
        CHECK(parser.head().framing == BodyFraming::none);
    }

    parser.reset();  // a reason phrase may be empty or missing
    REQUIRE(parser.parse("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n") == ParseStatus::complete);
    CHECK(parser.head().status == 404);
    CHECK(parser.head().reason.empty());
}

TEST_CASE("bad responses are errors", "[http][response][bad]") {
    for (std::string response :
         {"HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/2.0 200 OK\r\n\r\n",
          "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
          "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", "HTTP/1.1 200 OK\nX: y\n\n", "ICY 200 OK\r\n\r\n",
          "HTTP/1.1 600 Nope\r\n\r\n"}) {
        INFO(response);
        ResponseParser parser;
        CHECK(parser.parse(response) == ParseStatus::error);
        CHECK_FALSE(parser.error().reason.empty());
    }
}

TEST_CASE("serializing heads and chunks", "[http][writer]") {
    std::string out;
    gale::http::append_status_line(out, gale::http::Version::http_1_1, 404);
    gale::http::append_field(out, "Content-Length", "0");
    out += "\r\n";
    CHECK(out == "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    out.clear();
    gale::http::append_chunk(out, "hello");
    gale::http::append_chunk(out, std::string(26, 'x'));
    gale::http::append_chunk(out, "");  // empty chunks are skipped, never end the body early
    gale::http::HTTPHeaders trailers{{"Checksum", "abc"}};
    gale::http::append_last_chunk(out, &trailers);
    CHECK(out == "5\r\nhello\r\n1a\r\n" + std::string(26, 'x') + "\r\n0\r\nChecksum: abc\r\n\r\n");
    CHECK(gale::http::is_valid_field_value("text/html; charset=utf-8"));
    CHECK_FALSE(gale::http::is_valid_field_value("a\r\nSet-Cookie: evil=1"));
    CHECK_FALSE(gale::http::is_valid_field_value(std::string("a\0b", 3)));
    CHECK_FALSE(gale::http::is_valid_field_name("Bad Name"));
    // Every byte at every position of short and word-sized values (the check reads eight
    // bytes at a time): refused exactly when a control character other than HTAB, or DEL.
    int mismatches = 0;
    for (std::size_t length = 1; length <= 20; ++length) {
        for (std::size_t position = 0; position < length; ++position) {
            for (int byte = 0; byte < 256; ++byte) {
                std::string value(length, 'a');
                value[position] = static_cast<char>(byte);
                bool expected = !((byte < 0x20 && byte != '\t') || byte == 0x7f);
                mismatches += gale::http::is_valid_field_value(value) != expected;
            }
        }
    }
    CHECK(mismatches == 0);
    CHECK(gale::http::is_valid_field_value(std::string(40, '\xff')));
    // A tab is allowed, and the check goes on past it: a bad byte after a tab is still found.
    for (std::size_t length = 2; length <= 20; ++length) {
        for (std::size_t tab = 0; tab < length; ++tab) {
            std::string value(length, 'a');
            value[tab] = '\t';
            CHECK(gale::http::is_valid_field_value(value));
            for (std::size_t bad = tab + 1; bad < length; ++bad) {
                std::string with_bad = value;
                with_bad[bad] = bad % 2 == 0 ? '\x7f' : '\n';
                CHECK_FALSE(gale::http::is_valid_field_value(with_bad));
            }
        }
    }
    // Names too are checked eight bytes at a time: every byte at every position.
    auto is_token_byte = [](int byte) {
        return std::isalnum(byte) != 0
                   ? byte < 0x80
                   : std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(byte)) !=
                         std::string_view::npos;
    };
    mismatches = 0;
    for (std::size_t length = 1; length <= 20; ++length) {
        for (std::size_t position = 0; position < length; ++position) {
            for (int byte = 1; byte < 256; ++byte) {
                std::string name(length, 'a');
                name[position] = static_cast<char>(byte);
                mismatches += gale::http::is_valid_field_name(name) != is_token_byte(byte);
            }
        }
    }
    CHECK(mismatches == 0);
    CHECK(gale::http::reason_phrase(431) == "Request Header Fields Too Large");
    CHECK(gale::http::reason_phrase(799) == "Unknown");
}

TEST_CASE("HTTP dates in all three formats", "[http][date]") {
    CHECK(gale::http::format_http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK(gale::http::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777);
    CHECK(gale::http::parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == 784111777);
    // Two-digit years: this century unless more than 50 years ahead (RFC 9110 §5.6.7), so
    // (until 2100) "70" is 2070, not 1970.
    CHECK(gale::http::parse_http_date("Thursday, 01-Jan-70 00:00:00 GMT") == 3155760000);
    CHECK(gale::http::parse_http_date("Sun Nov  6 08:49:37 1994") == 784111777);
    CHECK_FALSE(gale::http::parse_http_date("Sun, 06 Nov 1994 08:49:37 PST"));
    CHECK_FALSE(gale::http::parse_http_date("yesterday"));
    CHECK_FALSE(gale::http::parse_http_date("Sun, 32 Nov 1994 08:49:37 GMT"));
    CHECK_FALSE(gale::http::parse_http_date(""));
    CHECK(gale::http::http_date_now().size() == 29);
}

TEST_CASE("gzip round trip and the decompression limit", "[http][compression]") {
    std::string text;
    for (int i = 0; i < 1000; ++i) {
        text += "line " + std::to_string(i) + " of some compressible text\n";
    }
    std::string compressed = gale::http::gzip_compress(text);
    CHECK(compressed.size() < text.size() / 4);
    CHECK(gale::http::decompress(compressed, 1 << 20) == text);

    // Streaming, fed a byte at a time.
    gale::http::Decompressor streaming(1 << 20);
    std::string out;
    for (char c : compressed) {
        streaming.decompress(std::string_view(&c, 1), out);
    }
    CHECK(streaming.finished());
    CHECK(out == text);

    // A decompression bomb stops at the limit.
    std::string zeros(10 << 20, '\0');
    std::string bomb = gale::http::gzip_compress(zeros, 9);
    CHECK(bomb.size() < 64 * 1024);
    CHECK_THROWS_AS(gale::http::decompress(bomb, 1 << 20), gale::http::DecompressionError);

    CHECK_THROWS_AS(gale::http::decompress("\x1f\x8bnot gzip at all", 1 << 20),
                    gale::http::DecompressionError);
    CHECK_THROWS_AS(gale::http::decompress(compressed.substr(0, compressed.size() / 2), 1 << 20),
                    gale::http::DecompressionError);
}

TEST_CASE("field names compare ignoring ASCII case only, at every length and position",
          "[http][headers]") {
    auto ascii_lower = [](int byte) { return byte >= 'A' && byte <= 'Z' ? byte + 32 : byte; };
    int mismatches = 0;
    for (std::size_t length = 1; length <= 20; ++length) {
        for (std::size_t position = 0; position < length; ++position) {
            for (int left = 0; left < 256; ++left) {
                // The other byte: the same, the other case, its neighbours, and the byte that
                // differs only in the case bit (e.g. '@' and '`', '[' and '{', 0xC1 and 0xE1).
                for (int right : {left, left ^ 0x20, (left + 1) & 0xff, (left + 255) & 0xff,
                                  ascii_lower(left), std::toupper(left) & 0xff}) {
                    std::string a(length, 'k');
                    std::string b(length, 'K');
                    a[position] = static_cast<char>(left);
                    b[position] = static_cast<char>(right);
                    bool expected = ascii_lower(left) == ascii_lower(right);
                    mismatches += gale::http::equals_ignoring_case(a, b) != expected;
                }
            }
        }
    }
    CHECK(mismatches == 0);
    CHECK(gale::http::equals_ignoring_case("Content-Type", "content-type"));
    CHECK_FALSE(gale::http::equals_ignoring_case("Content-Type", "content-typ"));
}

namespace {
std::string upper_case(std::string_view text) {
    std::string upper(text);
    for (char& c : upper) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return upper;
}

// A literal and the same bytes as a view, from one string literal.
struct LiteralCase {
    gale::http::detail::LowercaseLiteral literal;
    std::string_view text;
};
template <std::size_t N>
consteval LiteralCase literal_case(const char (&text)[N]) {
    return {gale::http::detail::LowercaseLiteral(text), std::string_view(text, N - 1)};
}
}  // namespace

TEST_CASE("a lowercase literal matches text as equals_ignoring_case does, at every length",
          "[http][headers]") {
    // Every size from 1 to the limit, each of the three word layouts, and the bytes around
    // the letters ('@' '[' '`' '{', digits, punctuation) that or-ing 0x20 must not confuse.
    static constexpr LiteralCase cases[] = {
        literal_case("a"),
        literal_case("@`"),
        literal_case("a-z"),
        literal_case("host"),
        literal_case("vary!"),
        literal_case("expect"),
        literal_case("upgrade"),
        literal_case("x-gzip@["),
        literal_case("text/html"),
        literal_case("connection"),
        literal_case("[`{}]@^_-|~"),
        literal_case("content-type"),
        literal_case("text/markdown"),
        literal_case("ab0123456789yz"),
        literal_case("content-length"),
        literal_case("+json;charset=a"),
        literal_case("content-encoding"),
        literal_case("transfer-encoding"),
        literal_case("abcdefghijklmnopqr"),
        literal_case("application/yaml-x"),
        literal_case("application/ecmascript"),
        literal_case("application/javascript"),
        literal_case("application/x-yaml-text"),
        literal_case("application/x-javascript"),
    };
    int mismatches = 0;
    int matches = 0;
    for (const auto& [literal, text] : cases) {
        REQUIRE(literal.size() == text.size());
        for (std::string base : {std::string(text), upper_case(text)}) {
            for (std::size_t position = 0; position < base.size(); ++position) {
                for (int byte = 0; byte < 256; ++byte) {
                    std::string changed = base;
                    changed[position] = static_cast<char>(byte);
                    const bool expected = gale::http::equals_ignoring_case(changed, text);
                    matches += expected ? 1 : 0;
                    mismatches +=
                        gale::http::detail::equals_lowercase(changed, literal) != expected;
                }
            }
            // A size off by one never matches, whatever the bytes.
            CHECK_FALSE(gale::http::detail::equals_lowercase(base + "a", literal));
            CHECK_FALSE(gale::http::detail::equals_lowercase(base.substr(1), literal));
        }
    }
    CHECK(mismatches == 0);
    CHECK(matches > 0);
    CHECK(gale::http::detail::equals_lowercase("Content-Type", "content-type"));
    CHECK_FALSE(gale::http::detail::equals_lowercase("Content-Typf", "content-type"));
    CHECK_FALSE(gale::http::detail::equals_lowercase("", "a"));
}
