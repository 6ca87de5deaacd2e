#pragma once
/// Serialising HTTP/1.1 messages: status and request lines, header fields, chunks.
///
/// Everything appends to a caller-provided std::string, so a connection can reuse one
/// buffer (and its capacity) for every response: no allocation in the steady state.

#include <gale/http/headers.hpp>
#include <gale/http/parser.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace gale::http {

/// "HTTP/1.1 404 Not Found\r\n"
void append_status_line(std::string& out, Version version, int status);
/// "GET /path HTTP/1.1\r\n"
void append_request_line(std::string& out, std::string_view method, std::string_view target);
/// "Name: value\r\n" (the caller guarantees both are valid; see is_valid_field_*).
void append_field(std::string& out, std::string_view name, std::string_view value);
void append_fields(std::string& out, const HTTPHeaders& headers);
void append_decimal(std::string& out, std::uint64_t value);
/// One chunk of a chunked body ("1a\r\n<data>\r\n"); empty data appends nothing.
void append_chunk(std::string& out, std::string_view data);
/// The last chunk, with optional trailer fields: "0\r\n[trailers]\r\n".
void append_last_chunk(std::string& out, const HTTPHeaders* trailers = nullptr);

/// A field name must be a token.
bool is_valid_field_name(std::string_view name) noexcept;
/// A field value may not contain CR, LF, NUL or other control characters (header injection).
bool is_valid_field_value(std::string_view value) noexcept;

}  // namespace gale::http
