// libFuzzer target: the small parsers that see request data: query strings, Cookie headers,
// URLs (parse, recompose, resolve), escapes, linkify, signed values and XSRF tokens.
//
// Invariants besides "no crash, no leak, no sanitizer report": parsed URLs recompose to text
// that parses to the same URL; url_escape and xhtml_escape round-trip; the field and cookie
// limits hold; only the documented exceptions are thrown.
#include <gale/web/cookies.hpp>
#include <gale/web/escape.hpp>
#include <gale/web/signed_value.hpp>
#include <gale/web/url.hpp>
#include <gale/web/xsrf.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

void check(bool condition) {
    if (!condition) {
        std::abort();
    }
}

void fuzz_url(std::string_view input) {
    using gale::web::Url;
    try {
        Url url = Url::parse(input);
        Url again = Url::parse(url.to_string());
        check(again == url);
        url.request_target();
        url.decoded_path();
        url.username();
        url.password();
        static const Url base = Url::parse("http://a/b/c/d;p?q");
        base.resolve(url).to_string();
        if (url.is_absolute()) {
            url.resolve("../x?y#z").to_string();
        }
    } catch (const gale::web::UrlError&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);

    try {
        auto arguments = gale::web::parse_query_string(input, {.max_fields = 64});
        check(arguments.size() <= 64);
    } catch (const gale::web::QueryStringError&) {
    }

    auto cookies = gale::web::parse_cookie_header(input, {.max_cookies = 32});
    check(cookies.size() <= 32);

    fuzz_url(input);

    check(gale::web::url_unescape(gale::web::url_escape(input)) == input);
    check(gale::web::url_unescape(gale::web::url_escape(input, false), false) == input);
    check(gale::web::xhtml_unescape(gale::web::xhtml_escape(input)) == input);
    gale::web::xhtml_unescape(input);
    gale::web::squeeze(input);
    gale::web::LinkifyOptions shorten;
    shorten.shorten = true;
    gale::web::linkify(input, shorten);

    static const gale::web::SignedValueSecrets secrets("fuzz");
    gale::web::decode_signed_value(secrets, "name", input);
    gale::web::signed_value_key_version(input);
    gale::web::decode_xsrf_token(input);
    gale::web::check_xsrf_token(input, input);
    return 0;
}
