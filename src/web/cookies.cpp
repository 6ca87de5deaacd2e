// Cookie header parsing and Set-Cookie formatting.

#include <gale/web/cookies.hpp>

#include "web/escape_internal.hpp"

#include <algorithm>
#include <cstdio>

namespace gale::web {

namespace {

using detail::quote_for_message;

bool is_cookie_whitespace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view strip(std::string_view text) {
    while (!text.empty() && is_cookie_whitespace(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_cookie_whitespace(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

bool is_octal_digit(char c) {
    return c >= '0' && c <= '7';
}

// Python's http.cookies._unquote: only a value wrapped in double quotes is decoded.
std::string unquote_cookie_value(std::string_view value) {
    if (value.size() < 2 || value.front() != '"' || value.back() != '"') {
        return std::string(value);
    }
    value = value.substr(1, value.size() - 2);
    std::string result;
    result.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] != '\\' || i + 1 == value.size()) {
            result += value[i];
            continue;
        }
        if (i + 3 < value.size() && value[i + 1] >= '0' && value[i + 1] <= '3' &&
            is_octal_digit(value[i + 2]) && is_octal_digit(value[i + 3])) {
            result += static_cast<char>((value[i + 1] - '0') * 64 + (value[i + 2] - '0') * 8 +
                                        (value[i + 3] - '0'));
            i += 3;
        } else {
            result += value[i + 1];
            i += 1;
        }
    }
    return result;
}

bool is_token_character(char c) {
    return detail::is_ascii_alphanumeric(c) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Python's http.cookies._LegalChars: values made of these are written unquoted.
bool is_legal_unquoted(char c) {
    return detail::is_ascii_alphanumeric(c) ||
           std::string_view("!#$%&'*+-.^_`|~:").find(c) != std::string_view::npos;
}

// Characters Python's _quote leaves as they are inside the quotes.
bool is_unescaped_in_quotes(char c) {
    return is_legal_unquoted(c) ||
           std::string_view(" ()/<=>?@[]{}").find(c) != std::string_view::npos;
}

bool has_control_character(std::string_view text) {
    return std::any_of(text.begin(), text.end(), [](char c) {
        auto byte = static_cast<unsigned char>(c);
        return byte < 0x20 || byte == 0x7F;
    });
}

std::string quote_cookie_value(std::string_view value) {
    if (std::all_of(value.begin(), value.end(), is_legal_unquoted)) {
        return std::string(value);
    }
    std::string result = "\"";
    for (char c : value) {
        if (c == '"' || c == '\\') {
            result += '\\';
            result += c;
        } else if (is_unescaped_in_quotes(c)) {
            result += c;
        } else {
            auto byte = static_cast<unsigned char>(c);
            result += '\\';
            result += static_cast<char>('0' + (byte >> 6));
            result += static_cast<char>('0' + ((byte >> 3) & 7));
            result += static_cast<char>('0' + (byte & 7));
        }
    }
    result += '"';
    return result;
}

void check_name(std::string_view name) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_character)) {
        throw CookieError("invalid cookie name " + quote_for_message(name) +
                          ": it must be a non-empty token (no spaces, controls or separators)");
    }
}

void check_value(std::string_view name, std::string_view value) {
    bool bad = std::any_of(value.begin(), value.end(), [](char c) {
        auto byte = static_cast<unsigned char>(c);
        return byte <= 0x20 || byte == 0x7F;
    });
    if (bad) {
        throw CookieError("invalid value for cookie \"" + std::string(name) +
                          "\": spaces and control characters are not allowed");
    }
}

void check_attribute(std::string_view name, std::string_view attribute, std::string_view value) {
    if (has_control_character(value) || value.find(';') != std::string_view::npos) {
        throw CookieError("invalid " + std::string(attribute) + " " + quote_for_message(value) +
                          " for cookie \"" + std::string(name) +
                          "\": control characters and ';' are not allowed");
    }
}

std::string_view same_site_name(SameSite same_site) {
    switch (same_site) {
        case SameSite::lax:
            return "Lax";
        case SameSite::strict:
            return "Strict";
        case SameSite::none:
            return "None";
        case SameSite::unset:
            break;
    }
    return {};
}

}  // namespace

std::vector<Cookie> parse_cookie_header(std::string_view header,
                                        const CookieParseOptions& options) {
    std::vector<Cookie> cookies;
    while (cookies.size() < options.max_cookies) {
        std::size_t semicolon = header.find(';');
        std::string_view chunk = header.substr(0, semicolon);
        std::size_t equals = chunk.find('=');
        // A pair without "=" has an empty name
        // (https://bugzilla.mozilla.org/show_bug.cgi?id=169091).
        std::string_view name =
            equals == std::string_view::npos ? std::string_view() : strip(chunk.substr(0, equals));
        std::string_view value =
            strip(equals == std::string_view::npos ? chunk : chunk.substr(equals + 1));
        if (!name.empty() || !value.empty()) {
            cookies.push_back(Cookie{std::string(name), unquote_cookie_value(value)});
        }
        if (semicolon == std::string_view::npos) {
            break;
        }
        header.remove_prefix(semicolon + 1);
    }
    return cookies;
}

std::optional<std::string> find_cookie(const std::vector<Cookie>& cookies, std::string_view name) {
    auto found = std::find_if(cookies.begin(), cookies.end(),
                              [&](const Cookie& cookie) { return cookie.name == name; });
    if (found == cookies.end()) {
        return std::nullopt;
    }
    return found->value;
}

std::string format_set_cookie(std::string_view name, std::string_view value,
                              const CookieOptions& options) {
    check_name(name);
    check_value(name, value);
    check_attribute(name, "domain", options.domain);
    check_attribute(name, "path", options.path);
    if (options.same_site == SameSite::none && !options.secure) {
        throw CookieError("cookie \"" + std::string(name) +
                          "\" has SameSite=None without Secure, which browsers reject");
    }
    std::string result = std::string(name) + "=" + quote_cookie_value(value);
    if (!options.domain.empty()) {
        result += "; Domain=" + options.domain;
    }
    if (!options.path.empty()) {
        result += "; Path=" + options.path;
    }
    if (options.expires) {
        result += "; Expires=" + format_cookie_date(*options.expires);
    }
    if (options.max_age) {
        result += "; Max-Age=" + std::to_string(options.max_age->count());
    }
    if (options.secure) {
        result += "; Secure";
    }
    if (options.http_only) {
        result += "; HttpOnly";
    }
    if (options.same_site != SameSite::unset) {
        result += "; SameSite=" + std::string(same_site_name(options.same_site));
    }
    return result;
}

std::string format_delete_cookie(std::string_view name, const CookieOptions& options) {
    CookieOptions expired = options;
    expired.expires = std::chrono::system_clock::time_point{};
    expired.max_age = std::chrono::seconds(0);
    return format_set_cookie(name, "", expired);
}

std::string format_cookie_date(std::chrono::system_clock::time_point time) {
    using namespace std::chrono;
    static constexpr const char* weekday_names[] = {"Sun", "Mon", "Tue", "Wed",
                                                    "Thu", "Fri", "Sat"};
    static constexpr const char* month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    auto whole_seconds = floor<seconds>(time);
    auto day = floor<days>(whole_seconds);
    year_month_day date{day};
    hh_mm_ss<seconds> clock{whole_seconds - day};
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "%s, %02u %s %04d %02ld:%02ld:%02lld GMT",
                  weekday_names[weekday{day}.c_encoding()], static_cast<unsigned>(date.day()),
                  month_names[static_cast<unsigned>(date.month()) - 1],
                  static_cast<int>(date.year()), static_cast<long>(clock.hours().count()),
                  static_cast<long>(clock.minutes().count()),
                  static_cast<long long>(clock.seconds().count()));
    return buffer;
}

}  // namespace gale::web
