#include <gale/web/cookies.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

using namespace gale::web;
using namespace std::chrono;

TEST_CASE("parse_cookie_header is lenient like browsers and Tornado", "[web][cookies]") {
    auto cookies = parse_cookie_header(R"(a=1; b="x\073y\"z"; =c; d; e=; ; f = 2 ;a=3)");
    std::vector<Cookie> expected = {{"a", "1"}, {"b", "x;y\"z"}, {"", "c"}, {"", "d"},
                                    {"e", ""},  {"f", "2"},      {"a", "3"}};
    CHECK(cookies == expected);
    CHECK(find_cookie(cookies, "a") == "1");  // the first, most specific one
    CHECK(find_cookie(cookies, "f") == "2");
    CHECK(!find_cookie(cookies, "missing"));
}

// Tornado's httputil_test.ParseCookieTest vectors (Django's, which mimic browsers).
TEST_CASE("parse_cookie_header matches Tornado's edge cases", "[web][cookies]") {
    auto single = [](std::string header) { return parse_cookie_header(header); };
    CHECK(single("chips=ahoy; vienna=finger") ==
          std::vector<Cookie>{{"chips", "ahoy"}, {"vienna", "finger"}});
    CHECK(single(R"(keebler="E=mc2; L=\"Loves\"; fudge=\012;")") ==
          std::vector<Cookie>{
              {"keebler", "\"E=mc2"}, {"L", "\\\"Loves\\\""}, {"fudge", "\\012"}, {"", "\""}});
    CHECK(single("keebler=E=mc2") == std::vector<Cookie>{{"keebler", "E=mc2"}});
    CHECK(single("key:term=value:term") == std::vector<Cookie>{{"key:term", "value:term"}});
    CHECK(single("a=b; c=[; d=r; f=h") ==
          std::vector<Cookie>{{"a", "b"}, {"c", "["}, {"d", "r"}, {"f", "h"}});
    CHECK(single("a=b; Domain=example.com") ==
          std::vector<Cookie>{{"a", "b"}, {"Domain", "example.com"}});
    CHECK(single("a=b; h=i; a=c") == std::vector<Cookie>{{"a", "b"}, {"h", "i"}, {"a", "c"}});
    CHECK(single("  =  b  ;  ;  =  ;   c  =  ;  ") == std::vector<Cookie>{{"", "b"}, {"c", ""}});
    CHECK(single("a   b=c") == std::vector<Cookie>{{"a   b", "c"}});
    CHECK(single("saint=Andr\xc3\xa9 Bessette") ==
          std::vector<Cookie>{{"saint", "Andr\xc3\xa9 Bessette"}});
    CHECK(single("a b c=d e = f; gh=i") == std::vector<Cookie>{{"a b c", "d e = f"}, {"gh", "i"}});
    CHECK(single("").empty());
    CHECK(single(";;;").empty());
    CHECK(single("\"") == std::vector<Cookie>{{"", "\""}});
    CHECK(single("a=\"\"") == std::vector<Cookie>{{"a", ""}});
    CHECK(single("a=\"\\\"") == std::vector<Cookie>{{"a", "\\"}});
}

TEST_CASE("parse_cookie_header stops at the cookie limit and stays linear", "[web][cookies]") {
    std::string header;
    for (int i = 0; i < 1000; ++i) {
        header += "c" + std::to_string(i) + "=" + std::to_string(i) + "; ";
    }
    CHECK(parse_cookie_header(header).size() == 300);
    CHECK(parse_cookie_header(header, {.max_cookies = 2000}).size() == 1000);

    // CVE-2024-7592 was quadratic unquoting of backslashes.
    auto start = steady_clock::now();
    std::string quoted = "a=\"" + std::string(1000000, '\\') + "\"";
    CHECK(parse_cookie_header(quoted).front().value.size() == 500000);
    std::string semicolons(1000000, ';');
    CHECK(parse_cookie_header(semicolons).empty());
    CHECK(steady_clock::now() - start < seconds(5));
}

TEST_CASE("format_cookie_date writes an IMF-fixdate", "[web][cookies]") {
    CHECK(format_cookie_date(system_clock::time_point{}) == "Thu, 01 Jan 1970 00:00:00 GMT");
    CHECK(format_cookie_date(system_clock::time_point{seconds(784111777)}) ==
          "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK(format_cookie_date(system_clock::time_point{seconds(1359312200) + milliseconds(999)}) ==
          "Sun, 27 Jan 2013 18:43:20 GMT");
    CHECK(format_cookie_date(sys_days{year{2000} / February / 29}) ==
          "Tue, 29 Feb 2000 00:00:00 GMT");
    CHECK(format_cookie_date(system_clock::time_point{seconds(-1)}) ==
          "Wed, 31 Dec 1969 23:59:59 GMT");
    CHECK(format_cookie_date(system_clock::time_point::max()) == "Fri, 11 Apr 2262 23:47:16 GMT");
    CHECK(format_cookie_date(system_clock::time_point::min()) == "Tue, 21 Sep 1677 00:12:43 GMT");
}

TEST_CASE("format_set_cookie writes every attribute", "[web][cookies]") {
    CHECK(format_set_cookie("name", "value") == "name=value; Path=/");
    CookieOptions options;
    options.domain = "example.com";
    options.path = "/app";
    options.expires = system_clock::time_point{seconds(784111777)};
    options.max_age = seconds(3600);
    options.secure = true;
    options.http_only = true;
    options.same_site = SameSite::strict;
    CHECK(format_set_cookie("session", "abc", options) ==
          "session=abc; Domain=example.com; Path=/app; Expires=Sun, 06 Nov 1994 08:49:37 GMT; "
          "Max-Age=3600; Secure; HttpOnly; SameSite=Strict");
    CHECK(format_set_cookie("a", "b", {.path = "", .same_site = SameSite::lax}) ==
          "a=b; SameSite=Lax");
    CHECK(format_set_cookie("a", "b", {.secure = true, .same_site = SameSite::none}) ==
          "a=b; Path=/; Secure; SameSite=None");
}

TEST_CASE("format_set_cookie quotes special values like Python and they parse back",
          "[web][cookies]") {
    CHECK(format_set_cookie("a", "x=y", {.path = ""}) == "a=\"x=y\"");
    CHECK(format_set_cookie("a", "x;y", {.path = ""}) == "a=\"x\\073y\"");
    CHECK(format_set_cookie("a", "x\"y\\", {.path = ""}) == "a=\"x\\\"y\\\\\"");
    CHECK(format_set_cookie("a", "x,y", {.path = ""}) == "a=\"x\\054y\"");
    CHECK(format_set_cookie("a", "\xc3\xa9", {.path = ""}) == "a=\"\\303\\251\"");
    CHECK(format_set_cookie("a", "", {.path = ""}) == "a=");
    for (std::string value :
         {"x=y", "x;y", "x\"y\\", "a,b", "\xc3\xa9", "2|1:0|8:dmFsdWU=|ab", "{json:[1]}"}) {
        std::string header = format_set_cookie("a", value, {.path = ""});
        auto cookies = parse_cookie_header(header);
        REQUIRE(cookies.size() == 1);
        CHECK(cookies[0].value == value);
    }
}

TEST_CASE("format_set_cookie rejects what would break the header", "[web][cookies]") {
    CHECK_THROWS_AS(format_set_cookie("", "v"), CookieError);
    CHECK_THROWS_WITH(format_set_cookie("a b", "v"), Catch::Contains("invalid cookie name"));
    CHECK_THROWS_AS(format_set_cookie("a;b", "v"), CookieError);
    CHECK_THROWS_AS(format_set_cookie("a=b", "v"), CookieError);
    CHECK_THROWS_AS(format_set_cookie("a\r\n", "v"), CookieError);
    CHECK_THROWS_WITH(format_set_cookie("a", "v w"), Catch::Contains("spaces and control"));
    CHECK_THROWS_AS(format_set_cookie("a", "v\r\nSet-Cookie: x=y"), CookieError);
    CHECK_THROWS_AS(format_set_cookie("a", std::string("\0", 1)), CookieError);
    CHECK_THROWS_WITH(format_set_cookie("a", "v", {.domain = "x.com; Secure"}),
                      Catch::Contains("invalid domain"));
    CHECK_THROWS_WITH(format_set_cookie("a", "v", {.path = "/\r\n"}),
                      Catch::Contains("invalid path"));
    CHECK_THROWS_WITH(format_set_cookie("a", "v", {.same_site = SameSite::none}),
                      Catch::Contains("SameSite=None without Secure"));
}

TEST_CASE("format_delete_cookie expires the cookie", "[web][cookies]") {
    CHECK(format_delete_cookie("session") ==
          "session=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0");
    CHECK(format_delete_cookie(
              "session", {.domain = "example.com", .path = "/app", .max_age = seconds(100)}) ==
          "session=; Domain=example.com; Path=/app; Expires=Thu, 01 Jan 1970 00:00:00 GMT; "
          "Max-Age=0");
    CHECK_THROWS_AS(format_delete_cookie("bad name"), CookieError);
}
