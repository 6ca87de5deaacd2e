// CookieJar: RFC 6265 storage and matching rules.
#include <gale/httpclient/cookie_jar.hpp>

#include <catch2/catch.hpp>

using gale::httpclient::CookieJar;
using gale::web::Url;

TEST_CASE("cookie jar: host-only and domain cookies", "[httpclient][cookies]") {
    CookieJar jar;
    Url page = Url::parse("http://www.example.com/a/b/page.html");
    CHECK(jar.set_cookie(page, "host=1"));
    CHECK(jar.set_cookie(page, "wide=2; Domain=.Example.COM"));
    CHECK_FALSE(jar.set_cookie(page, "other=3; Domain=example.org"));  // not this host's
    CHECK_FALSE(jar.set_cookie(page, "tld=4; Domain=com"));            // a dotless domain
    CHECK(jar.cookie_header(Url::parse("http://www.example.com/a/b/x")) == "host=1; wide=2");
    CHECK(jar.cookie_header(Url::parse("http://api.example.com/a/b/x")) == "wide=2");
    CHECK(jar.cookie_header(Url::parse("http://example.com/a/b/")) == "wide=2");
    CHECK(jar.cookie_header(Url::parse("http://badexample.com/a/b/")) == "");
    // An IP address matches only itself.
    Url ip = Url::parse("http://127.0.0.1:8080/");
    CHECK(jar.set_cookie(ip, "local=1"));
    CHECK_FALSE(jar.set_cookie(ip, "wide=1; Domain=0.0.1"));
    CHECK(jar.cookie_header(Url::parse("http://127.0.0.1:9090/x")) == "local=1");
}

TEST_CASE("cookie jar: paths, longest first", "[httpclient][cookies]") {
    CookieJar jar;
    Url page = Url::parse("http://example.com/docs/guide/intro.html");
    CHECK(jar.set_cookie(page, "default=1"));  // default path: /docs/guide
    CHECK(jar.set_cookie(page, "root=2; Path=/"));
    CHECK(jar.set_cookie(page, "docs=3; path=/docs"));
    CHECK(jar.cookie_header(Url::parse("http://example.com/docs/guide/x")) ==
          "default=1; docs=3; root=2");
    CHECK(jar.cookie_header(Url::parse("http://example.com/docs")) == "docs=3; root=2");
    CHECK(jar.cookie_header(Url::parse("http://example.com/docsearch")) == "root=2");
    CHECK(jar.cookie_header(Url::parse("http://example.com/")) == "root=2");
}

TEST_CASE("cookie jar: Secure, expiry, replacement and deletion", "[httpclient][cookies]") {
    CookieJar jar;
    Url secure = Url::parse("https://example.com/");
    Url plain = Url::parse("http://example.com/");
    CHECK(jar.set_cookie(secure, "token=abc; Secure; HttpOnly"));
    CHECK_FALSE(jar.set_cookie(plain, "fake=1; Secure"));  // only https may set Secure
    CHECK(jar.cookie_header(plain) == "");
    CHECK(jar.cookie_header(secure) == "token=abc");
    CHECK(jar.set_cookie(secure, "token=def"));
    CHECK(jar.size() == 1);
    CHECK(jar.cookie_header(secure) == "token=def");
    CHECK(jar.set_cookie(plain, "gone=1; Expires=Wed, 21-Oct-2015 07:28:00 GMT"));
    CHECK(jar.set_cookie(plain, "future=1; Expires=Wed, 21 Oct 2099 07:28:00 GMT"));
    CHECK(jar.set_cookie(plain, "aged=1; Max-Age=3600; Expires=Wed, 21-Oct-2015 07:28:00 GMT"));
    CHECK(jar.cookie_header(plain) == "token=def; future=1; aged=1");
    CHECK(jar.set_cookie(plain, "future=; Max-Age=0"));  // deletes
    CHECK(jar.cookie_header(plain) == "token=def; aged=1");
    auto stored = jar.cookies();
    REQUIRE(stored.size() == 2);
    CHECK_FALSE(stored[0].http_only);  // a replacement takes the new attributes
    CHECK(stored[1].expires.has_value());
}

TEST_CASE("cookie jar: malformed values are ignored and limits hold", "[httpclient][cookies]") {
    CookieJar::Limits limits;
    limits.max_per_domain = 3;
    limits.max_cookies = 5;
    CookieJar jar(limits);
    Url page = Url::parse("http://a.example/");
    CHECK_FALSE(jar.set_cookie(page, "no equals sign"));
    CHECK_FALSE(jar.set_cookie(page, "=value"));
    CHECK_FALSE(jar.set_cookie(page, std::string("x=a\x01b")));
    CHECK_FALSE(jar.set_cookie(page, "big=" + std::string(5000, 'x')));
    CHECK(jar.set_cookie(page, "odd=1; Max-Age=abc; Expires=not a date; Path=relative"));
    for (int i = 0; i < 5; ++i) {
        CHECK(jar.set_cookie(page, "c" + std::to_string(i) + "=" + std::to_string(i)));
    }
    CHECK(jar.size() == 3);  // the oldest of a.example went first
    CHECK(jar.cookie_header(page) == "c2=2; c3=3; c4=4");
    for (const char* host : {"http://b.example/", "http://c.example/"}) {
        CHECK(jar.set_cookie(Url::parse(host), "k=v"));
    }
    CHECK(jar.size() == 5);
    CHECK(jar.set_cookie(Url::parse("http://d.example/"), "k=v"));
    CHECK(jar.size() == 5);
    jar.clear();
    CHECK(jar.size() == 0);
}

TEST_CASE("cookie jar: expiry is capped at 400 days, absurd dates do not overflow",
          "[httpclient][cookies]") {
    CookieJar jar;
    Url page = Url::parse("http://example.com/");
    CHECK(jar.set_cookie(page, "far=1; Expires=Wed, 21-Oct-6920 07:28:00 GMT"));
    CHECK(jar.set_cookie(page, "long=1; Max-Age=999999999999"));
    CHECK(jar.set_cookie(page, "ancient=1; Expires=Mon, 01 Jan 1601 00:00:00 GMT"));
    auto limit = std::chrono::system_clock::now() + std::chrono::hours(24 * 401);
    auto stored = jar.cookies();
    REQUIRE(stored.size() == 2);
    for (const auto& cookie : stored) {
        REQUIRE(cookie.expires.has_value());
        CHECK(*cookie.expires < limit);
    }
}
