// URL parsing, recomposition and reference resolution (RFC 3986), and query strings.

#include <gale/web/url.hpp>

#include <gale/web/escape.hpp>

#include "web/escape_internal.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>

namespace gale::web {

namespace {

using detail::quote_for_message;

[[noreturn]] void fail(std::string_view text, const std::string& reason) {
    throw UrlError("invalid URL " + quote_for_message(text, 200) + ": " + reason);
}

bool is_scheme_character(char c) {
    return detail::is_ascii_alphanumeric(c) || c == '+' || c == '-' || c == '.';
}

bool is_unreserved(char c) {
    return detail::is_ascii_alphanumeric(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

bool is_sub_delimiter(char c) {
    return std::string_view("!$&'()*+,;=").find(c) != std::string_view::npos;
}

void check_characters(std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        auto byte = static_cast<unsigned char>(text[i]);
        if (byte <= 0x20 || byte == 0x7F) {
            fail(text, "control character or space at offset " + std::to_string(i));
        }
    }
}

// Returns the scheme length (0 if the text has no scheme).
std::size_t scan_scheme(std::string_view text) {
    std::size_t colon = text.find_first_of(":/?#");
    if (colon == std::string_view::npos || text[colon] != ':') {
        return 0;
    }
    if (colon == 0) {
        fail(text, "empty scheme");
    }
    if (!detail::is_ascii_alpha(text[0]) ||
        !std::all_of(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(colon),
                     is_scheme_character)) {
        fail(text, "invalid scheme " + quote_for_message(text.substr(0, colon)));
    }
    return colon;
}

void check_ipv6_literal(std::string_view text, std::string_view literal) {
    // An RFC 6874 zone identifier ("%25eth0") may follow the address.
    std::string_view address = literal;
    std::size_t zone = literal.find('%');
    if (zone != std::string_view::npos) {
        std::string_view zone_id = literal.substr(zone);
        if (!zone_id.starts_with("%25") || zone_id.size() == 3 ||
            !std::all_of(zone_id.begin() + 3, zone_id.end(),
                         [](char c) { return is_unreserved(c) || c == '%'; })) {
            fail(text, "invalid IPv6 zone identifier");
        }
        address = literal.substr(0, zone);
    }
    in6_addr parsed{};
    if (std::string copy(address); inet_pton(AF_INET6, copy.c_str(), &parsed) != 1) {
        fail(text, "invalid IPv6 address " + quote_for_message(literal));
    }
}

void check_host_characters(std::string_view text, std::string_view host) {
    for (std::size_t i = 0; i < host.size(); ++i) {
        char c = host[i];
        if (c == '%') {
            if (i + 2 >= host.size() || detail::hex_value(host[i + 1]) < 0 ||
                detail::hex_value(host[i + 2]) < 0) {
                fail(text, "bad percent-encoding in host");
            }
            continue;
        }
        if (!is_unreserved(c) && !is_sub_delimiter(c)) {
            fail(text,
                 "character " + quote_for_message(host.substr(i, 1)) + " not allowed in host");
        }
    }
}

std::optional<std::uint16_t> parse_port(std::string_view text, std::string_view digits) {
    if (digits.empty()) {
        return std::nullopt;  // "host:" means the default port (RFC 3986 §3.2.3)
    }
    unsigned long value = 0;
    for (char c : digits) {
        if (!detail::is_ascii_digit(c)) {
            fail(text, "port " + quote_for_message(digits) + " is not a number");
        }
        value = value * 10 + static_cast<unsigned long>(c - '0');
        if (value > 65535) {
            fail(text, "port " + quote_for_message(digits) + " is greater than 65535");
        }
    }
    return static_cast<std::uint16_t>(value);
}

void parse_authority(std::string_view text, std::string_view authority, Url& url) {
    url.has_authority = true;
    std::size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
        url.userinfo = authority.substr(0, at);
        authority.remove_prefix(at + 1);
    }
    std::string_view port;
    if (authority.starts_with("[")) {
        std::size_t close = authority.find(']');
        if (close == std::string_view::npos) {
            fail(text, "unterminated IPv6 literal");
        }
        std::string_view literal = authority.substr(1, close - 1);
        if (literal.starts_with("v") || literal.starts_with("V")) {
            fail(text, "IPvFuture addresses are not supported");
        }
        check_ipv6_literal(text, literal);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty() && after.front() != ':') {
            fail(text, "unexpected characters after the IPv6 literal");
        }
        port = after.empty() ? after : after.substr(1);
        url.host = detail::ascii_lowercase(literal);
    } else {
        std::size_t colon = authority.find(':');
        std::string_view host = authority.substr(0, colon);
        if (colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
        }
        check_host_characters(text, host);
        url.host = detail::ascii_lowercase(host);
    }
    url.port = parse_port(text, port);
}

bool requires_host(std::string_view scheme) {
    return scheme == "http" || scheme == "https" || scheme == "ws" || scheme == "wss";
}

// RFC 3986 §5.2.3.
std::string merge_paths(const Url& base, std::string_view reference_path) {
    if (base.has_authority && base.path.empty()) {
        return "/" + std::string(reference_path);
    }
    std::size_t last_slash = base.path.rfind('/');
    if (last_slash == std::string::npos) {
        return std::string(reference_path);
    }
    return base.path.substr(0, last_slash + 1) + std::string(reference_path);
}

void remove_last_segment(std::string& output) {
    std::size_t last_slash = output.rfind('/');
    output.resize(last_slash == std::string::npos ? 0 : last_slash);
}

}  // namespace

Url Url::parse(std::string_view text) {
    check_characters(text);
    Url url;
    std::string_view rest = text;
    if (std::size_t scheme_length = scan_scheme(text); scheme_length > 0) {
        url.scheme = detail::ascii_lowercase(text.substr(0, scheme_length));
        rest.remove_prefix(scheme_length + 1);
    }
    if (std::size_t hash = rest.find('#'); hash != std::string_view::npos) {
        url.fragment = std::string(rest.substr(hash + 1));
        rest = rest.substr(0, hash);
    }
    if (std::size_t question = rest.find('?'); question != std::string_view::npos) {
        url.query = std::string(rest.substr(question + 1));
        rest = rest.substr(0, question);
    }
    if (rest.starts_with("//")) {
        std::size_t path_start = rest.find('/', 2);
        parse_authority(text, rest.substr(2, path_start - 2), url);
        rest = path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);
    }
    if (url.has_authority && url.host.empty() && requires_host(url.scheme)) {
        fail(text, "missing host");
    }
    url.path = rest;
    return url;
}

std::string Url::host_and_port() const {
    std::string result = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if (port) {
        result += ":" + std::to_string(*port);
    }
    return result;
}

std::string Url::authority() const {
    if (!has_authority) {
        return {};
    }
    return userinfo.empty() ? host_and_port() : userinfo + "@" + host_and_port();
}

std::string Url::to_string() const {
    std::string result;
    if (!scheme.empty()) {
        result += scheme + ":";
    }
    if (has_authority) {
        result += "//" + authority();
    } else if (path.starts_with("//")) {
        result += "/.";  // keeps "//" from being read back as an authority
    }
    result += path;
    if (query) {
        result += "?" + *query;
    }
    if (fragment) {
        result += "#" + *fragment;
    }
    return result;
}

std::optional<std::uint16_t> Url::effective_port() const {
    if (port) {
        return port;
    }
    if (scheme == "http" || scheme == "ws") {
        return 80;
    }
    if (scheme == "https" || scheme == "wss") {
        return 443;
    }
    return std::nullopt;
}

std::string Url::request_target() const {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string raw = path.empty() ? "/" : path;
    if (query) {
        raw += "?" + *query;
    }
    std::string result;
    result.reserve(raw.size());
    for (char c : raw) {
        auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x80) {
            result += '%';
            result += digits[byte >> 4];
            result += digits[byte & 0x0F];
        } else {
            result += c;
        }
    }
    return result;
}

std::string Url::decoded_path() const {
    return url_unescape(path, false);
}

std::string Url::username() const {
    return url_unescape(std::string_view(userinfo).substr(0, userinfo.find(':')), false);
}

std::string Url::password() const {
    std::size_t colon = userinfo.find(':');
    return colon == std::string::npos
               ? std::string()
               : url_unescape(std::string_view(userinfo).substr(colon + 1), false);
}

Url Url::resolve(const Url& reference) const {
    if (!is_absolute()) {
        throw UrlError("cannot resolve against the relative URL " +
                       quote_for_message(to_string(), 200));
    }
    Url target;
    if (reference.is_absolute()) {
        target = reference;
        target.path = remove_dot_segments(reference.path);
        return target;
    }
    if (reference.has_authority) {
        target = reference;
        target.path = remove_dot_segments(reference.path);
    } else {
        target = *this;
        if (reference.path.empty()) {
            target.query = reference.query ? reference.query : query;
        } else {
            target.path = reference.path.starts_with("/")
                              ? remove_dot_segments(reference.path)
                              : remove_dot_segments(merge_paths(*this, reference.path));
            target.query = reference.query;
        }
    }
    target.scheme = scheme;
    target.fragment = reference.fragment;
    return target;
}

std::string remove_dot_segments(std::string_view input) {
    std::string output;
    output.reserve(input.size());
    while (!input.empty()) {
        if (input.starts_with("../")) {
            input.remove_prefix(3);
        } else if (input.starts_with("./") || input.starts_with("/./")) {
            input.remove_prefix(2);
        } else if (input == "/.") {
            input = "/";
        } else if (input.starts_with("/../")) {
            input.remove_prefix(3);
            remove_last_segment(output);
        } else if (input == "/..") {
            input = "/";
            remove_last_segment(output);
        } else if (input == "." || input == "..") {
            input = {};
        } else {
            std::size_t segment_end = input.find('/', 1);
            if (segment_end == std::string_view::npos) {
                segment_end = input.size();
            }
            output.append(input.substr(0, segment_end));
            input.remove_prefix(segment_end);
        }
    }
    return output;
}

std::size_t Arguments::find_index(std::string_view name) const {
    if (!index_.empty()) {
        auto found = index_.find(std::string(name));
        return found == index_.end() ? std::string::npos : found->second;
    }
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        if (entries_[i].name == name) {
            return i;
        }
    }
    return std::string::npos;
}

void Arguments::add(std::string name, std::string value) {
    if (std::size_t found = find_index(name); found != std::string::npos) {
        entries_[found].values.push_back(std::move(value));
        return;
    }
    entries_.push_back(Entry{std::move(name), {std::move(value)}});
    if (!index_.empty()) {
        index_.emplace(entries_.back().name, entries_.size() - 1);
    } else if (entries_.size() > linear_search_limit) {
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            index_.emplace(entries_[i].name, i);
        }
    }
}

void Arguments::merge(const Arguments& other) {
    for (const Entry& entry : other.entries_) {
        for (const std::string& value : entry.values) {
            add(entry.name, value);
        }
    }
}

const std::vector<std::string>* Arguments::find(std::string_view name) const {
    std::size_t found = find_index(name);
    return found == std::string::npos ? nullptr : &entries_[found].values;
}

std::optional<std::string> Arguments::last(std::string_view name) const {
    const auto* values = find(name);
    if (values == nullptr) {
        return std::nullopt;
    }
    return values->back();
}

std::vector<std::string> Arguments::all(std::string_view name) const {
    const auto* values = find(name);
    return values == nullptr ? std::vector<std::string>{} : *values;
}

Arguments parse_query_string(std::string_view text, const QueryStringOptions& options) {
    Arguments arguments;
    if (text.empty()) {
        return arguments;
    }
    // Count first, so an oversized input costs no allocation.
    auto fields = static_cast<std::size_t>(std::count(text.begin(), text.end(), '&')) + 1;
    if (fields > options.max_fields) {
        throw QueryStringError("query string has " + std::to_string(fields) +
                               " fields, more than the limit of " +
                               std::to_string(options.max_fields));
    }
    while (true) {
        std::size_t ampersand = text.find('&');
        std::string_view field = text.substr(0, ampersand);
        if (!field.empty()) {
            std::size_t equals = field.find('=');
            bool blank = equals == std::string_view::npos || equals + 1 == field.size();
            if (!blank || options.keep_blank_values) {
                std::string_view value = equals == std::string_view::npos
                                             ? std::string_view()
                                             : field.substr(equals + 1);
                arguments.add(url_unescape(field.substr(0, equals)), url_unescape(value));
            }
        }
        if (ampersand == std::string_view::npos) {
            break;
        }
        text.remove_prefix(ampersand + 1);
    }
    return arguments;
}

std::string encode_query_string(const std::vector<std::pair<std::string, std::string>>& arguments) {
    std::string result;
    for (const auto& [name, value] : arguments) {
        if (!result.empty()) {
            result += '&';
        }
        result += url_escape(name) + "=" + url_escape(value);
    }
    return result;
}

std::string url_concat(std::string_view url,
                       const std::vector<std::pair<std::string, std::string>>& arguments) {
    if (arguments.empty()) {
        return std::string(url);
    }
    std::size_t hash = url.find('#');
    std::string_view before_fragment = url.substr(0, hash);
    std::string result(before_fragment);
    std::size_t question = before_fragment.find('?');
    if (question == std::string_view::npos) {
        result += '?';
    } else if (question + 1 < before_fragment.size() && before_fragment.back() != '&') {
        result += '&';
    }
    result += encode_query_string(arguments);
    if (hash != std::string_view::npos) {
        result.append(url.substr(hash));
    }
    return result;
}

}  // namespace gale::web
