#include <gale/web/url.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

using namespace gale::web;

TEST_CASE("Url::parse splits every component", "[web][url]") {
    Url url = Url::parse("HTTPS://User:p%40ss@Example.COM:8443/a/b%20c?x=1&y=2#frag");
    CHECK(url.scheme == "https");
    CHECK(url.has_authority);
    CHECK(url.userinfo == "User:p%40ss");
    CHECK(url.username() == "User");
    CHECK(url.password() == "p@ss");
    CHECK(url.host == "example.com");
    CHECK(url.port == 8443);
    CHECK(url.path == "/a/b%20c");
    CHECK(url.decoded_path() == "/a/b c");
    CHECK(url.query == "x=1&y=2");
    CHECK(url.fragment == "frag");
    CHECK(url.to_string() == "https://User:p%40ss@example.com:8443/a/b%20c?x=1&y=2#frag");
    CHECK(url.host_and_port() == "example.com:8443");
    CHECK(url.request_target() == "/a/b%20c?x=1&y=2");
    CHECK(url.is_absolute());
}

TEST_CASE("Url::parse handles IPv6 literals, default ports and empty parts", "[web][url]") {
    Url ipv6 = Url::parse("http://[::1]:8080/");
    CHECK(ipv6.host == "::1");
    CHECK(ipv6.port == 8080);
    CHECK(ipv6.host_and_port() == "[::1]:8080");
    CHECK(ipv6.to_string() == "http://[::1]:8080/");
    CHECK(Url::parse("http://[2001:DB8::A]/").host == "2001:db8::a");
    CHECK(Url::parse("http://[fe80::1%25eth0]/").host == "fe80::1%25eth0");

    Url plain = Url::parse("http://example.com");
    CHECK(plain.path.empty());
    CHECK(plain.request_target() == "/");
    CHECK(plain.effective_port() == 80);
    CHECK(!plain.port);
    CHECK(!plain.query);
    CHECK(!plain.fragment);
    CHECK(Url::parse("https://a/").effective_port() == 443);
    CHECK(Url::parse("wss://a/").effective_port() == 443);
    CHECK(!Url::parse("ftp://a/").effective_port());
    CHECK(!Url::parse("http://a:/").port);  // an empty port is the default

    Url empty_query = Url::parse("http://a/?#");
    CHECK(empty_query.query == "");
    CHECK(empty_query.fragment == "");
    CHECK(empty_query.to_string() == "http://a/?#");

    Url mail = Url::parse("mailto:someone@example.com");
    CHECK(mail.scheme == "mailto");
    CHECK(!mail.has_authority);
    CHECK(mail.path == "someone@example.com");
    CHECK(mail.to_string() == "mailto:someone@example.com");

    Url file = Url::parse("file:///etc/hosts");
    CHECK(file.has_authority);
    CHECK(file.host.empty());
    CHECK(file.to_string() == "file:///etc/hosts");
}

TEST_CASE("Url::parse reads relative references", "[web][url]") {
    Url relative = Url::parse("../a/b?q#f");
    CHECK(!relative.is_absolute());
    CHECK(relative.path == "../a/b");
    Url network_path = Url::parse("//cdn.example.com/x.js");
    CHECK(network_path.scheme.empty());
    CHECK(network_path.host == "cdn.example.com");
    CHECK(Url::parse("").to_string() == "");
    CHECK(Url::parse("?q").query == "q");
    CHECK(Url::parse("/a:b").path == "/a:b");
    CHECK(Url::parse("./a:b").path == "./a:b");
}

TEST_CASE("Url::parse keeps non-ASCII paths and encodes them in the request target", "[web][url]") {
    Url url = Url::parse("http://a/caf\xc3\xa9?q=\xc3\xa9");
    CHECK(url.path == "/caf\xc3\xa9");
    CHECK(url.request_target() == "/caf%C3%A9?q=%C3%A9");
}

TEST_CASE("Url::parse rejects malformed URLs with a clear error", "[web][url]") {
    auto rejects = [](std::string text, std::string reason) {
        INFO(text);
        CHECK_THROWS_WITH(Url::parse(text), Catch::Contains(reason));
        CHECK_THROWS_AS(Url::parse(text), UrlError);
        CHECK_THROWS_AS(Url::parse(text), InputError);
    };
    rejects("http://a b/", "control character or space at offset 8");
    rejects("http://a/\r\nX: y", "control character");
    rejects(std::string("http://a/\0", 10), "control character");
    rejects("http://a:99999/", "greater than 65535");
    rejects("http://a:8o/", "is not a number");
    rejects("http://a:-1/", "is not a number");
    rejects("http://[::1/", "unterminated IPv6");
    rejects("http://[::g]/", "invalid IPv6 address");
    rejects("http://[1.2.3.4]/", "invalid IPv6 address");
    rejects("http://[::1]x/", "after the IPv6 literal");
    rejects("http://[v1.x]/", "IPvFuture");
    rejects("http://[fe80::1%eth0]/", "zone");
    rejects("http://exa<mple.com/", "not allowed in host");
    rejects("http://ex\xc3\xa4mple.com/", "not allowed in host");
    rejects("http://a%zz/", "percent-encoding in host");
    rejects("http:///path", "missing host");
    rejects("https://", "missing host");
    rejects(":foo", "empty scheme");
    rejects("1http://a/", "invalid scheme");
    rejects("ht_tp://a/", "invalid scheme");
}

// RFC 3986 §5.4: every normal and abnormal example.
TEST_CASE("Url::resolve passes the RFC 3986 examples", "[web][url]") {
    Url base = Url::parse("http://a/b/c/d;p?q");
    std::vector<std::pair<std::string, std::string>> examples = {
        // 5.4.1 normal
        {"g:h", "g:h"},
        {"g", "http://a/b/c/g"},
        {"./g", "http://a/b/c/g"},
        {"g/", "http://a/b/c/g/"},
        {"/g", "http://a/g"},
        {"//g", "http://g"},
        {"?y", "http://a/b/c/d;p?y"},
        {"g?y", "http://a/b/c/g?y"},
        {"#s", "http://a/b/c/d;p?q#s"},
        {"g#s", "http://a/b/c/g#s"},
        {"g?y#s", "http://a/b/c/g?y#s"},
        {";x", "http://a/b/c/;x"},
        {"g;x", "http://a/b/c/g;x"},
        {"g;x?y#s", "http://a/b/c/g;x?y#s"},
        {"", "http://a/b/c/d;p?q"},
        {".", "http://a/b/c/"},
        {"./", "http://a/b/c/"},
        {"..", "http://a/b/"},
        {"../", "http://a/b/"},
        {"../g", "http://a/b/g"},
        {"../..", "http://a/"},
        {"../../", "http://a/"},
        {"../../g", "http://a/g"},
        // 5.4.2 abnormal
        {"../../../g", "http://a/g"},
        {"../../../../g", "http://a/g"},
        {"/./g", "http://a/g"},
        {"/../g", "http://a/g"},
        {"g.", "http://a/b/c/g."},
        {".g", "http://a/b/c/.g"},
        {"g..", "http://a/b/c/g.."},
        {"..g", "http://a/b/c/..g"},
        {"./../g", "http://a/b/g"},
        {"./g/.", "http://a/b/c/g/"},
        {"g/./h", "http://a/b/c/g/h"},
        {"g/../h", "http://a/b/c/h"},
        {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
        {"g;x=1/../y", "http://a/b/c/y"},
        {"g?y/./x", "http://a/b/c/g?y/./x"},
        {"g?y/../x", "http://a/b/c/g?y/../x"},
        {"g#s/./x", "http://a/b/c/g#s/./x"},
        {"g#s/../x", "http://a/b/c/g#s/../x"},
        {"http:g", "http:g"},  // strict parsers
    };
    for (const auto& [reference, expected] : examples) {
        INFO(reference);
        CHECK(base.resolve(reference).to_string() == expected);
    }
}

TEST_CASE("Url::resolve handles redirects and an authority-only base", "[web][url]") {
    Url base = Url::parse("https://example.com");
    CHECK(base.resolve("login").to_string() == "https://example.com/login");
    CHECK(base.resolve("//other.org/x").to_string() == "https://other.org/x");
    CHECK(base.resolve("http://[::1]:81/y").to_string() == "http://[::1]:81/y");
    Url with_user = Url::parse("http://u:p@a/b/c");
    CHECK(with_user.resolve("d").to_string() == "http://u:p@a/b/d");
    CHECK_THROWS_AS(Url::parse("/relative").resolve("x"), UrlError);
}

TEST_CASE("remove_dot_segments follows RFC 3986 5.2.4", "[web][url]") {
    CHECK(remove_dot_segments("/a/b/c/./../../g") == "/a/g");
    CHECK(remove_dot_segments("mid/content=5/../6") == "mid/6");
    CHECK(remove_dot_segments("/..") == "/");
    CHECK(remove_dot_segments("..") == "");
    CHECK(remove_dot_segments("") == "");
    CHECK(remove_dot_segments("/a//../b") == "/a/b");
}

TEST_CASE("parse_query_string decodes an ordered multimap", "[web][url]") {
    Arguments arguments = parse_query_string("a=1&b=x+y&a=%C3%A9&c&d=&&e=%zz");
    REQUIRE(arguments.size() == 5);
    CHECK(arguments.entries()[0].name == "a");
    CHECK(arguments.all("a") == std::vector<std::string>{"1", "\xc3\xa9"});
    CHECK(arguments.last("a") == "\xc3\xa9");
    CHECK(arguments.last("b") == "x y");
    CHECK(arguments.last("c") == "");
    CHECK(arguments.last("d") == "");
    CHECK(arguments.last("e") == "%zz");
    CHECK(!arguments.last("missing"));
    CHECK(arguments.all("missing").empty());
    CHECK(arguments.find("missing") == nullptr);

    Arguments without_blanks = parse_query_string("a=1&c&d=", {.keep_blank_values = false});
    CHECK(without_blanks.size() == 1);

    CHECK(parse_query_string("").empty());
    CHECK(parse_query_string("&&&").empty());
    CHECK(parse_query_string("=v").last("") == "v");
    CHECK(parse_query_string("a=b=c").last("a") == "b=c");
    CHECK(parse_query_string("a%3Db=c").last("a=b") == "c");
}

TEST_CASE("parse_query_string enforces the field limit", "[web][url]") {
    std::string text;
    for (int i = 0; i < 1001; ++i) {
        text += "f" + std::to_string(i) + "=v&";
    }
    text.pop_back();
    CHECK_THROWS_AS(parse_query_string(text), QueryStringError);
    CHECK_THROWS_WITH(parse_query_string(text), Catch::Contains("limit of 1000"));
    CHECK(parse_query_string(text, {.max_fields = 1001}).size() == 1001);
    // Empty fields count too: they cost work.
    CHECK_THROWS_AS(parse_query_string(std::string(5000, '&')), QueryStringError);
}

TEST_CASE("Arguments stays fast and ordered with many names", "[web][url]") {
    auto start = std::chrono::steady_clock::now();
    std::string text;
    for (int i = 0; i < 50000; ++i) {
        text += "n" + std::to_string(i % 25000) + "=" + std::to_string(i) + "&";
    }
    Arguments arguments = parse_query_string(text, {.max_fields = 100000});
    CHECK(arguments.size() == 25000);
    CHECK(arguments.entries()[17].name == "n17");
    CHECK(arguments.all("n17") == std::vector<std::string>{"17", "25017"});
    Arguments merged;
    merged.add("n17", "first");
    merged.merge(arguments);
    CHECK(merged.all("n17").size() == 3);
    CHECK(merged.last("n24999") == "49999");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
}

TEST_CASE("encode_query_string and url_concat", "[web][url]") {
    CHECK(encode_query_string({{"a b", "c&d"}, {"e", "\xc3\xa9/"}}) == "a+b=c%26d&e=%C3%A9%2F");
    CHECK(url_concat("http://a/p", {{"y", "z"}}) == "http://a/p?y=z");
    CHECK(url_concat("http://a/p?x=1", {{"y", "z"}}) == "http://a/p?x=1&y=z");
    CHECK(url_concat("http://a/p?x", {{"y", "z"}}) == "http://a/p?x&y=z");
    CHECK(url_concat("http://a/p?", {{"y", "z"}}) == "http://a/p?y=z");
    CHECK(url_concat("http://a/p?x=1&", {{"y", "z"}}) == "http://a/p?x=1&y=z");
    CHECK(url_concat("http://a/p#frag", {{"y", "z"}}) == "http://a/p?y=z#frag");
    CHECK(url_concat("http://a/p?x=1#f?g", {{"y", "1"}, {"y", "2"}}) ==
          "http://a/p?x=1&y=1&y=2#f?g");
    CHECK(url_concat("/p?x=1", {}) == "/p?x=1");
}
