#include <gale/web/escape.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

using namespace gale::web;

TEST_CASE("xhtml_escape escapes the five HTML special characters", "[web][escape]") {
    CHECK(xhtml_escape("<foo>") == "&lt;foo&gt;");
    CHECK(xhtml_escape("<>&\"'") == "&lt;&gt;&amp;&quot;&#39;");
    CHECK(xhtml_escape("&amp;") == "&amp;amp;");
    CHECK(xhtml_escape("<\xc3\xa9>") == "&lt;\xc3\xa9&gt;");
    CHECK(xhtml_escape("") == "");
    CHECK(xhtml_escape(std::string("a\0b", 3)) == std::string("a\0b", 3));
}

TEST_CASE("xhtml_unescape reverses xhtml_escape and decodes references", "[web][escape]") {
    for (std::string text : {"<foo>", "<>&\"'", "&amp;", "<\xc3\xa9>", "plain"}) {
        CHECK(xhtml_unescape(xhtml_escape(text)) == text);
    }
    CHECK(xhtml_unescape("foo&#32;bar") == "foo bar");
    CHECK(xhtml_unescape("foo&#x20;bar") == "foo bar");
    CHECK(xhtml_unescape("foo&#X20;bar") == "foo bar");
    CHECK(xhtml_unescape("foo&#xabc;bar") ==
          "foo\xe0\xaa\xbc"
          "bar");
    CHECK(xhtml_unescape("&eacute;&nbsp;&copy;&apos;") == "\xc3\xa9\xc2\xa0\xc2\xa9&apos;");
    CHECK(xhtml_unescape("&#x1F600;") == "\xf0\x9f\x98\x80");
}

TEST_CASE("xhtml_unescape keeps malformed references", "[web][escape]") {
    CHECK(xhtml_unescape("foo&#xyz;bar") == "foo&#xyz;bar");
    CHECK(xhtml_unescape("foo&#;bar") == "foo&#;bar");
    CHECK(xhtml_unescape("foo&#x;bar") == "foo&#x;bar");
    CHECK(xhtml_unescape("&unknown;") == "&unknown;");
    CHECK(xhtml_unescape("&amp") == "&amp");
    CHECK(xhtml_unescape("&") == "&");
    CHECK(xhtml_unescape("&&amp;") == "&&");
    CHECK(xhtml_unescape("&#xD800;") == "&#xD800;");      // a surrogate
    CHECK(xhtml_unescape("&#x110000;") == "&#x110000;");  // beyond Unicode
    CHECK(xhtml_unescape("&#99999999999999999999;") == "&#99999999999999999999;");
}

TEST_CASE("url_escape follows quote_plus and quote", "[web][escape]") {
    CHECK(url_escape("\xc3\xa9") == "%C3%A9");
    CHECK(url_escape("\xe9") == "%E9");
    CHECK(url_escape("+ #%") == "%2B+%23%25");
    CHECK(url_escape("+ #%", false) == "%2B%20%23%25");
    CHECK(url_escape("a/b c") == "a%2Fb+c");
    CHECK(url_escape("a/b c", false) == "a/b%20c");
    CHECK(url_escape("AZaz09_.-~") == "AZaz09_.-~");
    CHECK(url_escape(std::string("\0", 1)) == "%00");
}

TEST_CASE("url_unescape decodes escapes and keeps broken ones", "[web][escape]") {
    CHECK(url_unescape("%2B+%23%25") == "+ #%");
    CHECK(url_unescape("%2B%20%23%25", false) == "+ #%");
    CHECK(url_unescape("a+b", false) == "a+b");
    CHECK(url_unescape("%C3%A9") == "\xc3\xa9");
    CHECK(url_unescape("%c3%a9") == "\xc3\xa9");
    CHECK(url_unescape("100%") == "100%");
    CHECK(url_unescape("%4") == "%4");
    CHECK(url_unescape("%zz%4g") == "%zz%4g");
    CHECK(url_unescape("%00") == std::string("\0", 1));
    for (std::string text : {"hello world/+?&=#%", "\xff\xfe", ""}) {
        CHECK(url_unescape(url_escape(text)) == text);
        CHECK(url_unescape(url_escape(text, false), false) == text);
    }
}

TEST_CASE("json_encode is safe inside a script element", "[web][escape]") {
    nlohmann::json value = {{"html", "</script><script>alert(1)</script>"}};
    std::string encoded = json_encode(value);
    CHECK(encoded.find("</") == std::string::npos);
    CHECK(nlohmann::json::parse(encoded) == value);
    CHECK(json_encode("\xc3\xa9") == "\"\xc3\xa9\"");
    CHECK(json_encode(nlohmann::json::array({1, "a"})) == "[1,\"a\"]");
    // Invalid UTF-8 is replaced rather than thrown.
    CHECK(json_encode("\xff") == "\"\xef\xbf\xbd\"");
}

TEST_CASE("squeeze collapses whitespace runs", "[web][escape]") {
    CHECK(squeeze("sequences     of    whitespace   chars") == "sequences of whitespace chars");
    CHECK(squeeze("  \t\n a \r\n b \x01 ") == "a b");
    CHECK(squeeze("   ") == "");
    CHECK(squeeze("") == "");
}

namespace {

struct LinkifyCase {
    std::string text;
    LinkifyOptions options;
    std::string expected;
};

LinkifyOptions permit(std::vector<std::string> protocols) {
    LinkifyOptions options;
    options.permitted_protocols = std::move(protocols);
    return options;
}

}  // namespace

// Tornado's own linkify vectors (tornado/test/escape_test.py).
TEST_CASE("linkify matches Tornado's test vectors", "[web][escape]") {
    LinkifyOptions require_protocol;
    require_protocol.require_protocol = true;
    LinkifyOptions shorten_with_protocol;
    shorten_with_protocol.require_protocol = true;
    shorten_with_protocol.shorten = true;
    LinkifyOptions shorten;
    shorten.shorten = true;
    LinkifyOptions external;
    external.extra_params = "rel=\"nofollow\" class=\"external\"";
    LinkifyOptions by_href;
    by_href.extra_params_for = [](std::string_view href) -> std::string {
        return href.starts_with("http://www.internal-link.com")
                   ? "class=\"internal\""
                   : "rel=\"nofollow\" class=\"external\"";
    };
    LinkifyOptions padded;
    padded.extra_params_for = [](std::string_view) -> std::string {
        return "    rel=\"nofollow\" class=\"external\"  ";
    };
    std::vector<LinkifyCase> cases = {
        {"hello http://world.com/!",
         {},
         R"~(hello <a href="http://world.com/">http://world.com/</a>!)~"},
        {"hello http://world.com/with?param=true&stuff=yes",
         {},
         R"~(hello <a href="http://world.com/with?param=true&amp;stuff=yes">http://world.com/with?param=true&amp;stuff=yes</a>)~"},
        {"http://url.com/w(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         {},
         R"~(<a href="http://url.com/w">http://url.com/w</a>(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa)~"},
        {"http://url.com/withmany.......................................",
         {},
         R"~(<a href="http://url.com/withmany">http://url.com/withmany</a>.......................................)~"},
        {"http://url.com/withmany((((((((((((((((((((((((((((((((((a)",
         {},
         R"~(<a href="http://url.com/withmany">http://url.com/withmany</a>((((((((((((((((((((((((((((((((((a))~"},
        {"http://foo.com/blah_blah",
         {},
         R"~(<a href="http://foo.com/blah_blah">http://foo.com/blah_blah</a>)~"},
        {"http://foo.com/blah_blah/",
         {},
         R"~(<a href="http://foo.com/blah_blah/">http://foo.com/blah_blah/</a>)~"},
        {"(Something like http://foo.com/blah_blah)",
         {},
         R"~((Something like <a href="http://foo.com/blah_blah">http://foo.com/blah_blah</a>))~"},
        {"http://foo.com/blah_blah_(wikipedia)",
         {},
         R"~(<a href="http://foo.com/blah_blah_(wikipedia)">http://foo.com/blah_blah_(wikipedia)</a>)~"},
        {"http://foo.com/blah_(blah)_(wikipedia)_blah",
         {},
         R"~(<a href="http://foo.com/blah_(blah)_(wikipedia)_blah">http://foo.com/blah_(blah)_(wikipedia)_blah</a>)~"},
        {"(Something like http://foo.com/blah_blah_(wikipedia))",
         {},
         R"~((Something like <a href="http://foo.com/blah_blah_(wikipedia)">http://foo.com/blah_blah_(wikipedia)</a>))~"},
        {"http://foo.com/blah_blah.",
         {},
         R"~(<a href="http://foo.com/blah_blah">http://foo.com/blah_blah</a>.)~"},
        {"http://foo.com/blah_blah/.",
         {},
         R"~(<a href="http://foo.com/blah_blah/">http://foo.com/blah_blah/</a>.)~"},
        {"<http://foo.com/blah_blah>",
         {},
         R"~(&lt;<a href="http://foo.com/blah_blah">http://foo.com/blah_blah</a>&gt;)~"},
        {"<http://foo.com/blah_blah/>",
         {},
         R"~(&lt;<a href="http://foo.com/blah_blah/">http://foo.com/blah_blah/</a>&gt;)~"},
        {"http://foo.com/blah_blah,",
         {},
         R"~(<a href="http://foo.com/blah_blah">http://foo.com/blah_blah</a>,)~"},
        {"http://www.example.com/wpstyle/?p=364.",
         {},
         R"~(<a href="http://www.example.com/wpstyle/?p=364">http://www.example.com/wpstyle/?p=364</a>.)~"},
        {"rdar://1234", permit({"http", "rdar"}), R"~(<a href="rdar://1234">rdar://1234</a>)~"},
        {"rdar:/1234", permit({"rdar"}), R"~(<a href="rdar:/1234">rdar:/1234</a>)~"},
        {"http://userid:password@example.com:8080",
         {},
         R"~(<a href="http://userid:password@example.com:8080">http://userid:password@example.com:8080</a>)~"},
        {"http://userid@example.com",
         {},
         R"~(<a href="http://userid@example.com">http://userid@example.com</a>)~"},
        {"http://userid@example.com:8080",
         {},
         R"~(<a href="http://userid@example.com:8080">http://userid@example.com:8080</a>)~"},
        {"http://userid:password@example.com",
         {},
         R"~(<a href="http://userid:password@example.com">http://userid:password@example.com</a>)~"},
        {"message://%3c330e7f8409726r6a4ba78dkf1fd71420c1bf6ff@mail.gmail.com%3e",
         permit({"http", "message"}),
         R"~(<a href="message://%3c330e7f8409726r6a4ba78dkf1fd71420c1bf6ff@mail.gmail.com%3e">message://%3c330e7f8409726r6a4ba78dkf1fd71420c1bf6ff@mail.gmail.com%3e</a>)~"},
        {"http://\xe2\x9e\xa1.ws/\xe4\xa8\xb9",
         {},
         "<a href=\"http://\xe2\x9e\xa1.ws/\xe4\xa8\xb9\">http://\xe2\x9e\xa1.ws/\xe4\xa8\xb9</a>"},
        {"<tag>http://example.com</tag>",
         {},
         R"~(&lt;tag&gt;<a href="http://example.com">http://example.com</a>&lt;/tag&gt;)~"},
        {"Just a www.example.com link.",
         {},
         R"~(Just a <a href="http://www.example.com">www.example.com</a> link.)~"},
        {"Just a www.example.com link.", require_protocol, "Just a www.example.com link."},
        {"A http://reallylong.com/link/that/exceedsthelenglimit.html", shorten_with_protocol,
         R"~(A <a href="http://reallylong.com/link/that/exceedsthelenglimit.html" title="http://reallylong.com/link/that/exceedsthelenglimit.html">http://reallylong.com/link...</a>)~"},
        {"A http://reallylongdomainnamethatwillbetoolong.com/hi!", shorten,
         R"~(A <a href="http://reallylongdomainnamethatwillbetoolong.com/hi" title="http://reallylongdomainnamethatwillbetoolong.com/hi">http://reallylongdomainnametha...</a>!)~"},
        {"A file:///passwords.txt and http://web.com link",
         {},
         R"~(A file:///passwords.txt and <a href="http://web.com">http://web.com</a> link)~"},
        {"A file:///passwords.txt and http://web.com link", permit({"file"}),
         R"~(A <a href="file:///passwords.txt">file:///passwords.txt</a> and http://web.com link)~"},
        {"www.external-link.com", external,
         R"~(<a href="http://www.external-link.com" rel="nofollow" class="external">www.external-link.com</a>)~"},
        {"www.external-link.com and www.internal-link.com/blogs extra", by_href,
         R"~(<a href="http://www.external-link.com" rel="nofollow" class="external">www.external-link.com</a> and <a href="http://www.internal-link.com/blogs" class="internal">www.internal-link.com/blogs</a> extra)~"},
        {"www.external-link.com", padded,
         R"~(<a href="http://www.external-link.com" rel="nofollow" class="external">www.external-link.com</a>)~"},
    };
    for (const auto& test : cases) {
        INFO(test.text);
        CHECK(linkify(test.text, test.options) == test.expected);
    }
}

TEST_CASE("linkify escapes text and refuses dangerous protocols", "[web][escape]") {
    CHECK(linkify("javascript:alert(1)") == "javascript:alert(1)");
    CHECK(linkify("javascript://%0aalert(1)") == "javascript://%0aalert(1)");
    CHECK(linkify("<script>") == "&lt;script&gt;");
    CHECK(
        linkify("http://a.com/\"onmouseover=\"x") ==
        R"~(<a href="http://a.com/&quot;onmouseover=&quot;x">http://a.com/&quot;onmouseover=&quot;x</a>)~");
    CHECK(linkify("") == "");
    CHECK(linkify("no links here") == "no links here");
    CHECK(linkify("http:") == "http:");
    CHECK(linkify("http://") == R"~(<a href="http://">http://</a>)~");  // as Tornado does
    CHECK(linkify("-http://x") == R"~(-<a href="http://x">http://x</a>)~");
    CHECK(linkify("ab-cd://x y") == "ab-cd://x y");
    CHECK(linkify("x http://a.b/(c)d.") == R"~(x <a href="http://a.b/(c)d">http://a.b/(c)d</a>.)~");
    CHECK(linkify("http://x&lt;y") == R"~(<a href="http://x&amp;lt;y">http://x&amp;lt;y</a>)~");
    CHECK(linkify("http:///") == R"~(<a href="http:///">http:///</a>)~");
    // A non-breaking space (U+00A0) separates words like an ASCII space.
    CHECK(linkify("\xc2\xa0http://a.com\xc2\xa0x") ==
          "\xc2\xa0<a href=\"http://a.com\">http://a.com</a>\xc2\xa0x");
}

TEST_CASE("linkify runs in linear time on pathological input", "[web][escape]") {
    auto start = std::chrono::steady_clock::now();
    std::string words(200000, 'a');
    std::string parentheses = "http://x" + std::string(200000, '(');
    std::string punctuation = "http://x/" + std::string(200000, '.');
    std::string colons;
    for (int i = 0; i < 50000; ++i) {
        colons += "a:/(";
    }
    CHECK(linkify(words) == words);
    CHECK(linkify(parentheses).size() > parentheses.size());
    CHECK(linkify(punctuation).size() > punctuation.size());
    CHECK(!linkify(colons).empty());
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}
