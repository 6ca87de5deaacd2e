#include <gale/websocket/deflate.hpp>
#include <gale/websocket/errors.hpp>

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <vector>

namespace gale::websocket {

namespace {

constexpr std::string_view flush_tail("\x00\x00\xff\xff", 4);
// zlib takes lengths as 32-bit uInt; larger inputs go in pieces.
constexpr std::size_t max_zlib_chunk = std::size_t{1} << 30;
constexpr std::size_t max_shared_streams = 8;

// zlib refuses 8 for raw deflate; 9 is equivalent for the peer (see the header comment).
int effective_window_bits(int window_bits) {
    return std::max(window_bits, 9);
}

void check_settings(const CompressorSettings& settings) {
    if (settings.window_bits < 8 || settings.window_bits > 15) {
        throw WebSocketError(
            fmt::format("deflate window bits {} outside 8..15", settings.window_bits));
    }
    if (settings.level < -1 || settings.level > 9) {
        throw WebSocketError(fmt::format("deflate level {} outside -1..9", settings.level));
    }
    if (settings.memory_level < 1 || settings.memory_level > 9) {
        throw WebSocketError(
            fmt::format("deflate memory level {} outside 1..9", settings.memory_level));
    }
}

Bytef* zlib_bytes(const char* data) noexcept {
    // zlib's next_in is not const-qualified; it never writes through it.
    return reinterpret_cast<Bytef*>(const_cast<char*>(data));
}

class DeflateStream {
  public:
    explicit DeflateStream(const CompressorSettings& settings) {
        const int result = deflateInit2(&stream_, settings.level, Z_DEFLATED,
                                        -effective_window_bits(settings.window_bits),
                                        settings.memory_level, Z_DEFAULT_STRATEGY);
        if (result != Z_OK) {
            throw WebSocketError(fmt::format("deflateInit2 failed ({})", result));
        }
    }
    ~DeflateStream() { deflateEnd(&stream_); }
    DeflateStream(const DeflateStream&) = delete;
    DeflateStream& operator=(const DeflateStream&) = delete;

    void reset() noexcept { deflateReset(&stream_); }

    // Compresses `message` and flushes; appends the output minus the 00 00 FF FF marker.
    void compress(std::string_view message, std::string& out) {
        const std::size_t start = out.size();
        std::size_t written = start;
        out.resize(start + deflateBound(&stream_, message.size()) + 16);
        std::size_t remaining = message.size();
        const char* input = message.data();
        do {
            if (stream_.avail_in == 0 && remaining > 0) {
                const std::size_t piece = std::min(remaining, max_zlib_chunk);
                stream_.next_in = zlib_bytes(input);
                stream_.avail_in = static_cast<uInt>(piece);
                input += piece;
                remaining -= piece;
            }
            if (out.size() - written < 64) {
                out.resize(out.size() + std::max<std::size_t>(out.size() / 2, 4096));
            }
            const std::size_t room = std::min(out.size() - written, max_zlib_chunk);
            stream_.next_out = zlib_bytes(out.data() + written);
            stream_.avail_out = static_cast<uInt>(room);
            const int flush = remaining == 0 ? Z_SYNC_FLUSH : Z_NO_FLUSH;
            const int result = deflate(&stream_, flush);
            if (result != Z_OK && result != Z_BUF_ERROR) {
                throw WebSocketError(fmt::format("deflate failed ({})", result));
            }
            written += room - stream_.avail_out;
        } while (remaining > 0 || stream_.avail_in > 0 || stream_.avail_out == 0);
        if (written - start >= flush_tail.size() &&
            std::string_view(out).substr(written - flush_tail.size(), flush_tail.size()) ==
                flush_tail) {
            written -= flush_tail.size();
        }
        out.resize(written);
        if (written == start) {
            // zlib had nothing to flush (an empty message after a flushed one). An empty
            // payload plus 00 00 FF FF would not be a whole block; 00 makes an empty stored
            // block of it, as RFC 7692 §7.2.3.6 shows.
            out.push_back('\0');
        }
    }

  private:
    z_stream stream_{};
};

// Compressors without context takeover share one zlib stream per thread and configuration:
// their state is meaningless between messages, and it is large.
struct SharedDeflateStream {
    int window_bits;
    int level;
    int memory_level;
    std::unique_ptr<DeflateStream> stream;
};

DeflateStream& shared_stream_for(const CompressorSettings& settings) {
    thread_local std::vector<SharedDeflateStream> streams;
    const int window_bits = effective_window_bits(settings.window_bits);
    for (SharedDeflateStream& shared : streams) {
        if (shared.window_bits == window_bits && shared.level == settings.level &&
            shared.memory_level == settings.memory_level) {
            return *shared.stream;
        }
    }
    if (streams.size() == max_shared_streams) {
        streams.erase(streams.begin());
    }
    streams.push_back(SharedDeflateStream{window_bits, settings.level, settings.memory_level,
                                          std::make_unique<DeflateStream>(settings)});
    return *streams.back().stream;
}

// Resets a stream when a message is done with it, also when compressing threw.
class ResetOnExit {
  public:
    explicit ResetOnExit(DeflateStream& stream) noexcept : stream_(stream) {}
    ~ResetOnExit() { stream_.reset(); }
    ResetOnExit(const ResetOnExit&) = delete;
    ResetOnExit& operator=(const ResetOnExit&) = delete;

  private:
    DeflateStream& stream_;
};

}  // namespace

struct MessageCompressor::Stream : DeflateStream {
    using DeflateStream::DeflateStream;
};

MessageCompressor::MessageCompressor(CompressorSettings settings) : settings_(settings) {
    check_settings(settings_);
}
MessageCompressor::~MessageCompressor() = default;
MessageCompressor::MessageCompressor(MessageCompressor&&) noexcept = default;
MessageCompressor& MessageCompressor::operator=(MessageCompressor&&) noexcept = default;

void MessageCompressor::compress(std::string_view message, std::string& out) {
    if (!settings_.context_takeover) {
        DeflateStream& shared = shared_stream_for(settings_);
        ResetOnExit reset_after(shared);
        shared.compress(message, out);
        return;
    }
    if (!stream_) {
        stream_ = std::make_unique<Stream>(settings_);
    }
    try {
        stream_->compress(message, out);
    } catch (...) {
        stream_.reset();  // its history no longer matches what the peer has seen
        throw;
    }
}

std::string MessageCompressor::compress(std::string_view message) {
    std::string out;
    compress(message, out);
    return out;
}

void MessageCompressor::reset() {
    if (stream_) {
        stream_->reset();
    }
}

// --- decompression ------------------------------------------------------------------------

struct MessageDecompressor::Stream {
    explicit Stream(int window_bits) {
        if (inflateInit2(&stream, -effective_window_bits(window_bits)) != Z_OK) {
            throw WebSocketError("inflateInit2 failed");
        }
    }
    ~Stream() { inflateEnd(&stream); }
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    // The sender ended a deflate stream with a final block (RFC 7692 §7.2.3.3 allows it).
    // Whatever follows starts a new stream that may still refer to the window.
    void restart_keeping_window() {
        thread_local std::array<Bytef, 32768> window;
        uInt window_size = 0;
        inflateGetDictionary(&stream, window.data(), &window_size);
        inflateReset(&stream);
        inflateSetDictionary(&stream, window.data(), window_size);
        ++final_blocks;
    }

    z_stream stream{};
    // Final blocks seen in the current message: one is how a sender may end a message, more
    // would make every two bytes of input cost a window copy.
    int final_blocks = 0;
};

MessageDecompressor::MessageDecompressor(int window_bits, bool context_takeover)
    : window_bits_(window_bits), context_takeover_(context_takeover) {
    if (window_bits < 8 || window_bits > 15) {
        throw WebSocketError(fmt::format("deflate window bits {} outside 8..15", window_bits));
    }
}
MessageDecompressor::~MessageDecompressor() = default;
MessageDecompressor::MessageDecompressor(MessageDecompressor&&) noexcept = default;
MessageDecompressor& MessageDecompressor::operator=(MessageDecompressor&&) noexcept = default;

std::optional<Violation> MessageDecompressor::decompress(std::string_view data, std::string& out,
                                                         std::size_t max_size) {
    message_has_data_ = message_has_data_ || !data.empty();
    while (data.size() > max_zlib_chunk) {
        if (auto violation = inflate_into(data.substr(0, max_zlib_chunk), out, max_size)) {
            return violation;
        }
        data.remove_prefix(max_zlib_chunk);
    }
    return inflate_into(data, out, max_size);
}

std::optional<Violation> MessageDecompressor::finish_message(std::string& out,
                                                             std::size_t max_size) {
    // A message without any compressed bytes is empty; the tail alone would leave the stream
    // inside a stored block header.
    std::optional<Violation> violation;
    if (message_has_data_) {
        violation = inflate_into(flush_tail, out, max_size);
    }
    message_has_data_ = false;
    if (!context_takeover_) {
        stream_.reset();
    } else if (stream_) {
        stream_->final_blocks = 0;
    }
    return violation;
}

std::optional<Violation> MessageDecompressor::inflate_into(std::string_view data, std::string& out,
                                                           std::size_t max_size) {
    if (!stream_) {
        stream_ = std::make_unique<Stream>(window_bits_);
    }
    z_stream& stream = stream_->stream;
    stream.next_in = zlib_bytes(data.data());
    stream.avail_in = static_cast<uInt>(data.size());
    std::array<char, 16 * 1024> chunk;
    while (true) {
        stream.next_out = zlib_bytes(chunk.data());
        stream.avail_out = static_cast<uInt>(chunk.size());
        const uInt input_before = stream.avail_in;
        const int result = inflate(&stream, Z_SYNC_FLUSH);
        const std::size_t produced = chunk.size() - stream.avail_out;
        if (produced > max_size || out.size() > max_size - produced) {
            // Keep what fits: the caller checks it (UTF-8) before reporting, so that errors
            // come in the order of the data however its bytes were split.
            out.append(chunk.data(), std::min(produced, max_size - std::min(out.size(), max_size)));
            return Violation{CloseCode::message_too_big,
                             fmt::format("message exceeds the limit of {} bytes after "
                                         "decompression",
                                         max_size)};
        }
        out.append(chunk.data(), produced);
        if (result == Z_STREAM_END) {
            if (stream_->final_blocks > 0) {
                return Violation{CloseCode::invalid_payload,
                                 "invalid compressed data: a second final block in one message"};
            }
            stream_->restart_keeping_window();
        } else if (result == Z_DATA_ERROR) {
            return Violation{CloseCode::invalid_payload,
                             fmt::format("invalid compressed data: {}",
                                         stream.msg != nullptr ? stream.msg : "corrupt")};
        } else if (result != Z_OK && result != Z_BUF_ERROR) {
            throw WebSocketError(fmt::format("inflate failed ({})", result));
        } else if (produced == 0 && stream.avail_in == input_before && stream.avail_in > 0) {
            return Violation{CloseCode::invalid_payload, "invalid compressed data: no progress"};
        }
        if (stream.avail_in == 0 && stream.avail_out != 0) {
            return std::nullopt;
        }
    }
}

}  // namespace gale::websocket
