#pragma once
/// The vocabulary of RFC 6455 shared by gale's WebSocket code: which end is speaking
/// (`Role`), frame opcodes, close codes, and `Violation`, the close code and reason with which
/// an endpoint fails a connection whose peer broke the protocol.
///
/// The codec in this area does no I/O: it turns bytes into frames and messages and back, and
/// reports protocol violations as values (never exceptions) so that a connection can answer
/// them with a close frame and stay on its fast path.

#include <cstdint>
#include <string>
#include <string_view>

namespace gale::websocket {

/// Which end of the connection the code runs at. A server reads masked frames and writes
/// unmasked ones; a client does the reverse (RFC 6455 §5.1, §5.3).
enum class Role { server, client };

/// Frame opcodes (RFC 6455 §5.2). 0x3-0x7 and 0xB-0xF are reserved and rejected.
enum class Opcode : std::uint8_t {
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xA,
};

/// Close, ping and pong are control frames: at most 125 bytes, never fragmented.
constexpr bool is_control(Opcode opcode) noexcept {
    return (static_cast<std::uint8_t>(opcode) & 0x8) != 0;
}

/// "text", "binary", "ping"... for messages and logs.
std::string_view to_string(Opcode opcode) noexcept;

/// Close status codes (RFC 6455 §7.4, IANA registry). Application codes 3000-4999 are valid
/// too: write them as `CloseCode{4000}`.
enum class CloseCode : std::uint16_t {
    normal = 1000,
    going_away = 1001,
    protocol_error = 1002,
    unsupported_data = 1003,
    /// Never sent: stands for "the close frame carried no code".
    no_status = 1005,
    /// Never sent: stands for "the connection ended without a close frame".
    abnormal = 1006,
    invalid_payload = 1007,
    policy_violation = 1008,
    message_too_big = 1009,
    mandatory_extension = 1010,
    internal_error = 1011,
    service_restart = 1012,
    try_again_later = 1013,
    bad_gateway = 1014,
    /// Never sent: stands for "the TLS handshake failed".
    tls_handshake = 1015,
};

/// Longest close reason: a control frame carries 125 bytes, 2 of which are the code.
inline constexpr std::size_t max_close_reason_size = 123;
/// Longest payload of a control frame (close, ping, pong).
inline constexpr std::size_t max_control_payload_size = 125;

/// A protocol violation by the peer: the code to close with and why. Reasons are short ASCII
/// sentences naming the offending value or limit, so they fit a close frame as they are.
struct Violation {
    CloseCode code = CloseCode::protocol_error;
    std::string reason;
};

}  // namespace gale::websocket
