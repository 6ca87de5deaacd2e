#pragma once
/// Entity-tag comparison for conditional requests (RFC 9110 §8.8.3.2, §13.1): what
/// RequestHandler's automatic ETags and StaticFileHandler use, and what a handler judging
/// If-Match / If-None-Match for its own PUT or POST calls.

#include <cstddef>
#include <string_view>

namespace gale::web {

/// Strong comparison (If-Match, If-Range) needs both tags strong and equal; weak comparison
/// (If-None-Match) ignores the W/ prefixes.
enum class EtagComparison { strong, weak };

/// True when the field `list` ("*" or a comma-separated list of entity-tags) matches `etag`.
inline bool etag_list_matches(std::string_view list, std::string_view etag,
                              EtagComparison comparison) noexcept {
    auto is_weak = [](std::string_view tag) { return tag.starts_with("W/"); };
    auto opaque = [&is_weak](std::string_view tag) { return is_weak(tag) ? tag.substr(2) : tag; };
    const bool strong = comparison == EtagComparison::strong;
    while (!list.empty()) {
        std::size_t comma = list.find(',');
        std::string_view tag = list.substr(0, comma);
        while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t'))
            tag.remove_prefix(1);
        while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t'))
            tag.remove_suffix(1);
        if (tag == "*") {
            return true;
        }
        if (opaque(tag) == opaque(etag) && !(strong && (is_weak(tag) || is_weak(etag)))) {
            return true;
        }
        if (comma == std::string_view::npos) {
            break;
        }
        list.remove_prefix(comma + 1);
    }
    return false;
}

}  // namespace gale::web
