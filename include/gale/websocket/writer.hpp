#pragma once
/// Encoding frames and messages: what a connection writes to its stream.
///
/// A server's frames go out unmasked; a client's are masked, each with a fresh key from
/// `random_mask_key`. Control frames carry at most 125 bytes; a longer payload is a programming
/// error (`WebSocketError`), not something to truncate silently.
///
/// Broadcast: `PreparedMessage` encodes a server message once into immutable shared buffers
/// (`SharedFrame`) that any number of connections, on any threads, can write.

#include <gale/websocket/deflate.hpp>
#include <gale/websocket/extensions.hpp>
#include <gale/websocket/frame.hpp>
#include <gale/websocket/protocol.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace gale::websocket {

/// Appends one frame to `out`: the header, then `payload`, masked when `fields.masked`.
/// `fields.payload_length` is taken from `payload`.
void append_frame(std::string& out, FrameFields fields, std::string_view payload);

/// One frame as `role` sends it (a client masks with a fresh key).
std::string encode_frame(Role role, Opcode opcode, std::string_view payload, bool fin = true,
                         bool rsv1 = false);

/// Control frames. Throw `WebSocketError` when the payload exceeds 125 bytes, and for close
/// frames when `close_payload` rejects the code or reason.
std::string ping_frame(Role role, std::string_view payload = {});
std::string pong_frame(Role role, std::string_view payload = {});
std::string close_frame(Role role, CloseCode code, std::string_view reason = {});
/// A close frame without a code (the peer sees 1005, "no status").
std::string close_frame(Role role);

struct MessageEncoding {
    /// When set, the message is compressed and its first frame has RSV1.
    MessageCompressor* compressor = nullptr;
    /// Split the (compressed) payload into frames of at most this many bytes; 0: one frame.
    std::size_t fragment_size = 0;
};

/// Appends a whole text or binary message to `out`, as `role` sends it.
void append_message(std::string& out, Role role, Opcode opcode, std::string_view payload,
                    MessageEncoding encoding = {});
std::string encode_message(Role role, Opcode opcode, std::string_view payload,
                           MessageEncoding encoding = {});

/// An encoded frame shared between connections; immutable, safe to write from many threads.
using SharedFrame = std::shared_ptr<const std::string>;

struct PreparedMessageOptions {
    /// Also prepare a compressed variant (permessage-deflate), compressed independently of
    /// any history, with this window.
    bool compress = false;
    int window_bits = 15;
    int compression_level = 6;
    int memory_level = 8;
};

/// A server message encoded once for many connections (a broadcast).
///
/// For a connection that negotiated permessage-deflate with a server window of at least
/// `window_bits`, `frame_for` gives the compressed frame; for others the plain one. A
/// connection whose compressor keeps its context must call its `MessageCompressor::reset()`
/// after writing a compressed shared frame (`frame_for(...).compressed`): the peer's window then
/// holds a message that this connection's compressor never saw.
class PreparedMessage {
  public:
    PreparedMessage(Opcode opcode, std::string_view payload, PreparedMessageOptions options = {});

    struct Choice {
        const SharedFrame& frame;
        bool compressed;
    };
    /// The frame for a connection with these agreed parameters (none: no permessage-deflate).
    Choice frame_for(const std::optional<DeflateParameters>& deflate) const noexcept;

    const SharedFrame& plain_frame() const noexcept { return plain_; }
    /// Null unless `options.compress`.
    const SharedFrame& compressed_frame() const noexcept { return compressed_; }

  private:
    SharedFrame plain_;
    SharedFrame compressed_;
    int window_bits_;
};

}  // namespace gale::websocket
