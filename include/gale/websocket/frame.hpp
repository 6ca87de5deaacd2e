#pragma once
/// Frame headers (RFC 6455 §5.2): parsing with validation, and encoding.
///
/// `FrameParser::parse` looks at the bytes buffered so far and answers `need_more` until a
/// whole header (2 to 14 bytes) is there, then `complete` with the header, or `violation` with
/// the close code and reason to fail the connection with. It keeps no state between calls (a
/// header is short, re-reading it is cheaper than remembering progress), copies nothing and
/// allocates only to describe a violation. Violations that the first two bytes reveal are
/// reported as soon as those bytes are there.
///
/// Validation, each failure with code 1002 unless noted:
/// - RSV1 is allowed only when an extension that defines it was negotiated
///   (`FrameRules::rsv1_allowed`, for permessage-deflate), and then only on text and binary
///   frames (RFC 7692 §6: never on control or continuation frames); RSV2 and RSV3 never;
/// - reserved opcodes 0x3-0x7 and 0xB-0xF;
/// - control frames must have FIN set and a payload of at most 125 bytes;
/// - a server requires masked frames, a client requires unmasked ones (§5.1);
/// - a 64-bit length must have its most significant bit clear;
/// - non-minimal length encodings (a length under 126 in the 16-bit form, under 65536 in the
///   64-bit form) are rejected: §5.2 says the minimal number of bytes MUST be used, no correct
///   sender produces them, and accepting them would only hide a broken peer. Set
///   `FrameRules::allow_non_minimal_length` to accept them;
/// - a data frame's payload larger than `FrameRules::max_payload_length` → 1009, before any of
///   the payload is read.

#include <gale/websocket/masking.hpp>
#include <gale/websocket/protocol.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace gale::websocket {

/// The most bytes a frame header takes: 2 + 8 (64-bit length) + 4 (mask key).
inline constexpr std::size_t max_frame_header_size = 14;

struct FrameHeader {
    bool fin = true;
    bool rsv1 = false;
    bool rsv2 = false;
    bool rsv3 = false;
    Opcode opcode = Opcode::text;
    bool masked = false;
    MaskKey mask_key{};
    std::uint64_t payload_length = 0;
    /// Bytes the header takes on the wire; the payload follows it.
    std::size_t header_size = 2;
};

struct FrameRules {
    /// Which end we are: a server requires masked frames, a client unmasked ones.
    Role role = Role::server;
    /// permessage-deflate (or another extension defining RSV1) was negotiated.
    bool rsv1_allowed = false;
    /// Largest payload of a data frame; larger → 1009.
    std::uint64_t max_payload_length = 16 * 1024 * 1024;
    /// Accept lengths not encoded in the shortest form (see the file comment).
    bool allow_non_minimal_length = false;
};

class FrameParser {
  public:
    enum class Status { need_more, complete, violation };

    explicit FrameParser(FrameRules rules = {}) noexcept : rules_(rules) {}

    /// Parses the header at the start of `buffer`. After `complete`, `header()` describes it
    /// and the payload starts `header().header_size` bytes into the buffer.
    Status parse(std::string_view buffer);

    const FrameHeader& header() const noexcept { return header_; }
    /// Why the last parse answered `violation`.
    const Violation& violation() const noexcept { return violation_; }
    const FrameRules& rules() const noexcept { return rules_; }

  private:
    Status fail(CloseCode code, std::string reason);
    bool check_first_bytes(std::uint8_t first, std::uint8_t second);
    bool check_length(std::uint64_t length, std::size_t length_field_size);

    FrameRules rules_;
    FrameHeader header_;
    Violation violation_;
};

/// Bytes the header of a frame with this payload length takes.
constexpr std::size_t frame_header_size(std::uint64_t payload_length, bool masked) noexcept {
    const std::size_t length_size = payload_length < 126 ? 0 : payload_length <= 0xFFFF ? 2 : 8;
    return 2 + length_size + (masked ? 4 : 0);
}

/// What a frame header says, for encoding.
struct FrameFields {
    Opcode opcode = Opcode::text;
    bool fin = true;
    /// Set on the first frame of a compressed message (permessage-deflate).
    bool rsv1 = false;
    std::uint64_t payload_length = 0;
    /// A client masks every frame; a server never does.
    bool masked = false;
    MaskKey mask_key{};
};

/// Writes the header to `destination` (room for `max_frame_header_size` bytes), in the
/// shortest length form; returns the bytes written.
std::size_t write_frame_header(const FrameFields& fields, char* destination) noexcept;

}  // namespace gale::websocket
