#include <gale/http/parser.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

using gale::http::BodyFraming;
using gale::http::ParseStatus;
using gale::http::RequestParser;

namespace {

struct Outcome {
    ParseStatus status;
    int error_status = 0;
    std::size_t head_size = 0;
};

Outcome parse_whole(std::string_view request, gale::http::ParserLimits limits = {}) {
    RequestParser parser(limits);
    ParseStatus status = parser.parse(request);
    return {status, status == ParseStatus::error ? parser.error().status : 0, parser.head_size()};
}

// The same request fed one byte more at a time must give the same outcome as a single feed.
Outcome parse_byte_by_byte(std::string_view request, gale::http::ParserLimits limits = {}) {
    RequestParser parser(limits);
    ParseStatus status = ParseStatus::incomplete;
    for (std::size_t length = 1; length <= request.size(); ++length) {
        status = parser.parse(request.substr(0, length));
        if (status != ParseStatus::incomplete) {
            break;
        }
    }
    return {status, status == ParseStatus::error ? parser.error().status : 0, parser.head_size()};
}

int error_of(std::string_view request, gale::http::ParserLimits limits = {}) {
    Outcome whole = parse_whole(request, limits);
    Outcome split = parse_byte_by_byte(request, limits);
    CHECK(whole.status == split.status);
    CHECK(whole.error_status == split.error_status);
    return whole.status == ParseStatus::error ? whole.error_status : 0;
}

}  // namespace

TEST_CASE("a simple GET parses into views", "[http][parser]") {
    std::string request =
        "GET /path/to?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: test\r\n"
        "Accept:  text/html  \r\n\r\nEXTRA";
    RequestParser parser;
    REQUIRE(parser.parse(request) == ParseStatus::complete);
    const auto& head = parser.head();
    CHECK(head.method == "GET");
    CHECK(head.target == "/path/to?x=1&y=2");
    CHECK(head.path == "/path/to");
    CHECK(head.query == "x=1&y=2");
    CHECK(head.version == gale::http::Version::http_1_1);
    CHECK(head.authority == "example.com");
    CHECK(head.headers.size() == 3);
    CHECK(head.headers.get("accept") == "text/html");
    CHECK(head.headers.get("USER-AGENT") == "test");
    CHECK(head.framing == BodyFraming::none);
    CHECK(head.keep_alive);
    CHECK(parser.head_size() == request.size() - 5);
    CHECK(parse_byte_by_byte(request).head_size == parser.head_size());
}

TEST_CASE("framing: Content-Length and chunked", "[http][parser]") {
    RequestParser parser;
    REQUIRE(parser.parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n") ==
            ParseStatus::complete);
    CHECK(parser.head().framing == BodyFraming::content_length);
    CHECK(parser.head().content_length == 12);
    parser.reset();
    REQUIRE(parser.parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n") ==
            ParseStatus::complete);
    CHECK(parser.head().framing == BodyFraming::chunked);
    parser.reset();
    REQUIRE(parser.parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n") ==
            ParseStatus::complete);
    CHECK(parser.head().framing == BodyFraming::none);
    parser.reset();
    // Identical repeated values are one value.
    REQUIRE(parser.parse(
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n") ==
            ParseStatus::complete);
    CHECK(parser.head().content_length == 5);
}

TEST_CASE("invalid or conflicting Content-Length is 400", "[http][parser][bad]") {
    for (std::string value : {"+5", "-1", "5 5", "0x5", "5a", "", " ", "1.0",
                              "99999999999999999999999", "5, 6", "5,,6a"}) {
        INFO("Content-Length: " << value);
        CHECK(error_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + value + "\r\n\r\n") ==
              400);
    }
    CHECK(
        error_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n") ==
        400);
    // A list without a value is not an absent Content-Length (RFC 9112 §6.3): with
    // Transfer-Encoding it would even slip past the rule against both.
    for (std::string value : {",", ", ,", " , "}) {
        INFO("Content-Length: " << value);
        CHECK(error_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + value + "\r\n\r\n") ==
              400);
        CHECK(error_of(
                  "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: " +
                  value + "\r\n\r\n") == 400);
    }
    // Identical values, as a list or repeated, are one length (RFC 9110 §8.6); a list with an
    // empty member is not that, and framing is no place for leniency.
    CHECK(error_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n") == 0);
    for (std::string value : {"5,", ",5", "5, 5,", "5,,5"}) {
        INFO("Content-Length: " << value);
        CHECK(error_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + value + "\r\n\r\n") ==
              400);
    }
}

TEST_CASE("Transfer-Encoding rules", "[http][parser][bad]") {
    // Content-Length with Transfer-Encoding: a smuggling vector.
    CHECK(error_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: "
                   "chunked\r\n\r\n") == 400);
    // chunked must be last, and only once
    CHECK(error_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n") ==
          400);
    CHECK(error_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n") ==
          400);
    CHECK(error_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
                   "chunked\r\n\r\n") == 400);
    CHECK(error_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n") == 400);
    CHECK(error_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n") == 400);
    // chunked defines no parameters (RFC 9112 §7.1)
    CHECK(error_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;foo=bar\r\n\r\n") ==
          400);
    CHECK(error_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked ; q=1\r\n\r\n") ==
          400);
    // codings we cannot decode
    CHECK(error_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n") ==
          501);
    CHECK(error_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo\r\n\r\n") == 501);
    // not in HTTP/1.0
    CHECK(error_of("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
    // case-insensitive
    CHECK(error_of("POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding: CHUNKED\r\n\r\n") == 0);
}

TEST_CASE("Host rules", "[http][parser][bad]") {
    CHECK(error_of("GET / HTTP/1.1\r\n\r\n") == 400);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a b\r\n\r\n") == 400);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n") == 400);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n") == 0);
    // Empty: for a URI without an authority, which an http URI never is (RFC 9110 §4.2.1),
    // unless the absolute-form target gives one.
    CHECK(error_of("GET / HTTP/1.1\r\nHost:\r\n\r\n") == 400);
    CHECK(error_of("GET / HTTP/1.0\r\nHost: \r\n\r\n") == 400);
    CHECK(error_of("GET http://a/ HTTP/1.1\r\nHost:\r\n\r\n") == 0);
    CHECK(error_of("GET / HTTP/1.0\r\n\r\n") == 0);  // optional in 1.0
}

TEST_CASE("a Host value must be uri-host with an optional port of digits", "[http][parser][bad]") {
    // RFC 9112 §3.2: a Host field with an invalid value is answered with 400.
    for (std::string value : {"a", "a:80", "a:", "127.0.0.1:8080", "[::1]", "[::1]:80", "[v1.fe:x]",
                              "xn--bcher-kva.example", "a%20b", "a!$&'()*+,;=b"}) {
        INFO("Host: " << value);
        CHECK(error_of("GET / HTTP/1.1\r\nHost: " + value + "\r\n\r\n") == 0);
    }
    for (std::string value :
         {"a:b", "a:b:c", "a:80:80", "u@a", "[::1", "::1", "[]", "[::1]80", "[::1]:x", "a:8o",
          "a%2", "a%zz", "a%", "a\"b", "a{b}", "a b", "a/b", "a?b", "a#b"}) {
        INFO("Host: " << value);
        CHECK(error_of("GET / HTTP/1.1\r\nHost: " + value + "\r\n\r\n") == 400);
    }
    // The authority of an absolute-form target follows the same rule.
    CHECK(error_of("GET http://a:80/ HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
    CHECK(error_of("GET http://a:b/ HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
}

TEST_CASE("request line and version", "[http][parser][bad]") {
    CHECK(error_of("GET /\r\nHost: a\r\n\r\n") == 400);
    CHECK(error_of("GET  / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
    CHECK(error_of("GET / HTTP/1.1 \r\nHost: a\r\n\r\n") == 400);
    CHECK(error_of("G(T / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
    CHECK(error_of("GET / HTTP/2.0\r\nHost: a\r\n\r\n") == 505);
    CHECK(error_of("GET / HTTP/0.9\r\nHost: a\r\n\r\n") == 505);
    CHECK(error_of("GET / HTTP/1\r\nHost: a\r\n\r\n") == 400);
    CHECK(error_of("GET / http/1.1\r\nHost: a\r\n\r\n") == 400);
    CHECK(error_of("GET / HTTP/1.10\r\nHost: a\r\n\r\n") == 400);
    CHECK(error_of("GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
    // other 1.x are treated as 1.1
    RequestParser parser;
    REQUIRE(parser.parse("GET / HTTP/1.2\r\nHost: a\r\n\r\n") == ParseStatus::complete);
    CHECK(parser.head().version == gale::http::Version::http_1_1);
}

TEST_CASE("target forms", "[http][parser]") {
    RequestParser parser;
    REQUIRE(parser.parse("GET http://example.org:8080/a/b?c HTTP/1.1\r\nHost: other\r\n\r\n") ==
            ParseStatus::complete);
    CHECK(parser.head().form == gale::http::TargetForm::absolute);
    CHECK(parser.head().authority == "example.org:8080");
    CHECK(parser.head().path == "/a/b");
    CHECK(parser.head().query == "c");
    parser.reset();
    REQUIRE(parser.parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n") == ParseStatus::complete);
    CHECK(parser.head().form == gale::http::TargetForm::asterisk);
    parser.reset();
    REQUIRE(parser.parse("CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n") ==
            ParseStatus::complete);
    CHECK(parser.head().form == gale::http::TargetForm::authority);
    CHECK(error_of("GET * HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
    CHECK(error_of("GET example.org:443 HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
    CHECK(error_of("CONNECT /path HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
    // authority-form needs its port (RFC 9112 §3.2.3)
    CHECK(error_of("CONNECT example.org HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
    CHECK(error_of("CONNECT example.org: HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
    CHECK(error_of("CONNECT [::1] HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
    CHECK(error_of("CONNECT [::1]:443 HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
    // a fragment is never part of a request-target (RFC 9112 §3.2)
    CHECK(error_of("GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
    CHECK(error_of("GET http://a/b#c HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
    CHECK(error_of("GET ftp://x/ HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
    CHECK(error_of("GET http://user@x/ HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
}

TEST_CASE("a request target holds URI characters only", "[http][parser][bad]") {
    auto target_error = [](std::string target) {
        return error_of("GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n");
    };
    // Everything RFC 3986 allows in a path and a query, percent-encoded octets included.
    CHECK(target_error("/a-._~!$&'()*+,;=:@/%20%C3%A9?q=a/b?c&d[]=1") == 0);
    CHECK(target_error("http://example.org/a%2Fb?x") == 0);
    // Octets above 0x7F are only ever percent-encoded (RFC 3986 §2).
    CHECK(target_error("/caf\xc3\xa9") == 400);
    CHECK(target_error("/\xc0\xaf") == 400);
    CHECK(target_error("/?q=\xff") == 400);
    // Not URI characters anywhere.
    for (std::string bad : {"/a\"b", "/a<b", "/a>b", "/?a<b", "/?a\"b"}) {
        INFO(bad);
        CHECK(target_error(bad) == 400);
    }
    // Not path characters ("..\\" slips past filters), tolerated in a query as browsers send it.
    for (std::string bad : {"/a\\b", "/..\\etc", "/a^b", "/a`b", "/a{b}", "/a|b"}) {
        INFO(bad);
        CHECK(target_error(bad) == 400);
        CHECK(target_error("/?" + bad.substr(1)) == 0);
    }
    // A "%" starts two hex digits; NUL, CR and LF are refused encoded too, in the path.
    for (std::string bad : {"/a%zz", "/a%", "/a%4", "/a%00b", "/a%0d%0aX:%201", "/a%0A"}) {
        INFO(bad);
        CHECK(target_error(bad) == 400);
    }
    CHECK(target_error("/a?text=line%0Aline") == 0);
}

// A plain path (no escape) and its query are checked once each; any other target is checked
// whole and then in parts. Both must split a target alike and refuse the same bytes.
TEST_CASE("plain and escaped origin-form targets split alike", "[http][parser][bad]") {
    auto split = [](std::string target) {
        RequestParser parser;
        std::string request = "GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n";
        REQUIRE(parser.parse(request) == ParseStatus::complete);
        CHECK(parser.head().form == gale::http::TargetForm::origin);
        return std::pair(std::string(parser.head().path), std::string(parser.head().query));
    };
    using Split = std::pair<std::string, std::string>;
    CHECK(split("/") == Split("/", ""));
    CHECK(split("/a/b?c=d") == Split("/a/b", "c=d"));
    CHECK(split("/a%20b?c=d") == Split("/a%20b", "c=d"));
    CHECK(split("/a?") == Split("/a", ""));
    CHECK(split("/a??x?") == Split("/a", "?x?"));
    CHECK(split("/?{|}") == Split("/", "{|}"));
    CHECK(split("/%41?%") == Split("/%41", "%"));  // a query's escapes are the handler's
    for (std::string path : {"/abcdefghijklmnop", "/abc%41defghijklm"}) {
        for (std::size_t at = 0; at < 20; ++at) {
            std::string query(20, 'q');
            query[at] = '#';
            INFO(path << " with a bad query byte at " << at);
            CHECK(error_of("GET " + path + "?" + query + " HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
        }
    }
    // A CONNECT with a path is not an origin-form target.
    CHECK(error_of("CONNECT /a HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
}

// The character checks look at eight bytes at a time and at a shorter tail all at once: a bad
// byte must be caught at every position of every length, across word and tail boundaries.
TEST_CASE("one bad byte is found at every position of a method, path, Host and value",
          "[http][parser][bad]") {
    for (std::size_t length = 1; length <= 26; ++length) {
        const std::string plain(length, 'a');
        INFO("length " << length);
        CHECK(error_of(std::string(length, 'A') + " / HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
        CHECK(error_of("GET /" + plain + " HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
        CHECK(error_of("GET / HTTP/1.1\r\nHost: " + plain + "\r\n\r\n") == 0);
        CHECK(error_of("GET / HTTP/1.1\r\nHost: " + plain + ":80\r\n\r\n") == 0);
        for (std::size_t at = 0; at < length; ++at) {
            INFO("bad byte at " << at);
            std::string bad = plain;
            bad[at] = '(';  // not a token character: a bad method
            CHECK(error_of(bad + " / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
            bad[at] = '\\';  // not a path character
            CHECK(error_of("GET /" + bad + " HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
            bad[at] = '/';  // not a host character
            CHECK(error_of("GET / HTTP/1.1\r\nHost: " + bad + "\r\n\r\n") == 400);
            bad[at] = '\x01';  // not a field value byte; a tab or obs-text is
            CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\nX: " + bad + "\r\n\r\n") == 400);
            bad[at] = '\x7f';
            CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\nX: " + bad + "\r\n\r\n") == 400);
            bad[at] = '\t';
            CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\nX: " + bad + "\r\n\r\n") == 0);
            bad[at] = '\x80';
            CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\nX: " + bad + "\r\n\r\n") == 0);
            if (at + 1 < length) {  // after a tab, the rest of the value is still checked
                std::string tab_then_bad = plain;
                tab_then_bad[at] = '\t';
                tab_then_bad[length - 1] = '\x02';
                CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\nX: " + tab_then_bad + "\r\n\r\n") ==
                      400);
            }
            bad[at] = '%';  // "%aa" is an escape; fewer than two digits after it are not
            const int expected = at + 2 < length ? 0 : 400;
            CHECK(error_of("GET /" + bad + " HTTP/1.1\r\nHost: a\r\n\r\n") == expected);
            CHECK(error_of("GET / HTTP/1.1\r\nHost: " + bad + "\r\n\r\n") == expected);
        }
    }
    // Valid escapes: looked at only when a "%" is there, but then all of them.
    CHECK(error_of("GET /a%41b%4a HTTP/1.1\r\nHost: a%41\r\n\r\n") == 0);
    CHECK(error_of("GET /a%41b%4 HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a%41%g1\r\n\r\n") == 400);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: example.com:8x\r\n\r\n") == 400);
}

TEST_CASE("header syntax", "[http][parser][bad]") {
    CHECK(error_of("GET / HTTP/1.1\r\nHost : a\r\n\r\n") == 400);  // space before colon
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\nX\tY: 1\r\n\r\n") == 400);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n") == 400);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n") == 400);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n") == 400);  // obs-fold
    CHECK(error_of(std::string("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 35)) == 400);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n") == 400);  // bare CR
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n") == 400);
    CHECK(error_of("GET / HTTP/1.1\nHost: a\r\n\r\n") == 400);  // bare LF
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a\n\n") == 400);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n") ==
          0);  // obs-text is fine
}

TEST_CASE("empty lines before the request line are skipped", "[http][parser]") {
    RequestParser parser;
    REQUIRE(parser.parse("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n") == ParseStatus::complete);
    CHECK(parser.head().method == "GET");
    CHECK(parser.head_size() == 4 + 27);
    CHECK(error_of("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
}

TEST_CASE("limits: 414 for the request line, 431 for the head", "[http][parser][bad]") {
    gale::http::ParserLimits limits;
    limits.max_request_line = 100;
    limits.max_head_size = 1000;
    limits.max_header_count = 5;
    std::string long_target = "GET /" + std::string(200, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK(error_of(long_target, limits) == 414);
    // A long method is not a long URI: 400, whether or not a target follows.
    CHECK(error_of(std::string(200, 'G') + " / HTTP/1.1\r\nHost: a\r\n\r\n", limits) == 400);
    CHECK(error_of(std::string(150, 'G'), limits) == 400);
    // An unfinished long line is refused before its end arrives.
    RequestParser parser(limits);
    CHECK(parser.parse("GET /" + std::string(150, 'a')) == ParseStatus::error);
    CHECK(parser.error().status == 414);
    std::string big_header =
        "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(2000, 'x') + "\r\n\r\n";
    CHECK(error_of(big_header, limits) == 431);
    std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (int i = 0; i < 6; ++i) {
        many += "X" + std::to_string(i) + ": v\r\n";
    }
    CHECK(error_of(many + "\r\n", limits) == 431);
}

// A head that is all here takes a one-pass path; one that arrives in pieces, the careful
// one. At each limit and one byte past it, both give the same outcome.
TEST_CASE("limits hold to the byte, whole or in pieces", "[http][parser][bad]") {
    gale::http::ParserLimits limits;
    limits.max_request_line = 40;
    limits.max_head_size = 120;
    limits.max_header_count = 4;
    auto outcome = [&limits](const std::string& request) {
        Outcome whole = parse_whole(request, limits);
        Outcome split = parse_byte_by_byte(request, limits);
        CHECK(whole.status == split.status);
        CHECK(whole.error_status == split.error_status);
        CHECK(whole.head_size == split.head_size);
        return whole.status == ParseStatus::error ? whole.error_status : 0;
    };
    // The request line, without its CRLF, at the limit and over it.
    auto line_of = [](std::size_t size) {
        std::string line = "GET /" + std::string(size - 14, 'a') + " HTTP/1.1";
        REQUIRE(line.size() == size);
        return line + "\r\nHost: a\r\n\r\n";
    };
    CHECK(outcome(line_of(40)) == 0);
    CHECK(outcome(line_of(41)) == 414);
    // The whole head, blank line included, at the limit and over it.
    auto head_of = [](std::size_t size) {
        std::string start = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
        std::string head = start + std::string(size - start.size() - 4, 'x') + "\r\n\r\n";
        REQUIRE(head.size() == size);
        return head;
    };
    CHECK(outcome(head_of(120)) == 0);
    CHECK(outcome(head_of(121)) == 431);
    // The number of fields, at the limit and over it.
    std::string fields = "GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 2\r\nD: 3\r\n";
    CHECK(outcome(fields + "\r\n") == 0);
    CHECK(outcome(fields + "E: 4\r\n\r\n") == 431);
    // A head the one-pass path leaves to the careful parse (folding, a bare LF, a field with a
    // space before its colon) and one it takes, then an error found after the fields.
    CHECK(outcome("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n") == 400);
    CHECK(outcome("GET / HTTP/1.1\r\nHost: a\nX: 1\r\n\r\n") == 400);
    CHECK(outcome("GET / HTTP/1.1\r\nHost : a\r\n\r\n") == 400);
    CHECK(outcome("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400);
    CHECK(outcome("GET / HTTP/1.1\r\nHost: a\r\nX:\t v \t\r\n\r\n") == 0);
    // Nothing yet, or only empty lines: more is needed (an empty view may have no data).
    RequestParser waiting(limits);
    CHECK(waiting.parse(std::string_view()) == ParseStatus::incomplete);
    CHECK(waiting.parse(std::string_view("\r\n")) == ParseStatus::incomplete);
    CHECK(waiting.parse(std::string_view("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")) ==
          ParseStatus::complete);
    // What the one-pass path parsed is the same head the careful parse gives.
    const std::string request = "POST /p?q=1 HTTP/1.1\r\nHost: h:1\r\nContent-Length: 3\r\n\r\nabc";
    RequestParser whole(limits);
    REQUIRE(whole.parse(request) == ParseStatus::complete);
    RequestParser split(limits);
    REQUIRE(split.parse(request.substr(0, 20)) == ParseStatus::incomplete);
    REQUIRE(split.parse(request) == ParseStatus::complete);
    for (const RequestParser* parser : {&whole, &split}) {
        const gale::http::RequestHead& head = parser->head();
        CHECK(head.method == "POST");
        CHECK(head.path == "/p");
        CHECK(head.query == "q=1");
        CHECK(head.authority == "h:1");
        CHECK(head.framing == BodyFraming::content_length);
        CHECK(head.content_length == 3);
        CHECK(head.headers.size() == 2);
        CHECK(parser->head_size() == request.size() - 3);
    }
}

TEST_CASE("keep-alive, Expect and Upgrade", "[http][parser]") {
    RequestParser parser;
    REQUIRE(parser.parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\r\n") ==
            ParseStatus::complete);
    CHECK_FALSE(parser.head().keep_alive);
    parser.reset();
    REQUIRE(parser.parse("GET / HTTP/1.0\r\n\r\n") == ParseStatus::complete);
    CHECK_FALSE(parser.head().keep_alive);
    parser.reset();
    REQUIRE(parser.parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n") ==
            ParseStatus::complete);
    CHECK(parser.head().keep_alive);
    parser.reset();
    REQUIRE(parser.parse(
                "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n") ==
            ParseStatus::complete);
    CHECK(parser.head().expect_continue);
    parser.reset();
    // 100-continue is the only expectation there is: anything else cannot be met (417).
    CHECK(error_of("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue, \r\nContent-Length: "
                   "3\r\n\r\n") == 0);
    CHECK(error_of("PUT / HTTP/1.1\r\nHost: a\r\nExpect: foo\r\nContent-Length: 3\r\n\r\n") == 417);
    CHECK(error_of("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue, foo=1\r\n\r\n") == 417);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nExpect: "
                   "200-ok\r\n\r\n") == 417);
    REQUIRE(parser.parse("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n") ==
            ParseStatus::complete);
    CHECK_FALSE(parser.head().expect_continue);  // no body to wait for
    parser.reset();
    // HTTP/1.0 predates Expect: ignored, so no 100 (nor 417) for such a client.
    REQUIRE(parser.parse("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n") ==
            ParseStatus::complete);
    CHECK_FALSE(parser.head().expect_continue);
    parser.reset();
    CHECK(error_of("PUT / HTTP/1.0\r\nExpect: foo\r\nContent-Length: 3\r\n\r\n") == 0);
    REQUIRE(
        parser.parse(
            "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n") ==
        ParseStatus::complete);
    CHECK(parser.head().upgrade);
}

TEST_CASE("precondition fields are flagged while parsing", "[http][parser]") {
    RequestParser parser;
    auto flagged = [&parser](std::string_view fields) {
        parser.reset();
        std::string request = "GET / HTTP/1.1\r\nHost: a\r\n" + std::string(fields) + "\r\n";
        REQUIRE(parser.parse(request) == ParseStatus::complete);
        return parser.head().preconditions;
    };
    CHECK_FALSE(flagged(""));
    CHECK_FALSE(flagged("Iffy: 1\r\nIf: 2\r\nX-If-Match: 3\r\n"));
    for (std::string_view name :
         {"If-Match", "if-none-match", "IF-MODIFIED-SINCE", "If-Unmodified-Since", "If-Range"}) {
        CAPTURE(name);
        CHECK(flagged(std::string(name) + ": \"a\"\r\n"));
        CHECK(flagged("Accept: */*\r\n" + std::string(name) + ": \"a\"\r\nX: y\r\n"));
    }
}

TEST_CASE("pipelined requests parse one after another", "[http][parser]") {
    std::string stream =
        "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 "
        "HTTP/1.1\r\nHost: a\r\n\r\n";
    std::string_view rest = stream;
    RequestParser parser;
    for (std::string path : {"/1", "/2", "/3"}) {
        REQUIRE(parser.parse(rest) == ParseStatus::complete);
        CHECK(parser.head().path == path);
        rest.remove_prefix(parser.head_size());
        parser.reset();
    }
    CHECK(rest.empty());
}

TEST_CASE("parsing is linear in the size of the head", "[http][parser]") {
    gale::http::ParserLimits limits;
    limits.max_head_size = 1 << 20;
    limits.max_header_count = 100000;
    std::string request = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (int i = 0; i < 20000; ++i) {
        request += "X: y\r\n";
    }
    request += "\r\n";
    auto started = std::chrono::steady_clock::now();
    RequestParser parser(limits);
    // Fed in 1000 slices, as a slow client would send it.
    ParseStatus status = ParseStatus::incomplete;
    for (std::size_t end = 0; end < request.size() && status == ParseStatus::incomplete;) {
        end = std::min(request.size(), end + request.size() / 1000 + 1);
        status = parser.parse(std::string_view(request).substr(0, end));
    }
    CHECK(status == ParseStatus::complete);
    CHECK(parser.head().headers.size() == 20001);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
}

TEST_CASE("chunked decoding", "[http][chunked]") {
    using gale::http::ChunkedDecoder;
    std::string body =
        "4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: yes\r\n\r\nNEXT";
    // Decode with the input arriving in every possible split.
    for (std::size_t step : {std::size_t{1}, std::size_t{3}, std::size_t{7}, body.size()}) {
        ChunkedDecoder decoder;
        std::string buffered;
        std::string payload;
        std::size_t offset = 0;
        bool done = false;
        while (!done) {
            if (offset < body.size()) {
                buffered += body.substr(offset, step);
                offset += step;
            }
            while (true) {
                auto result = decoder.decode(buffered);
                REQUIRE(result.status != ChunkedDecoder::Status::error);
                if (result.status == ChunkedDecoder::Status::data) {
                    payload += result.data;
                }
                buffered.erase(0, result.consumed);
                if (result.status == ChunkedDecoder::Status::done) {
                    done = true;
                    break;
                }
                if (result.status == ChunkedDecoder::Status::need_more) {
                    break;
                }
            }
        }
        CHECK(payload == "Wikipedia in\r\n\r\nchunks.");
        CHECK(buffered + (offset < body.size() ? body.substr(offset) : "") == "NEXT");
        CHECK(decoder.trailers().get("trailer") == "yes");
    }
}

TEST_CASE("bad chunked bodies are errors", "[http][chunked][bad]") {
    using gale::http::ChunkedDecoder;
    auto fails = [](std::string input) {
        ChunkedDecoder decoder;
        std::string_view rest = input;
        while (true) {
            auto result = decoder.decode(rest);
            if (result.status == ChunkedDecoder::Status::error) {
                return true;
            }
            if (result.status != ChunkedDecoder::Status::data) {
                return false;
            }
            rest.remove_prefix(result.consumed);
        }
    };
    CHECK(fails("0x5\r\nhello\r\n0\r\n\r\n"));
    CHECK(fails("-5\r\nhello\r\n0\r\n\r\n"));
    CHECK(fails("ffffffffffffffffffff\r\n"));
    CHECK(fails("\r\n"));
    CHECK(fails("5\nhello\r\n"));
    CHECK(fails("5\r\nhelloXX0\r\n\r\n"));  // no CRLF after the data
    CHECK(fails("5 5\r\nhello\r\n"));
    CHECK(fails("5;a=\x01\r\nhello\r\n"));
    CHECK(fails("0\r\nBad Trailer\r\n\r\n"));
    CHECK(fails(std::string("1;") + std::string(5000, 'x') + "\r\n"));
    CHECK_FALSE(fails("5 ;ext\r\nhello\r\n0\r\n\r\n"));
    // Extensions follow their grammar (RFC 9112 §7.1.1); whitespace only around separators.
    for (std::string good : {"5;a\r\n", "5;a=b\r\n", "5 ; a = b ;c\r\n", "5;a=\"x y\\\"z\"\r\n",
                             "5;a=b \r\n", "0005\r\n", "5;a=\"\"\r\n"}) {
        INFO(good);
        CHECK_FALSE(fails(good + "hello\r\n0\r\n\r\n"));
    }
    for (std::string bad :
         {"5 \r\n", "5\t\r\n", "5;\r\n", "5;a=\r\n", "5;a=b c\r\n", "5;a b\r\n", "5;a=\"x\r\n",
          "5;;a\r\n", "5a=b\r\n", "5;a=\"x\"y\r\n", "0000000000000005\r\n"}) {
        INFO(bad);
        CHECK(fails(bad + "hello\r\n0\r\n\r\n"));
    }
}

TEST_CASE("a chunk whose CRLF is already here is checked before its data is given",
          "[http][chunked][bad]") {
    using gale::http::ChunkedDecoder;
    ChunkedDecoder decoder;
    auto result = decoder.decode("3\r\nabcX\r\n0\r\n\r\n");
    CHECK(result.status == ChunkedDecoder::Status::error);
    // A chunk that ends the input is given, and its CRLF checked when it comes.
    ChunkedDecoder split;
    result = split.decode("3\r\nabc");
    REQUIRE(result.status == ChunkedDecoder::Status::data);
    CHECK(result.data == "abc");
    CHECK(split.decode("X\r\n").status == ChunkedDecoder::Status::error);
}
