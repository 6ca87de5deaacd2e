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

// Whether a string holds only bytes JSON keeps as they are and nlohmann need not validate:
// printable ASCII (and DEL) other than the quote and the backslash. Eight bytes at a time
// (SWAR): in a word, a byte below 0x20, from 0x80, or equal to '"' or '\\' sets its high bit
// in `special` (the usual has-zero-byte tests). A tail shorter than a word is checked as the
// string's last eight bytes, overlapping the word before; a string shorter than a word is
// padded with a plain byte. No byte-by-byte loop, then, even for short keys.
bool is_plain(std::string_view text) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ull;
    constexpr std::uint64_t high = 0x8080808080808080ull;
    auto has_zero_byte = [](std::uint64_t word) { return (word - ones) & ~word & high; };
    auto special = [&](std::uint64_t word) {
        return ((word - 0x20 * ones) & ~word & high) | (word & high) |
               has_zero_byte(word ^ ('"' * ones)) | has_zero_byte(word ^ ('\\' * ones));
    };
    const std::size_t size = text.size();
    if (size < 8) {
        std::uint64_t word = 'a' * ones;
        if (size != 0) {
            std::memcpy(&word, text.data(), size);
        }
        return special(word) == 0;
    }
    std::uint64_t word;
    for (std::size_t at = 0; at + 8 <= size; at += 8) {
        std::memcpy(&word, text.data() + at, 8);
        if (special(word) != 0) {
            return false;
        }
    }
    std::memcpy(&word, text.data() + size - 8, 8);
    return special(word) == 0;
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
