#pragma once
/// permessage-deflate's codec (RFC 7692 §7.2) over zlib's raw deflate.
///
/// Sending: a message is compressed and flushed (Z_SYNC_FLUSH), and the 00 00 FF FF that the
/// flush ends with is removed; an empty message is the single byte 00 (RFC 7692 §7.2.3.6).
/// Receiving: the pieces of a message's payload are inflated as they arrive; at its end 00 00 FF FF
/// is appended. With context takeover the LZ77 window carries over from message to message; without
/// it each message starts afresh.
///
/// Window bits: zlib's deflate cannot use an 8-bit (256-byte) window for raw streams, so an
/// agreed `*_max_window_bits=8` compresses with 9 bits. That is safe: zlib never emits a
/// match more than window size - 262 bytes back, i.e. 250 bytes with 9 bits, within what a
/// peer with a 256-byte window can resolve. The decompressor uses at least 9 bits as well (a
/// larger window than the sender's never hurts). It keeps only the agreed window between
/// calls (that is the memory the agreement saves); zlib still resolves a match from output it
/// produced in the same call, so a peer that reaches further back than it agreed is refused
/// (1007, "invalid distance too far back") or not depending on how its bytes arrive.
///
/// Memory: a compressor that keeps its context holds zlib's deflate state (about 256 KiB at
/// window 15, memLevel 8) from its first message on; one without context takeover borrows a
/// per-thread zlib stream for the duration of `compress`, so idle connections cost nothing. A
/// decompressor with context takeover holds about 40 KiB; without it, its state exists only
/// while a message is being received.

#include <gale/websocket/protocol.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace gale::websocket {

struct CompressorSettings {
    /// LZ77 window of 2^window_bits bytes, 8..15 (8 runs as 9, see the file comment).
    int window_bits = 15;
    /// false: every message is compressed independently (`*_no_context_takeover`).
    bool context_takeover = true;
    /// zlib compression level, 0..9 (or -1 for zlib's default, 6).
    int level = 6;
    /// zlib memLevel, 1..9: memory for the match finder, speed vs. memory.
    int memory_level = 8;
};

/// Compresses whole messages for one connection (or, without context takeover, for any).
/// Throws `WebSocketError` for settings out of range and when zlib fails (out of memory).
class MessageCompressor {
  public:
    explicit MessageCompressor(CompressorSettings settings = {});
    ~MessageCompressor();
    MessageCompressor(MessageCompressor&&) noexcept;
    MessageCompressor& operator=(MessageCompressor&&) noexcept;

    /// Appends the compressed payload of `message` (without the trailing 00 00 FF FF) to `out`.
    void compress(std::string_view message, std::string& out);
    std::string compress(std::string_view message);

    /// Forgets the history: the next message references nothing before it. A connection that
    /// writes a frame compressed elsewhere (a `PreparedMessage`) must call this, because the
    /// peer's window now holds that message and this compressor's does not.
    void reset();

    const CompressorSettings& settings() const noexcept { return settings_; }

  private:
    struct Stream;
    CompressorSettings settings_;
    std::unique_ptr<Stream> stream_;  // with context takeover only, created on first use
};

/// Decompresses the messages of one connection with a hard limit on their size.
/// Decompression failures are reported as `Violation`s: 1009 when a message inflates beyond
/// `max_size`, 1007 when the data is not valid deflate data.
class MessageDecompressor {
  public:
    /// `window_bits`: the sender's agreed window (8..15); `context_takeover`: whether the
    /// sender keeps its window between messages.
    explicit MessageDecompressor(int window_bits = 15, bool context_takeover = true);
    ~MessageDecompressor();
    MessageDecompressor(MessageDecompressor&&) noexcept;
    MessageDecompressor& operator=(MessageDecompressor&&) noexcept;

    /// Inflates the next piece of a message's payload, appending to `out`, which may not grow
    /// beyond `max_size` bytes (counting what it held before).
    [[nodiscard]] std::optional<Violation> decompress(std::string_view data, std::string& out,
                                                      std::size_t max_size);
    /// Ends the message: inflates the 00 00 FF FF tail (unless the message had no compressed
    /// bytes at all: then it is empty), and without context takeover releases the zlib state
    /// until the next message.
    [[nodiscard]] std::optional<Violation> finish_message(std::string& out, std::size_t max_size);

  private:
    struct Stream;
    std::optional<Violation> inflate_into(std::string_view data, std::string& out,
                                          std::size_t max_size);

    int window_bits_;
    bool context_takeover_;
    bool message_has_data_ = false;
    std::unique_ptr<Stream> stream_;  // created when a message starts
};

}  // namespace gale::websocket
