// Fuzzes the client's cookie jar: Set-Cookie values (one per input line) stored from a few
// URLs, then Cookie headers computed; nothing may crash, and every stored cookie must match
// the rules it was stored under (a name, a domain the setting host matches).

#include <gale/httpclient/cookie_jar.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const gale::web::Url urls[] = {
        gale::web::Url::parse("http://www.example.com/a/b"),
        gale::web::Url::parse("https://example.com/"),
        gale::web::Url::parse("http://127.0.0.1:8080/x/"),
    };
    gale::httpclient::CookieJar::Limits limits;
    limits.max_cookies = 20;
    limits.max_per_domain = 8;
    gale::httpclient::CookieJar jar(limits);
    std::string_view input(reinterpret_cast<const char*>(data), size);
    std::size_t index = 0;
    while (!input.empty()) {
        std::size_t end = input.find('\n');
        std::string_view line = input.substr(0, end);
        jar.set_cookie(urls[index++ % 3], line);
        input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
    }
    for (const auto& cookie : jar.cookies()) {
        if (cookie.name.empty() || cookie.domain.empty() || cookie.path.empty() ||
            cookie.path.front() != '/') {
            std::abort();
        }
    }
    if (jar.size() > limits.max_cookies) {
        std::abort();
    }
    for (const auto& url : urls) {
        (void)jar.cookie_header(url);
    }
    return 0;
}
