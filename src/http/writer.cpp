#include <gale/http/status.hpp>
#include <gale/http/writer.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>

namespace gale::http {

void append_decimal(std::string& out, std::uint64_t value) {
    char digits[24];
    auto result = std::to_chars(digits, digits + sizeof digits, value);
    out.append(digits, static_cast<std::size_t>(result.ptr - digits));
}

void append_status_line(std::string& out, Version version, int status) {
    out.append(version == Version::http_1_0 ? "HTTP/1.0 " : "HTTP/1.1 ");
    append_decimal(out, static_cast<std::uint64_t>(status));
    out.push_back(' ');
    out.append(reason_phrase(status));
    out.append("\r\n");
}

void append_request_line(std::string& out, std::string_view method, std::string_view target) {
    out.append(method);
    out.push_back(' ');
    out.append(target);
    out.append(" HTTP/1.1\r\n");
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
    // One size check and two copies, not four appends: every response field comes here.
    std::size_t at = out.size();
    out.resize(at + name.size() + value.size() + 4);
    char* cursor = out.data() + at;
    cursor = std::copy(name.begin(), name.end(), cursor);
    *cursor++ = ':';
    *cursor++ = ' ';
    cursor = std::copy(value.begin(), value.end(), cursor);
    *cursor++ = '\r';
    *cursor = '\n';
}

void append_fields(std::string& out, const HTTPHeaders& headers) {
    for (const auto& [name, value] : headers) {
        append_field(out, name, value);
    }
}

void append_chunk(std::string& out, std::string_view data) {
    if (data.empty()) {
        return;  // an empty chunk would end the body
    }
    char digits[20];
    auto result = std::to_chars(digits, digits + sizeof digits, data.size(), 16);
    out.append(digits, static_cast<std::size_t>(result.ptr - digits));
    out.append("\r\n");
    out.append(data);
    out.append("\r\n");
}

void append_last_chunk(std::string& out, const HTTPHeaders* trailers) {
    out.append("0\r\n");
    if (trailers != nullptr) {
        append_fields(out, *trailers);
    }
    out.append("\r\n");
}

bool is_valid_field_name(std::string_view name) noexcept {
    return is_token(name);
}

bool is_valid_field_value(std::string_view value) noexcept {
    // Refused: a control character other than HTAB, or DEL; obs-text (0x80 and up) passes.
    auto valid_byte = [](unsigned char byte) {
        return (byte >= 0x20 || byte == '\t') && byte != 0x7f;
    };
    // Every response field passes through here, so eight bytes at a time (SWAR) where the value
    // has eight: a word with no byte below 0x20 and no DEL is valid (the rare word with a tab
    // is checked byte by byte). The last word overlaps the one before it.
    constexpr std::uint64_t ones = 0x0101010101010101ull;
    constexpr std::uint64_t high = 0x8080808080808080ull;
    auto word_is_plain = [](std::uint64_t word) {
        // High bit set in a byte below 0x20 (bytes from 0x80 are excluded by ~word), or in a
        // byte equal to 0x7f (zero after the xor).
        std::uint64_t below_space = (word - 0x20 * ones) & ~word & high;
        std::uint64_t delete_byte =
            ((word ^ (0x7f * ones)) - ones) & ~(word ^ (0x7f * ones)) & high;
        return (below_space | delete_byte) == 0;
    };
    auto bytes_valid = [&](const char* at, std::size_t count) {
        for (std::size_t i = 0; i < count; ++i) {
            if (!valid_byte(static_cast<unsigned char>(at[i]))) {
                return false;
            }
        }
        return true;
    };
    const char* data = value.data();
    const std::size_t size = value.size();
    if (size < 8) {
        return bytes_valid(data, size);
    }
    auto word_valid = [&](const char* at) {
        std::uint64_t word;
        std::memcpy(&word, at, 8);
        return word_is_plain(word) || bytes_valid(at, 8);
    };
    for (std::size_t at = 0; at + 8 < size; at += 8) {
        if (!word_valid(data + at)) {
            return false;
        }
    }
    return word_valid(data + size - 8);
}

}  // namespace gale::http
