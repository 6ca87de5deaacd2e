#include <gale/http/date.hpp>

#include <array>
#include <cstdio>
#include <cstring>

namespace gale::http {
namespace {

constexpr std::array<const char*, 7> day_names = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<const char*, 12> month_names = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

int month_index(std::string_view name) {
    for (int i = 0; i < 12; ++i) {
        if (name == month_names[static_cast<std::size_t>(i)]) {
            return i;
        }
    }
    return -1;
}

bool read_number(std::string_view& text, int digits, int& value) {
    if (text.size() < static_cast<std::size_t>(digits)) {
        return false;
    }
    value = 0;
    for (int i = 0; i < digits; ++i) {
        char c = text[static_cast<std::size_t>(i)];
        if (c < '0' || c > '9') {
            return false;
        }
        value = value * 10 + (c - '0');
    }
    text.remove_prefix(static_cast<std::size_t>(digits));
    return true;
}

bool expect(std::string_view& text, std::string_view literal) {
    if (text.substr(0, literal.size()) != literal) {
        return false;
    }
    text.remove_prefix(literal.size());
    return true;
}

// "HH:MM:SS"
bool read_time(std::string_view& text, std::tm& fields) {
    return read_number(text, 2, fields.tm_hour) && expect(text, ":") &&
           read_number(text, 2, fields.tm_min) && expect(text, ":") &&
           read_number(text, 2, fields.tm_sec) && fields.tm_hour < 24 && fields.tm_min < 60 &&
           fields.tm_sec <= 60;
}

bool read_month(std::string_view& text, std::tm& fields) {
    fields.tm_mon = month_index(text.substr(0, 3));
    if (fields.tm_mon < 0) {
        return false;
    }
    text.remove_prefix(3);
    return true;
}

std::optional<std::time_t> finish(const std::tm& fields, std::string_view rest) {
    if (!rest.empty() || fields.tm_mday < 1 || fields.tm_mday > 31) {
        return std::nullopt;
    }
    std::tm copy = fields;
    return timegm(&copy);
}

// "Sun, 06 Nov 1994 08:49:37 GMT"
std::optional<std::time_t> parse_imf_fixdate(std::string_view text) {
    std::tm fields{};
    int year = 0;
    if (text.size() < 5 || text[3] != ',') {
        return std::nullopt;
    }
    text.remove_prefix(4);
    if (!expect(text, " ") || !read_number(text, 2, fields.tm_mday) || !expect(text, " ") ||
        !read_month(text, fields) || !expect(text, " ") || !read_number(text, 4, year) ||
        !expect(text, " ") || !read_time(text, fields) || !expect(text, " GMT")) {
        return std::nullopt;
    }
    fields.tm_year = year - 1900;
    return finish(fields, text);
}

// "Sunday, 06-Nov-94 08:49:37 GMT"
std::optional<std::time_t> parse_rfc850(std::string_view text) {
    std::size_t comma = text.find(", ");
    if (comma == std::string_view::npos || comma < 6) {
        return std::nullopt;
    }
    text.remove_prefix(comma + 2);
    std::tm fields{};
    int year = 0;
    if (!read_number(text, 2, fields.tm_mday) || !expect(text, "-") || !read_month(text, fields) ||
        !expect(text, "-") || !read_number(text, 2, year) || !expect(text, " ") ||
        !read_time(text, fields) || !expect(text, " GMT")) {
        return std::nullopt;
    }
    // A two-digit year is in the current century unless that puts it more than 50 years
    // ahead: then it is the most recent past year with those digits (RFC 9110 §5.6.7).
    std::tm now{};
    const std::time_t seconds = std::time(nullptr);
    gmtime_r(&seconds, &now);
    const int this_year = now.tm_year + 1900;
    int full_year = this_year - this_year % 100 + year;
    if (full_year > this_year + 50) {
        full_year -= 100;
    }
    fields.tm_year = full_year - 1900;
    return finish(fields, text);
}

// "Sun Nov  6 08:49:37 1994"
std::optional<std::time_t> parse_asctime(std::string_view text) {
    if (text.size() != 24) {
        return std::nullopt;
    }
    text.remove_prefix(4);
    std::tm fields{};
    int year = 0;
    if (!read_month(text, fields) || !expect(text, " ")) {
        return std::nullopt;
    }
    if (text.front() == ' ') {
        text.remove_prefix(1);
        if (!read_number(text, 1, fields.tm_mday)) {
            return std::nullopt;
        }
    } else if (!read_number(text, 2, fields.tm_mday)) {
        return std::nullopt;
    }
    if (!expect(text, " ") || !read_time(text, fields) || !expect(text, " ") ||
        !read_number(text, 4, year)) {
        return std::nullopt;
    }
    fields.tm_year = year - 1900;
    return finish(fields, text);
}

}  // namespace

std::string format_http_date(std::time_t time) {
    std::tm fields{};
    gmtime_r(&time, &fields);
    char buffer[40];
    int length = std::snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                               day_names[static_cast<std::size_t>(fields.tm_wday)], fields.tm_mday,
                               month_names[static_cast<std::size_t>(fields.tm_mon)],
                               fields.tm_year + 1900, fields.tm_hour, fields.tm_min, fields.tm_sec);
    return std::string(buffer, static_cast<std::size_t>(length));
}

std::string_view http_date_now() {
    thread_local std::time_t cached_second = 0;
    thread_local std::string cached;
    std::time_t now = std::time(nullptr);
    if (now != cached_second) {
        cached = format_http_date(now);
        cached_second = now;
    }
    return cached;
}

std::optional<std::time_t> parse_http_date(std::string_view text) {
    if (auto parsed = parse_imf_fixdate(text)) {
        return parsed;
    }
    if (auto parsed = parse_rfc850(text)) {
        return parsed;
    }
    return parse_asctime(text);
}

}  // namespace gale::http
