#include "crawler/links.hpp"

#include <cctype>
#include <cstdint>

namespace crawler {
namespace {

char lower(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) {
        return false;
    }
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (lower(text[i]) != prefix[i]) {
            return false;
        }
    }
    return true;
}

// Position of `needle` (lowercase) in `text` at or after `from`, ignoring case; npos if none.
std::size_t find_ignoring_case(std::string_view text, std::string_view needle, std::size_t from) {
    while (from + needle.size() <= text.size()) {
        std::size_t candidate = text.find('<', from);
        if (candidate == std::string_view::npos) {
            return std::string_view::npos;
        }
        if (starts_with_ignoring_case(text.substr(candidate), needle)) {
            return candidate;
        }
        from = candidate + 1;
    }
    return std::string_view::npos;
}

void append_utf8(std::string& out, std::uint32_t code) {
    if (code == 0 || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
        code = 0xFFFD;
    }
    if (code < 0x80) {
        out += static_cast<char>(code);
    } else if (code < 0x800) {
        out += static_cast<char>(0xC0 | (code >> 6));
        out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
        out += static_cast<char>(0xE0 | (code >> 12));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (code >> 18));
        out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
    }
}

// One tag's attributes, from just after the tag name to '>' (or the end).
struct TagScan {
    std::string href;
    bool has_href = false;
    std::size_t end = 0;  // just after '>'
};

TagScan scan_attributes(std::string_view html, std::size_t position) {
    TagScan scan;
    while (position < html.size()) {
        while (position < html.size() && (is_space(html[position]) || html[position] == '/')) {
            ++position;
        }
        if (position >= html.size()) {
            break;
        }
        if (html[position] == '>') {
            scan.end = position + 1;
            return scan;
        }
        std::size_t name_start = position;
        while (position < html.size() && !is_space(html[position]) && html[position] != '=' &&
               html[position] != '>' && html[position] != '/') {
            ++position;
        }
        std::string_view name = html.substr(name_start, position - name_start);
        while (position < html.size() && is_space(html[position])) {
            ++position;
        }
        std::string_view value;
        if (position < html.size() && html[position] == '=') {
            ++position;
            while (position < html.size() && is_space(html[position])) {
                ++position;
            }
            if (position < html.size() && (html[position] == '"' || html[position] == '\'')) {
                char quote = html[position++];
                std::size_t close = html.find(quote, position);
                if (close == std::string_view::npos) {
                    close = html.size();
                }
                value = html.substr(position, close - position);
                position = close + 1;
            } else {
                std::size_t start = position;
                while (position < html.size() && !is_space(html[position]) &&
                       html[position] != '>') {
                    ++position;
                }
                value = html.substr(start, position - start);
            }
        }
        if (!scan.has_href && name.size() == 4 && starts_with_ignoring_case(name, "href")) {
            scan.has_href = true;
            scan.href = decode_character_references(value);
        }
    }
    scan.end = html.size();
    return scan;
}

}  // namespace

std::string decode_character_references(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '&') {
            out += text[i];
            continue;
        }
        std::size_t semicolon = text.find(';', i);
        if (semicolon == std::string_view::npos || semicolon - i > 10) {
            out += '&';
            continue;
        }
        std::string_view entity = text.substr(i + 1, semicolon - i - 1);
        std::size_t before = out.size();
        if (entity == "amp") {
            out += '&';
        } else if (entity == "lt") {
            out += '<';
        } else if (entity == "gt") {
            out += '>';
        } else if (entity == "quot") {
            out += '"';
        } else if (entity == "apos") {
            out += '\'';
        } else if (entity.size() >= 2 && entity[0] == '#') {
            bool hex = entity[1] == 'x' || entity[1] == 'X';
            std::string_view digits = entity.substr(hex ? 2 : 1);
            std::uint32_t code = 0;
            bool valid = !digits.empty();
            for (char c : digits) {
                int value = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                            : hex && std::isxdigit(static_cast<unsigned char>(c))
                                ? lower(c) - 'a' + 10
                                : -1;
                if (value < 0 || code > 0x10FFFF) {
                    valid = false;
                    break;
                }
                code = code * (hex ? 16 : 10) + static_cast<std::uint32_t>(value);
            }
            if (valid) {
                append_utf8(out, code);
            }
        }
        if (out.size() == before) {
            out += '&';  // not a reference we know: keep it as written
            continue;
        }
        i = semicolon;
    }
    return out;
}

PageLinks extract_links(std::string_view html) {
    PageLinks links;
    std::size_t position = 0;
    while (true) {
        position = html.find('<', position);
        if (position == std::string_view::npos) {
            break;
        }
        std::string_view rest = html.substr(position);
        if (rest.starts_with("<!--")) {
            std::size_t end = html.find("-->", position + 4);
            position = end == std::string_view::npos ? html.size() : end + 3;
            continue;
        }
        bool script = starts_with_ignoring_case(rest, "<script");
        bool style = starts_with_ignoring_case(rest, "<style");
        if (script || style) {
            std::size_t end =
                find_ignoring_case(html, script ? "</script" : "</style", position + 1);
            position = end == std::string_view::npos ? html.size() : end + 1;
            continue;
        }
        std::size_t name_length = 0;
        if (rest.size() > 2 && lower(rest[1]) == 'a' && (is_space(rest[2]) || rest[2] == '>')) {
            name_length = 2;
        } else if (starts_with_ignoring_case(rest, "<area") && rest.size() > 5 &&
                   is_space(rest[5])) {
            name_length = 5;
        } else if (starts_with_ignoring_case(rest, "<base") && rest.size() > 5 &&
                   is_space(rest[5])) {
            TagScan scan = scan_attributes(html, position + 5);
            if (scan.has_href && links.base.empty()) {
                links.base = scan.href;
            }
            position = scan.end;
            continue;
        }
        if (name_length == 0) {
            ++position;
            continue;
        }
        TagScan scan = scan_attributes(html, position + name_length);
        if (scan.has_href) {
            links.hrefs.push_back(std::move(scan.href));
        }
        position = scan.end;
    }
    return links;
}

}  // namespace crawler
