#pragma once
/// `MessageReader`: the receiving half of a WebSocket connection, without I/O. It turns the
/// bytes a stream has buffered into messages and control frames, with every check of
/// `FrameParser`, `MessageAssembler` and `parse_close_payload`.
///
/// ```
/// gale::websocket::MessageReader reader({.role = Role::server});
/// while (true) {
///     auto result = reader.read(stream.buffered());
///     stream.consume(result.consumed);
///     switch (result.event) {
///         case ReadEvent::need_more: co_await stream.wait_for_data(); break;
///         case ReadEvent::message: on_message(reader.opcode(), reader.take_message()); break;
///         case ReadEvent::ping: /* answer with pong_frame(reader.control_payload()) */ break;
///         case ReadEvent::pong: break;
///         case ReadEvent::close: /* reader.close_code(), reader.close_reason() */ break;
///         case ReadEvent::violation: /* close with reader.violation() */ break;
///     }
/// }
/// ```
///
/// `read` consumes what it can use: whole frame headers, data payload as it arrives (copied,
/// unmasked, into the message), control frames once complete (at most 139 bytes, they wait in
/// the input until then). It returns at the first event. The payloads it reports stay valid
/// until the next `read`. After a violation the reader is finished: `read` repeats it.

#include <gale/websocket/extensions.hpp>
#include <gale/websocket/frame.hpp>
#include <gale/websocket/message.hpp>
#include <gale/websocket/protocol.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gale::websocket {

struct ReaderOptions {
    /// Which end we are (a server reads masked frames).
    Role role = Role::server;
    /// Largest message, on the wire and after decompression; larger → 1009. Autobahn's
    /// limits cases (9.*) send up to 16 MiB.
    std::uint64_t max_message_size = 16 * 1024 * 1024;
    /// See `FrameRules::allow_non_minimal_length`.
    bool allow_non_minimal_length = false;
};

enum class ReadEvent {
    need_more,  // everything usable was consumed; call again with more bytes
    message,    // a complete text or binary message: opcode(), message()
    ping,       // control_payload()
    pong,       // control_payload()
    close,      // close_code(), close_reason(); the payload was valid
    violation,  // violation(): fail the connection with its code and reason
};

struct ReadResult {
    ReadEvent event = ReadEvent::need_more;
    /// Bytes of the input used; drop them from the buffer before the next `read`.
    std::size_t consumed = 0;
};

class MessageReader {
  public:
    /// `deflate`: the agreed permessage-deflate parameters, when it was negotiated.
    explicit MessageReader(ReaderOptions options = {},
                           std::optional<DeflateParameters> deflate = std::nullopt);

    /// Reads from the start of `input` (the bytes received and not yet consumed).
    ReadResult read(std::string_view input);

    /// The last message's opcode (text or binary).
    Opcode opcode() const noexcept { return assembler_.opcode(); }
    /// After a `message` event: the message's payload, to use in place or move out (moving
    /// it out hands over its memory).
    std::string& message() noexcept { return assembler_.message(); }
    /// Moves the payload out after a `message` event; throws `WebSocketError` when no complete
    /// message is there (a fragmented one may be half assembled).
    std::string take_message();
    /// The last ping's or pong's payload (also the last close frame's whole payload).
    std::string_view control_payload() const noexcept { return control_; }
    /// The last close frame's code (`no_status` when it had none) and reason.
    CloseCode close_code() const noexcept { return close_code_; }
    std::string_view close_reason() const noexcept {
        return control_.size() >= 2 ? control_payload().substr(2) : std::string_view();
    }
    const Violation& violation() const noexcept { return violation_; }
    /// A fragmented message is under way (control frames may still arrive).
    bool in_message() const noexcept { return assembler_.in_message(); }

  private:
    ReadResult fail(Violation violation, std::size_t consumed);
    ReadResult read_control_frame(std::string_view input, std::size_t consumed);
    std::optional<Violation> read_payload(std::string_view input, std::size_t& consumed);

    FrameParser parser_;
    MessageAssembler assembler_;
    std::uint64_t payload_remaining_ = 0;
    bool in_payload_ = false;
    bool failed_ = false;
    Violation violation_;
    std::string control_;  // the last control frame's payload (at most 125 bytes)
    CloseCode close_code_ = CloseCode::no_status;
};

}  // namespace gale::websocket
