#pragma once
/// Cookies: parsing a request's Cookie header (leniently, like browsers and Tornado) and building
/// Set-Cookie values (strictly: a bad name or attribute is a programming error).

#include <gale/ioloop/errors.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gale::web {

/// A cookie name, value or attribute cannot be written into a Set-Cookie header; the message
/// names the cookie and the offending part.
class CookieError : public Error {
  public:
    using Error::Error;
};

/// One name=value pair from a Cookie header.
struct Cookie {
    std::string name;
    std::string value;
    bool operator==(const Cookie&) const = default;
};

struct CookieParseOptions {
    /// Pairs after this many are ignored (browsers send at most a few hundred per host).
    std::size_t max_cookies = 300;
};

/// Parses a Cookie header like browsers and Tornado (not RFC 6265's strict grammar): pairs are
/// separated by ";", split at the first "=", and trimmed; a pair without "=" has an empty name;
/// empty pairs are skipped; a value in double quotes is unquoted (backslash escapes and \ooo
/// octal escapes, as Python's http.cookies). Never throws; linear time. Every pair is kept, in
/// order: a browser sends the cookie with the most specific path first.
std::vector<Cookie> parse_cookie_header(std::string_view header,
                                        const CookieParseOptions& options = {});

/// The value of the first cookie called `name` (the most specific one), or nullopt.
/// Tornado's dict keeps the last one instead.
std::optional<std::string> find_cookie(const std::vector<Cookie>& cookies, std::string_view name);

/// The SameSite attribute; `unset` writes none (the browser's default, Lax in modern browsers).
enum class SameSite { unset, lax, strict, none };

/// Attributes of a Set-Cookie header.
struct CookieOptions {
    /// Empty: no Domain attribute (a host-only cookie).
    std::string domain{};
    /// Empty: no Path attribute.
    std::string path = "/";
    std::optional<std::chrono::system_clock::time_point> expires{};
    std::optional<std::chrono::seconds> max_age{};
    bool secure = false;
    bool http_only = false;
    /// `none` requires `secure` (browsers drop the cookie otherwise).
    SameSite same_site = SameSite::unset;
};

/// The value of a Set-Cookie header: "name=value; Domain=...; Path=/; Expires=...; Max-Age=...;
/// Secure; HttpOnly; SameSite=...". The name must be an RFC 7230 token. A value made only of
/// characters Python's http.cookies leaves alone is written as is; any other value is written
/// in double quotes with '"', '\' and non-printable or non-ASCII bytes escaped (as Tornado does),
/// and `parse_cookie_header` reads it back unchanged. Throws `CookieError` for an invalid name,
/// a value containing spaces or control characters, a domain or path with control characters
/// or ';', or SameSite=None without Secure.
std::string format_set_cookie(std::string_view name, std::string_view value,
                              const CookieOptions& options = {});

/// A Set-Cookie value that deletes the cookie: an empty value, Expires in 1970 and Max-Age=0.
/// `options` must carry the domain and path the cookie was set with; its expiry is ignored.
std::string format_delete_cookie(std::string_view name, const CookieOptions& options = {});

/// An IMF-fixdate (RFC 7231 §7.1.1.1), e.g. "Sun, 06 Nov 1994 08:49:37 GMT"; sub-second parts
/// are dropped (rounding down).
std::string format_cookie_date(std::chrono::system_clock::time_point time);

}  // namespace gale::web
