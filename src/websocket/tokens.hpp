#pragma once
// HTTP token helpers for the handshake and extension headers (RFC 9110 §5.6); case-insensitive
// comparison and token lists come from gale/http/headers.hpp.

#include <gale/http/headers.hpp>

#include <string_view>
#include <vector>

namespace gale::websocket {

using http::equals_ignoring_case;
using http::list_contains_token;

// tchar: "!#$%&'*+-.^_`|~", digits and letters.
constexpr bool is_token_char(char character) noexcept {
    if ((character >= 'a' && character <= 'z') || (character >= 'A' && character <= 'Z') ||
        (character >= '0' && character <= '9')) {
        return true;
    }
    return std::string_view("!#$%&'*+-.^_`|~").find(character) != std::string_view::npos;
}

constexpr bool is_token(std::string_view text) noexcept {
    if (text.empty()) {
        return false;
    }
    for (char character : text) {
        if (!is_token_char(character)) {
            return false;
        }
    }
    return true;
}

using http::trim_whitespace;

// The elements of a comma-separated list, trimmed, empty ones dropped (RFC 9110 §5.6.1).
inline std::vector<std::string_view> split_list(std::string_view list) {
    std::vector<std::string_view> elements;
    while (true) {
        const std::size_t comma = list.find(',');
        const std::string_view element = trim_whitespace(list.substr(0, comma));
        if (!element.empty()) {
            elements.push_back(element);
        }
        if (comma == std::string_view::npos) {
            return elements;
        }
        list.remove_prefix(comma + 1);
    }
}

}  // namespace gale::websocket
