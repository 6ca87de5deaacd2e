#pragma once
// Small byte-level helpers shared by the web building blocks (escape, url, cookies, multipart,
// signed values, xsrf). Private to src/web.

#include <cstddef>
#include <string>
#include <string_view>

namespace gale::web::detail {

/// The value of a hexadecimal digit, or -1.
constexpr int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

constexpr bool is_ascii_alpha(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

constexpr bool is_ascii_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

constexpr bool is_ascii_alphanumeric(char c) noexcept {
    return is_ascii_alpha(c) || is_ascii_digit(c);
}

constexpr char ascii_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// ASCII case-insensitive equality.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) {
            return false;
        }
    }
    return true;
}

inline std::string ascii_lowercase(std::string_view text) {
    std::string result(text);
    for (char& c : result) {
        c = ascii_lower(c);
    }
    return result;
}

/// Appends the UTF-8 encoding of a Unicode scalar value (the caller checked it is one).
inline void append_utf8(std::string& out, char32_t code_point) {
    auto byte = [](char32_t value) { return static_cast<char>(value); };
    if (code_point < 0x80) {
        out += byte(code_point);
    } else if (code_point < 0x800) {
        out += byte(0xC0 | (code_point >> 6));
        out += byte(0x80 | (code_point & 0x3F));
    } else if (code_point < 0x10000) {
        out += byte(0xE0 | (code_point >> 12));
        out += byte(0x80 | ((code_point >> 6) & 0x3F));
        out += byte(0x80 | (code_point & 0x3F));
    } else {
        out += byte(0xF0 | (code_point >> 18));
        out += byte(0x80 | ((code_point >> 12) & 0x3F));
        out += byte(0x80 | ((code_point >> 6) & 0x3F));
        out += byte(0x80 | (code_point & 0x3F));
    }
}

constexpr bool is_unicode_scalar_value(char32_t code_point) noexcept {
    return code_point <= 0x10FFFF && (code_point < 0xD800 || code_point > 0xDFFF);
}

/// Whether `text` is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF).
inline bool is_valid_utf8(std::string_view text) noexcept {
    std::size_t i = 0;
    while (i < text.size()) {
        auto byte = static_cast<unsigned char>(text[i]);
        if (byte < 0x80) {
            ++i;
            continue;
        }
        std::size_t length = 0;
        char32_t code_point = 0;
        if (byte >= 0xC2 && byte <= 0xDF) {
            length = 2;
            code_point = byte & 0x1F;
        } else if (byte >= 0xE0 && byte <= 0xEF) {
            length = 3;
            code_point = byte & 0x0F;
        } else if (byte >= 0xF0 && byte <= 0xF4) {
            length = 4;
            code_point = byte & 0x07;
        } else {
            return false;
        }
        if (i + length > text.size()) {
            return false;
        }
        for (std::size_t j = 1; j < length; ++j) {
            auto continuation = static_cast<unsigned char>(text[i + j]);
            if ((continuation & 0xC0) != 0x80) {
                return false;
            }
            code_point = (code_point << 6) | (continuation & 0x3F);
        }
        bool overlong =
            (length == 3 && code_point < 0x800) || (length == 4 && code_point < 0x10000);
        if (overlong || !is_unicode_scalar_value(code_point)) {
            return false;
        }
        i += length;
    }
    return true;
}

/// Lowercase hexadecimal text of bytes.
inline std::string hex_encode(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string result;
    result.reserve(bytes.size() * 2);
    for (char c : bytes) {
        auto value = static_cast<unsigned char>(c);
        result += digits[value >> 4];
        result += digits[value & 0x0F];
    }
    return result;
}

/// A quoted printable form of untrusted input for error messages: at most `limit` bytes,
/// control and non-ASCII bytes as \xNN.
inline std::string quote_for_message(std::string_view text, std::size_t limit = 64) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string result = "\"";
    for (std::size_t i = 0; i < text.size() && i < limit; ++i) {
        auto value = static_cast<unsigned char>(text[i]);
        if (value < 0x20 || value >= 0x7F || value == '"' || value == '\\') {
            result += "\\x";
            result += digits[value >> 4];
            result += digits[value & 0x0F];
        } else {
            result += static_cast<char>(value);
        }
    }
    result += text.size() > limit ? "\"..." : "\"";
    return result;
}

}  // namespace gale::web::detail
