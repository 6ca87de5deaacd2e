// The client's cookie jar (RFC 6265 §5, without the public suffix list).

#include <gale/http/headers.hpp>
#include <gale/httpclient/cookie_jar.hpp>

#include <algorithm>
#include <cctype>
#include <ctime>

namespace gale::httpclient {
namespace {

using SystemClock = std::chrono::system_clock;

// RFC 6265bis §5.5: no cookie lives longer than 400 days.
constexpr long long max_lifetime = 400LL * 24 * 3600;

std::string lowercase(std::string_view text) {
    std::string result(text);
    for (char& c : result) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return result;
}

bool is_delimiter(char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte == 0x09 || (byte >= 0x20 && byte <= 0x2F) || (byte >= 0x3B && byte <= 0x40) ||
           (byte >= 0x5B && byte <= 0x60) || (byte >= 0x7B && byte <= 0x7E);
}

// Leading digits of `token` (at least `min`, at most `max`), or -1.
int leading_number(std::string_view token, std::size_t min, std::size_t max, std::size_t* used) {
    std::size_t count = 0;
    int value = 0;
    while (count < token.size() && count < max &&
           std::isdigit(static_cast<unsigned char>(token[count]))) {
        value = value * 10 + (token[count] - '0');
        ++count;
    }
    if (count < min ||
        (count < token.size() && std::isdigit(static_cast<unsigned char>(token[count])))) {
        return -1;
    }
    *used = count;
    return value;
}

// RFC 6265 §5.1.1: the lenient cookie date algorithm (any order of time, day, month, year).
std::optional<SystemClock::time_point> parse_cookie_date(std::string_view text) {
    int hour = -1, minute = -1, second = -1, day = -1, month = -1, year = -1;
    static constexpr std::string_view months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                                  "jul", "aug", "sep", "oct", "nov", "dec"};
    while (!text.empty()) {
        while (!text.empty() && is_delimiter(text.front())) {
            text.remove_prefix(1);
        }
        std::size_t end = 0;
        while (end < text.size() && !is_delimiter(text[end])) {
            ++end;
        }
        std::string_view token = text.substr(0, end);
        text.remove_prefix(end);
        if (token.empty()) {
            continue;
        }
        std::size_t used = 0;
        if (hour < 0) {
            int h = leading_number(token, 1, 2, &used);
            if (h >= 0 && used < token.size() && token[used] == ':') {
                std::string_view rest = token.substr(used + 1);
                int m = leading_number(rest, 1, 2, &used);
                if (m >= 0 && used < rest.size() && rest[used] == ':') {
                    int s = leading_number(rest.substr(used + 1), 1, 2, &used);
                    if (s >= 0) {
                        hour = h, minute = m, second = s;
                        continue;
                    }
                }
            }
        }
        if (day < 0) {
            int d = leading_number(token, 1, 2, &used);
            if (d >= 0 && used == token.size()) {
                day = d;
                continue;
            }
        }
        if (month < 0 && token.size() >= 3) {
            std::string prefix = lowercase(token.substr(0, 3));
            auto found = std::find(std::begin(months), std::end(months), prefix);
            if (found != std::end(months)) {
                month = static_cast<int>(found - std::begin(months));
                continue;
            }
        }
        if (year < 0) {
            int y = leading_number(token, 2, 4, &used);
            if (y >= 0) {
                year = y;
                continue;
            }
        }
    }
    if (year >= 70 && year <= 99) {
        year += 1900;
    } else if (year >= 0 && year <= 69) {
        year += 2000;
    }
    if (hour < 0 || day < 1 || day > 31 || month < 0 || year < 1601 || hour > 23 || minute > 59 ||
        second > 59) {
        return std::nullopt;
    }
    std::tm fields{};
    fields.tm_year = year - 1900;
    fields.tm_mon = month;
    fields.tm_mday = day;
    fields.tm_hour = hour;
    fields.tm_min = minute;
    fields.tm_sec = second;
    std::time_t time = timegm(&fields);
    // Far past and far future dates do not fit the clock: the past is simply expired, and the
    // future is capped by the caller anyway.
    time = std::clamp<std::time_t>(time, 0, std::time_t{7'000'000'000});  // 1970 .. 2191
    return SystemClock::from_time_t(time);
}

bool is_ip_address(std::string_view host) {
    if (host.find(':') != std::string_view::npos) {
        return true;  // IPv6
    }
    return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
    });
}

// RFC 6265 §5.1.3.
bool domain_matches(std::string_view host, std::string_view domain) {
    if (host == domain) {
        return true;
    }
    return host.size() > domain.size() && host.ends_with(domain) &&
           host[host.size() - domain.size() - 1] == '.' && !is_ip_address(host);
}

// RFC 6265 §5.1.4.
std::string default_path(std::string_view path) {
    if (path.empty() || path.front() != '/') {
        return "/";
    }
    std::size_t last = path.rfind('/');
    return last == 0 ? "/" : std::string(path.substr(0, last));
}

bool path_matches(std::string_view request_path, std::string_view cookie_path) {
    if (request_path == cookie_path) {
        return true;
    }
    return request_path.starts_with(cookie_path) &&
           (cookie_path.back() == '/' || request_path[cookie_path.size()] == '/');
}

}  // namespace

bool CookieJar::expired(const StoredCookie& cookie, SystemClock::time_point now) noexcept {
    return cookie.expires && *cookie.expires <= now;
}

bool CookieJar::set_cookie(const web::Url& url, std::string_view set_cookie) {
    if (set_cookie.size() > limits_.max_cookie_size) {
        return false;
    }
    std::size_t semicolon = set_cookie.find(';');
    std::string_view pair = set_cookie.substr(0, semicolon);
    std::string_view attributes =
        semicolon == std::string_view::npos ? std::string_view() : set_cookie.substr(semicolon + 1);
    std::size_t equals = pair.find('=');
    if (equals == std::string_view::npos) {
        return false;
    }
    StoredCookie cookie;
    cookie.name = std::string(http::trim_whitespace(pair.substr(0, equals)));
    cookie.value = std::string(http::trim_whitespace(pair.substr(equals + 1)));
    if (cookie.name.empty()) {
        return false;
    }
    for (char c : cookie.name + cookie.value) {
        auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7F) {
            return false;
        }
    }
    SystemClock::time_point now = SystemClock::now();
    std::optional<SystemClock::time_point> max_age_expiry;
    std::string domain_attribute;
    std::optional<std::string> path_attribute;
    while (!attributes.empty()) {
        std::size_t next = attributes.find(';');
        std::string_view attribute = attributes.substr(0, next);
        attributes =
            next == std::string_view::npos ? std::string_view() : attributes.substr(next + 1);
        std::size_t eq = attribute.find('=');
        std::string name = lowercase(http::trim_whitespace(attribute.substr(0, eq)));
        std::string_view value = eq == std::string_view::npos
                                     ? std::string_view()
                                     : http::trim_whitespace(attribute.substr(eq + 1));
        if (name == "expires") {
            if (auto when = parse_cookie_date(value)) {
                cookie.expires = when;
            }
        } else if (name == "max-age") {
            bool negative = value.starts_with('-');
            std::string_view digits = negative ? value.substr(1) : value;
            if (!digits.empty() && digits.size() <= 12 &&
                std::all_of(digits.begin(), digits.end(),
                            [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
                long long seconds = std::stoll(std::string(digits));
                max_age_expiry = negative || seconds == 0
                                     ? SystemClock::time_point::min()
                                     : now + std::chrono::seconds(std::min(seconds, max_lifetime));
            }
        } else if (name == "domain") {
            std::string_view domain = value;
            if (domain.starts_with('.')) {
                domain.remove_prefix(1);
            }
            domain_attribute = lowercase(domain);
        } else if (name == "path") {
            if (value.starts_with('/')) {
                path_attribute = std::string(value);
            }
        } else if (name == "secure") {
            cookie.secure = true;
        } else if (name == "httponly") {
            cookie.http_only = true;
        }
    }
    if (max_age_expiry) {
        cookie.expires = max_age_expiry;  // Max-Age wins over Expires
    }
    if (cookie.expires && *cookie.expires > now + std::chrono::seconds(max_lifetime)) {
        cookie.expires = now + std::chrono::seconds(max_lifetime);  // RFC 6265bis: 400 days
    }
    const std::string& host = url.host;
    if (!domain_attribute.empty()) {
        bool dotless = domain_attribute.find('.') == std::string::npos;
        if (!domain_matches(host, domain_attribute) || (dotless && domain_attribute != host)) {
            return false;
        }
        cookie.domain = domain_attribute;
        cookie.host_only = domain_attribute == host;
    } else {
        cookie.domain = host;
        cookie.host_only = true;
    }
    if (cookie.secure && url.scheme != "https") {
        return false;  // RFC 6265bis: only a secure origin may set a Secure cookie
    }
    cookie.path = path_attribute ? *path_attribute : default_path(url.path);

    auto same = std::find_if(cookies_.begin(), cookies_.end(), [&](const Entry& entry) {
        return entry.cookie.name == cookie.name && entry.cookie.domain == cookie.domain &&
               entry.cookie.path == cookie.path;
    });
    if (expired(cookie, now)) {
        if (same != cookies_.end()) {
            cookies_.erase(same);
        }
        return true;
    }
    if (same != cookies_.end()) {
        same->cookie = std::move(cookie);  // keeps its creation order
        return true;
    }
    std::string domain = cookie.domain;
    cookies_.push_back(Entry{std::move(cookie), ++counter_});
    evict(domain);
    return true;
}

void CookieJar::evict(const std::string& domain) {
    SystemClock::time_point now = SystemClock::now();
    std::erase_if(cookies_, [&](const Entry& entry) { return expired(entry.cookie, now); });
    std::size_t in_domain = static_cast<std::size_t>(
        std::count_if(cookies_.begin(), cookies_.end(),
                      [&](const Entry& entry) { return entry.cookie.domain == domain; }));
    while (in_domain > limits_.max_per_domain) {
        auto oldest = std::find_if(cookies_.begin(), cookies_.end(), [&](const Entry& entry) {
            return entry.cookie.domain == domain;
        });
        cookies_.erase(oldest);
        --in_domain;
    }
    while (cookies_.size() > limits_.max_cookies) {
        cookies_.erase(cookies_.begin());  // entries are in creation order
    }
}

std::string CookieJar::cookie_header(const web::Url& url) const {
    if (cookies_.empty()) {
        return {};
    }
    SystemClock::time_point now = SystemClock::now();
    std::string path = url.path.empty() ? "/" : url.path;
    bool secure = url.scheme == "https";
    std::vector<const Entry*> matching;
    for (const Entry& entry : cookies_) {
        const StoredCookie& cookie = entry.cookie;
        bool domain_ok =
            cookie.host_only ? url.host == cookie.domain : domain_matches(url.host, cookie.domain);
        if (domain_ok && path_matches(path, cookie.path) && (!cookie.secure || secure) &&
            !expired(cookie, now)) {
            matching.push_back(&entry);
        }
    }
    std::stable_sort(matching.begin(), matching.end(), [](const Entry* a, const Entry* b) {
        if (a->cookie.path.size() != b->cookie.path.size()) {
            return a->cookie.path.size() > b->cookie.path.size();
        }
        return a->created < b->created;
    });
    std::string header;
    for (const Entry* entry : matching) {
        if (!header.empty()) {
            header += "; ";
        }
        header += entry->cookie.name;
        header += '=';
        header += entry->cookie.value;
    }
    return header;
}

std::vector<StoredCookie> CookieJar::cookies() const {
    SystemClock::time_point now = SystemClock::now();
    std::vector<StoredCookie> result;
    for (const Entry& entry : cookies_) {
        if (!expired(entry.cookie, now)) {
            result.push_back(entry.cookie);
        }
    }
    return result;
}

}  // namespace gale::httpclient
