#pragma once
/// HTTP status codes and their reason phrases (RFC 9110 §15 and the common extensions).

#include <string_view>

namespace gale::http {

/// The standard reason phrase of `status` ("Not Found"), or "Unknown" for unregistered codes.
std::string_view reason_phrase(int status) noexcept;

/// True for the codes a server may send (100-599).
constexpr bool is_valid_status(int status) noexcept {
    return status >= 100 && status <= 599;
}

}  // namespace gale::http
