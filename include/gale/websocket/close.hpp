#pragma once
/// Close frame payloads (RFC 6455 §5.5.1, §7.4): a 2-byte big-endian code, then a UTF-8
/// reason, or nothing at all.
///
/// Codes a peer may send: 1000-1003, 1007-1014 and 3000-4999. 1012-1014 (service restart, try
/// again later, bad gateway) were registered with IANA after RFC 6455; Autobahn|Testsuite
/// neither requires nor rejects them (its invalid-code cases are 0, 999, 1004-1006, 1016,
/// 1100, 2000, 2999), and browsers send them, so they are accepted. Everything else (0-999,
/// 1004-1006, 1015, the rest of 1000-2999, 5000 and above) is a protocol error (1002); so is a
/// 1-byte payload; a reason that is not UTF-8 is 1007.

#include <gale/websocket/protocol.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gale::websocket {

/// True for the codes that may appear in a close frame (see the file comment).
bool is_valid_close_code(std::uint16_t code) noexcept;

/// The content of a received close frame.
struct CloseFrameContent {
    /// `CloseCode::no_status` when the payload was empty.
    CloseCode code = CloseCode::no_status;
    /// A view into the parsed payload.
    std::string_view reason;
    /// Set when the payload is invalid; the connection is failed with it.
    std::optional<Violation> violation;
};

/// Parses the (unmasked) payload of a close frame.
CloseFrameContent parse_close_payload(std::string_view payload);

/// The payload of a close frame with `code` and `reason`. Throws `WebSocketError` when the code
/// may not be sent (`is_valid_close_code`), or the reason is over 123 bytes or not UTF-8.
std::string close_payload(CloseCode code, std::string_view reason = {});

/// `reason` cut to at most 123 bytes without splitting a UTF-8 sequence, for reasons that come
/// from elsewhere (an exception's message). The result is a prefix of `reason`.
std::string_view truncate_close_reason(std::string_view reason) noexcept;

}  // namespace gale::websocket
