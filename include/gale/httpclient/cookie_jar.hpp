#pragma once
/// `CookieJar`: stores the cookies servers set (Set-Cookie) and sends back the ones that
/// match a URL (RFC 6265 §5: domain and path matching, host-only cookies, Secure, Expires and
/// Max-Age). Off by default; give one to `ClientOptions::cookie_jar` to switch it on (a
/// crawler behind a login, a session-based API).
///
/// Not implemented: the public suffix list (a Domain attribute is accepted when the request
/// host domain-matches it and it contains a dot, so "com" is refused but "co.uk" is not),
/// SameSite (a client is never cross-site), persistence.

#include <gale/web/url.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gale::httpclient {

struct StoredCookie {
    std::string name;
    std::string value;
    /// Lowercased, without a leading dot.
    std::string domain;
    std::string path = "/";
    /// Without a Domain attribute the cookie goes back to exactly its host.
    bool host_only = true;
    bool secure = false;
    bool http_only = false;
    /// nullopt: a session cookie.
    std::optional<std::chrono::system_clock::time_point> expires;
};

class CookieJar {
  public:
    struct Limits {
        /// Cookies kept overall and per domain; the oldest go first beyond them.
        std::size_t max_cookies = 3000;
        std::size_t max_per_domain = 50;
        /// Longer Set-Cookie values are ignored.
        std::size_t max_cookie_size = 4096;
    };
    CookieJar() = default;
    explicit CookieJar(Limits limits) : limits_(limits) {}

    /// Stores the cookie of one Set-Cookie value received from `url`. Returns false when it
    /// was ignored (malformed, too large, a Domain the host does not match, a Secure cookie
    /// from http). An expired cookie deletes a stored one of the same name, domain and path.
    bool set_cookie(const web::Url& url, std::string_view set_cookie);
    /// The Cookie header value for a request to `url` ("a=1; b=2"), longest paths first; empty
    /// when no cookie matches.
    std::string cookie_header(const web::Url& url) const;

    /// Every stored, unexpired cookie.
    std::vector<StoredCookie> cookies() const;
    std::size_t size() const noexcept { return cookies_.size(); }
    void clear() noexcept { cookies_.clear(); }

  private:
    struct Entry {
        StoredCookie cookie;
        std::uint64_t created = 0;  // insertion order, for eviction and ordering
    };
    void evict(const std::string& domain);
    static bool expired(const StoredCookie& cookie,
                        std::chrono::system_clock::time_point now) noexcept;

    Limits limits_;
    std::vector<Entry> cookies_;
    std::uint64_t counter_ = 0;
};

}  // namespace gale::httpclient
