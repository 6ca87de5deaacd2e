#include <gale/http/status.hpp>
#include <gale/http/writer.hpp>

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
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append("\r\n");
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
    // Every response field passes through here, so eight bytes at a time (SWAR): a byte is
    // refused when it is a control character other than HTAB, or DEL. Bytes from 0x80 up
    // (obs-text) are allowed.
    constexpr std::uint64_t ones = 0x0101010101010101ull;
    constexpr std::uint64_t high = 0x8080808080808080ull;
    constexpr std::uint64_t low7 = 0x7f7f7f7f7f7f7f7full;
    // High bit of each byte set where the byte of `word` is zero.
    auto zero_bytes = [](std::uint64_t word) { return ~(((word & low7) + low7) | word) & high; };
    std::uint64_t invalid = 0;
    std::size_t i = 0;
    for (; i + 8 <= value.size(); i += 8) {
        std::uint64_t word;
        std::memcpy(&word, value.data() + i, 8);
        std::uint64_t below_space = ~(((word & low7) + 0x60 * ones) | word) & high;
        invalid |= (below_space & ~zero_bytes(word ^ (0x09 * ones))) | zero_bytes(word ^ low7);
    }
    for (; i < value.size(); ++i) {
        auto byte = static_cast<unsigned char>(value[i]);
        invalid |= static_cast<std::uint64_t>((byte < 0x20 && byte != '\t') || byte == 0x7f);
    }
    return invalid == 0;
}

}  // namespace gale::http
