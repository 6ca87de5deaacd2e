#include <gale/http/status.hpp>
#include <gale/http/writer.hpp>

#include "http/field_bytes.hpp"

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
    // Every response field passes through here: eight bytes at a time up to each tab.
    const char* at = value.data();
    const char* end = at + value.size();
    while ((at = detail::find_control_byte(at, end)) != end) {
        if (*at != '\t') {
            return false;
        }
        ++at;
    }
    return true;
}

}  // namespace gale::http
