// A compact JSON writer that defers to nlohmann for everything but the common, plain cases.

#include "web/json_writer_internal.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace gale::web::detail {

namespace {

std::string dump(const nlohmann::json& value) {
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Bytes JSON keeps as they are in a string and nlohmann need not validate: printable ASCII
// (and DEL) other than the quote and the backslash.
bool is_plain_byte_by_byte(std::string_view text) noexcept {
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte >= 0x80 || c == '"' || c == '\\') {
            return false;
        }
    }
    return true;
}

// Eight bytes at a time (SWAR) where there are eight: in a word, a byte below 0x20, from 0x80,
// or equal to '"' or '\\' sets its high bit in `special` (the usual has-zero-byte tests).
bool is_plain(std::string_view text) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ull;
    constexpr std::uint64_t high = 0x8080808080808080ull;
    auto has_zero_byte = [](std::uint64_t word) { return (word - ones) & ~word & high; };
    std::size_t at = 0;
    for (; at + 8 <= text.size(); at += 8) {
        std::uint64_t word;
        std::memcpy(&word, text.data() + at, 8);
        std::uint64_t special = ((word - 0x20 * ones) & ~word & high) | (word & high) |
                                has_zero_byte(word ^ ('"' * ones)) |
                                has_zero_byte(word ^ ('\\' * ones));
        if (special != 0) {
            return false;
        }
    }
    return is_plain_byte_by_byte(text.substr(at));
}

void append_string(std::string& out, std::string_view text) {
    if (!is_plain(text)) {
        out += dump(nlohmann::json(text));  // escaped, and invalid UTF-8 replaced, by nlohmann
        return;
    }
    out += '"';
    out += text;
    out += '"';
}

template <typename Integer>
void append_integer(std::string& out, Integer value) {
    char digits[24];
    auto result = std::to_chars(digits, digits + sizeof digits, value);
    out.append(digits, result.ptr);
}

}  // namespace

void append_json(std::string& out, const nlohmann::json& value) {
    using Type = nlohmann::json::value_t;
    switch (value.type()) {
        case Type::null:
            out += "null";
            return;
        case Type::boolean:
            out += value.get<bool>() ? "true" : "false";
            return;
        case Type::number_integer:
            append_integer(out, value.get<std::int64_t>());
            return;
        case Type::number_unsigned:
            append_integer(out, value.get<std::uint64_t>());
            return;
        case Type::string:
            append_string(out, value.get_ref<const std::string&>());
            return;
        case Type::array: {
            out += '[';
            bool first = true;
            for (const nlohmann::json& element : value.get_ref<const nlohmann::json::array_t&>()) {
                if (!first) {
                    out += ',';
                }
                first = false;
                append_json(out, element);
            }
            out += ']';
            return;
        }
        case Type::object: {
            out += '{';
            bool first = true;
            for (const auto& [key, member] : value.get_ref<const nlohmann::json::object_t&>()) {
                if (!first) {
                    out += ',';
                }
                first = false;
                append_string(out, key);
                out += ':';
                append_json(out, member);
            }
            out += '}';
            return;
        }
        case Type::number_float:  // shortest round-trip digits, NaN and infinities as null
        case Type::binary:
        case Type::discarded:
            out += dump(value);
            return;
    }
}

}  // namespace gale::web::detail
