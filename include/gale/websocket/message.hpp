#pragma once
/// Assembling messages from data frames (RFC 6455 §5.4, §5.6; RFC 7692 §6).
///
/// The caller parses frame headers (`FrameParser`), hands each data frame to the assembler
/// (`begin_frame`, then its payload in as many pieces as it arrives, then `end_frame`), and
/// handles control frames itself: they may come between the frames of a fragmented message
/// and do not touch the assembler. `MessageReader` does all of this over a byte buffer.
///
/// Rules, each a `Violation`:
/// - a continuation frame with no fragmented message to continue → 1002;
/// - a text or binary frame while a fragmented message is unfinished → 1002;
/// - RSV1 on a message without a decompressor → 1002 (`FrameParser` checks it too);
/// - a message whose payload on the wire would exceed `max_message_size` → 1009, checked at
///   each frame's header before its payload is read (compressed messages may take a little
///   more on the wire: max_message_size + max_message_size/1024 + 64, the most deflate adds to
///   incompressible data), and after decompression, during it → 1009;
/// - text that is not UTF-8 → 1007, as soon as the invalid byte arrives (also when a code
///   point is split between frames), or at the end when the text stops inside a code point;
/// - compressed data that does not inflate → 1007.

#include <gale/websocket/deflate.hpp>
#include <gale/websocket/frame.hpp>
#include <gale/websocket/protocol.hpp>
#include <gale/websocket/utf8.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gale::websocket {

/// The most payload a compressed message may take on the wire under `max_message_size`:
/// deflate makes incompressible data slightly larger (zlib's deflateBound).
constexpr std::uint64_t compressed_size_limit(std::uint64_t max_message_size) noexcept {
    const std::uint64_t slack = max_message_size / 1024 + 64;
    return max_message_size > UINT64_MAX - slack ? UINT64_MAX : max_message_size + slack;
}

class MessageAssembler {
  public:
    /// `decompressor`: present when permessage-deflate was negotiated.
    explicit MessageAssembler(std::uint64_t max_message_size = 16 * 1024 * 1024,
                              std::optional<MessageDecompressor> decompressor = std::nullopt);

    /// Starts a data frame (text, binary or continuation); call it before its payload.
    [[nodiscard]] std::optional<Violation> begin_frame(const FrameHeader& header);
    /// Adds the next bytes of the current frame's payload as received (masked or not: the
    /// assembler unmasks with the header's key).
    [[nodiscard]] std::optional<Violation> add_payload(std::string_view bytes);
    /// Ends the current frame. When it had FIN, the message is complete.
    [[nodiscard]] std::optional<Violation> end_frame();

    /// A message is under way: its first frame began and its last has not ended.
    bool in_message() const noexcept { return in_message_; }
    /// The last `end_frame` completed a message; it stays available until the next frame.
    bool message_complete() const noexcept { return complete_; }
    /// Text or binary: the opcode of the current or last message.
    Opcode opcode() const noexcept { return opcode_; }
    /// Whether the current or last message was compressed.
    bool compressed() const noexcept { return compressed_; }
    /// The payload assembled so far (unmasked, decompressed). The caller may move it out once
    /// the message is complete (which also hands over its memory; a buffer left here keeps its
    /// capacity for the next message, which starts empty either way).
    std::string& message() noexcept { return message_; }
    std::uint64_t max_message_size() const noexcept { return max_message_size_; }

  private:
    std::optional<Violation> start_message(const FrameHeader& header);
    std::optional<Violation> add_compressed(std::string_view bytes);
    std::optional<Violation> validate_new_text();
    std::optional<Violation> first_violation(std::optional<Violation> decompression);
    void reserve_for(std::uint64_t payload_length);

    std::uint64_t max_message_size_;
    std::optional<MessageDecompressor> decompressor_;
    std::string message_;
    Utf8Validator utf8_;
    std::size_t validated_ = 0;         // bytes of message_ checked as UTF-8
    std::uint64_t wire_size_ = 0;       // payload bytes of the message's frames so far
    std::uint64_t frame_position_ = 0;  // payload bytes of the current frame so far
    MaskKey mask_key_{};
    bool masked_ = false;
    bool fin_ = false;
    bool in_frame_ = false;
    bool in_message_ = false;
    bool complete_ = false;
    bool compressed_ = false;
    Opcode opcode_ = Opcode::text;
};

}  // namespace gale::websocket
