#include <gale/http/headers.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace gale::http {
namespace {

char lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

}  // namespace

namespace {

// ASCII letters of an eight-byte word in lower case (SWAR); other bytes unchanged.
std::uint64_t lower_word(std::uint64_t word) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ull;
    constexpr std::uint64_t high = 0x8080808080808080ull;
    std::uint64_t low7 = word & ~high;
    std::uint64_t at_least_a = low7 + (0x80 - 'A') * ones;       // high bit: byte >= 'A'
    std::uint64_t above_z = low7 + (0x80 - 'Z' - 1) * ones;      // high bit: byte > 'Z'
    std::uint64_t upper = at_least_a & ~above_z & ~word & high;  // and below 0x80
    return word | (upper >> 2);                                  // + 0x20 where upper
}

}  // namespace

// Field names are compared on every lookup: eight bytes at a time, the last word overlapping.
bool detail::equal_bytes_ignoring_case(const char* left, const char* right,
                                       std::size_t size) noexcept {
    if (size < 8) {
        for (std::size_t i = 0; i < size; ++i) {
            if (lower(left[i]) != lower(right[i])) {
                return false;
            }
        }
        return true;
    }
    auto words_equal = [&](std::size_t at) {
        std::uint64_t a;
        std::uint64_t b;
        std::memcpy(&a, left + at, 8);
        std::memcpy(&b, right + at, 8);
        return a == b || lower_word(a) == lower_word(b);
    };
    for (std::size_t at = 0; at + 8 < size; at += 8) {
        if (!words_equal(at)) {
            return false;
        }
    }
    return words_equal(size - 8);
}

bool list_contains_token(std::string_view list, std::string_view token) noexcept {
    while (!list.empty()) {
        std::size_t comma = list.find(',');
        std::string_view element = list.substr(0, comma);
        while (!element.empty() && (element.front() == ' ' || element.front() == '\t')) {
            element.remove_prefix(1);
        }
        while (!element.empty() && (element.back() == ' ' || element.back() == '\t')) {
            element.remove_suffix(1);
        }
        if (equals_ignoring_case(element, token)) {
            return true;
        }
        if (comma == std::string_view::npos) {
            break;
        }
        list.remove_prefix(comma + 1);
    }
    return false;
}

void HTTPHeaders::add(std::string_view name, std::string value) {
    fields_.emplace_back(std::string(name), std::move(value));
}

void HTTPHeaders::set(std::string_view name, std::string value) {
    auto first = std::find_if(fields_.begin(), fields_.end(), [&](const Field& field) {
        return equals_ignoring_case(field.first, name);
    });
    if (first == fields_.end()) {
        fields_.emplace_back(std::string(name), std::move(value));
        return;
    }
    first->second = std::move(value);
    fields_.erase(
        std::remove_if(first + 1, fields_.end(),
                       [&](const Field& field) { return equals_ignoring_case(field.first, name); }),
        fields_.end());
}

std::size_t HTTPHeaders::remove(std::string_view name) noexcept {
    auto size_before = fields_.size();
    std::erase_if(fields_,
                  [&](const Field& field) { return equals_ignoring_case(field.first, name); });
    return size_before - fields_.size();
}

bool HTTPHeaders::contains(std::string_view name) const noexcept {
    return get(name).has_value();
}

std::optional<std::string_view> HTTPHeaders::get(std::string_view name) const noexcept {
    for (const Field& field : fields_) {
        if (equals_ignoring_case(field.first, name)) {
            return field.second;
        }
    }
    return std::nullopt;
}

std::string_view HTTPHeaders::get_or(std::string_view name,
                                     std::string_view fallback) const noexcept {
    auto value = get(name);
    return value ? *value : fallback;
}

std::vector<std::string_view> HTTPHeaders::get_all(std::string_view name) const {
    std::vector<std::string_view> values;
    for (const Field& field : fields_) {
        if (equals_ignoring_case(field.first, name)) {
            values.push_back(field.second);
        }
    }
    return values;
}

std::optional<std::string> HTTPHeaders::get_combined(std::string_view name) const {
    std::optional<std::string> combined;
    for (const Field& field : fields_) {
        if (equals_ignoring_case(field.first, name)) {
            if (combined) {
                combined->append(", ");
                combined->append(field.second);
            } else {
                combined = field.second;
            }
        }
    }
    return combined;
}

}  // namespace gale::http
