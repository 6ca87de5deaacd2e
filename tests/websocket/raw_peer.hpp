#pragma once
// A raw WebSocket peer for connection-level tests: it speaks to gale's server over a real
// TCP socket on 127.0.0.1 with frames built by hand (test_frames.hpp), and reads the server's
// frames with its own small parser, so the code under test never checks itself. Also raw zlib
// helpers for permessage-deflate payloads.

#include "test_frames.hpp"

#include <gale/ioloop/combinators.hpp>
#include <gale/ioloop/iostream.hpp>
#include <gale/ioloop/tcp_client.hpp>

#include <zlib.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace gale::websocket::test {

using namespace std::chrono_literals;

// A frame as the server sent it.
struct PeerFrame {
    bool fin = true;
    bool rsv1 = false;
    int opcode = 0;
    bool masked = false;
    std::string payload;

    // The close code of a close frame (1005 when it has none).
    int close_code() const {
        if (payload.size() < 2) {
            return 1005;
        }
        return (static_cast<std::uint8_t>(payload[0]) << 8) | static_cast<std::uint8_t>(payload[1]);
    }
    std::string close_reason() const { return payload.size() > 2 ? payload.substr(2) : ""; }
};

// The sample key of RFC 6455 §1.3 and its accept value.
inline constexpr const char* sample_key = "dGhlIHNhbXBsZSBub25jZQ==";
inline constexpr const char* sample_accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

inline std::string upgrade_request(std::uint16_t port, const std::string& path,
                                   const std::string& extra_headers = {}) {
    return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
           "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + sample_key +
           "\r\nSec-WebSocket-Version: 13\r\n" + extra_headers + "\r\n";
}

class RawPeer {
  public:
    IOStream stream;
    std::string response_head;

    // Connects and sends the upgrade request; `open` is true when the answer is a 101.
    static Task<RawPeer> connect(std::uint16_t port, std::string path = "/ws",
                                 std::string extra_headers = {}) {
        RawPeer peer;
        peer.stream = co_await connect_to(*SocketAddress::from_ip("127.0.0.1", port));
        co_await peer.stream.write(upgrade_request(port, path, extra_headers));
        peer.response_head = co_await with_timeout(10s, peer.stream.read_until("\r\n\r\n", 65536));
        co_return peer;
    }

    int status() const {
        if (response_head.size() < 12) {
            return 0;
        }
        return std::stoi(response_head.substr(9, 3));
    }

    // The value of a response header (case-insensitive name), or empty.
    std::string header(const std::string& name) const {
        std::string lower_head;
        for (char c : response_head) {
            lower_head += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        std::string needle = "\r\n";
        for (char c : name) {
            needle += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        needle += ":";
        std::size_t at = lower_head.find(needle);
        if (at == std::string::npos) {
            return {};
        }
        std::size_t start = at + needle.size();
        std::size_t end = response_head.find("\r\n", start);
        std::string value = response_head.substr(start, end - start);
        while (!value.empty() && value.front() == ' ') {
            value.erase(0, 1);
        }
        return value;
    }

    Task<void> send(std::string bytes) { co_await stream.write(std::move(bytes)); }

    // Sends `bytes` in pieces of `piece` bytes, each written and flushed on its own.
    Task<void> send_in_pieces(std::string bytes, std::size_t piece) {
        for (std::size_t offset = 0; offset < bytes.size(); offset += piece) {
            co_await stream.write(bytes.substr(offset, piece));
            co_await stream.flush();
            co_await sleep(1ms);
        }
    }

    // The next frame from the server; none when the connection ended (or nothing came within
    // `timeout`: then `timed_out` is set).
    Task<std::optional<PeerFrame>> read_frame(IOLoop::Duration timeout = 10s) {
        timed_out = false;
        try {
            co_return co_await with_timeout(timeout, read_frame_now());
        } catch (const TimeoutError&) {
            timed_out = true;
        } catch (const StreamClosedError&) {
        }
        co_return std::nullopt;
    }

    // Reads frames until a close frame and returns its code; -1 when the connection ended
    // first. Data frames and pongs on the way are collected in `skipped`.
    Task<int> read_close_code(IOLoop::Duration timeout = 10s) {
        while (true) {
            std::optional<PeerFrame> frame = co_await read_frame(timeout);
            if (!frame) {
                co_return -1;
            }
            if (frame->opcode == 0x8) {
                last_close = *frame;
                co_return frame->close_code();
            }
            skipped.push_back(std::move(*frame));
        }
    }

    // True when the server closes the TCP connection within `timeout` (after a close).
    Task<bool> server_closes(IOLoop::Duration timeout = 5s) {
        try {
            co_await with_timeout(timeout, drain());
            co_return true;
        } catch (const TimeoutError&) {
            co_return false;
        } catch (const StreamClosedError&) {
            co_return true;
        }
    }

    // Answers a server's close frame (echoing `code`) and checks the TCP connection ends.
    Task<bool> finish_close(int code) {
        std::string payload =
            code == 1005 ? std::string() : close_payload_bytes(static_cast<std::uint16_t>(code));
        try {
            co_await stream.write(client_frame(0x8, payload));
        } catch (const StreamClosedError&) {
        }
        co_return co_await server_closes();
    }

    bool timed_out = false;
    std::vector<PeerFrame> skipped;
    PeerFrame last_close;

  private:
    Task<void> drain() {
        bool more = true;
        while (more) {
            stream.consume(stream.buffered().size());
            more = co_await stream.wait_for_data();
        }
    }

    Task<PeerFrame> read_frame_now() {
        std::string head = co_await stream.read_bytes(2);
        PeerFrame frame;
        const auto first = static_cast<std::uint8_t>(head[0]);
        const auto second = static_cast<std::uint8_t>(head[1]);
        frame.fin = (first & 0x80) != 0;
        frame.rsv1 = (first & 0x40) != 0;
        frame.opcode = first & 0x0F;
        frame.masked = (second & 0x80) != 0;
        std::uint64_t length = second & 0x7F;
        if (length >= 126) {
            std::string extended = co_await stream.read_bytes(length == 126 ? 2 : 8);
            length = 0;
            for (char byte : extended) {
                length = (length << 8) | static_cast<std::uint8_t>(byte);
            }
        }
        std::string key;
        if (frame.masked) {
            key = co_await stream.read_bytes(4);
        }
        frame.payload = co_await stream.read_bytes(static_cast<std::size_t>(length));
        if (frame.masked) {
            for (std::size_t i = 0; i < frame.payload.size(); ++i) {
                frame.payload[i] = static_cast<char>(frame.payload[i] ^ key[i % 4]);
            }
        }
        co_return frame;
    }
};

// Raw deflate with a sync flush and the 00 00 FF FF tail removed (RFC 7692 §7.2.1), each
// message on its own (no context takeover).
inline std::string deflate_message(std::string_view text, int window_bits = 15) {
    z_stream zs{};
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -window_bits, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        throw std::runtime_error("deflateInit2");
    }
    std::string out(deflateBound(&zs, text.size()) + 16, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    zs.avail_in = static_cast<uInt>(text.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    deflate(&zs, Z_SYNC_FLUSH);
    out.resize(out.size() - zs.avail_out);
    deflateEnd(&zs);
    if (out.size() >= 4 && out.compare(out.size() - 4, 4, std::string("\0\0\xff\xff", 4)) == 0) {
        out.resize(out.size() - 4);
    }
    return out;
}

// Inflates messages of a connection (keeping the window unless `context_takeover` is off).
class PeerInflater {
  public:
    explicit PeerInflater(bool context_takeover = true) : context_takeover_(context_takeover) {
        inflateInit2(&zs_, -15);
    }
    ~PeerInflater() { inflateEnd(&zs_); }
    PeerInflater(const PeerInflater&) = delete;
    PeerInflater& operator=(const PeerInflater&) = delete;

    std::string inflate_message(std::string payload) {
        payload.append("\0\0\xff\xff", 4);
        std::string out;
        zs_.next_in = reinterpret_cast<Bytef*>(payload.data());
        zs_.avail_in = static_cast<uInt>(payload.size());
        char buffer[16384];
        do {
            zs_.next_out = reinterpret_cast<Bytef*>(buffer);
            zs_.avail_out = sizeof buffer;
            int status = ::inflate(&zs_, Z_SYNC_FLUSH);
            if (status != Z_OK && status != Z_BUF_ERROR && status != Z_STREAM_END) {
                throw std::runtime_error("inflate failed");
            }
            out.append(buffer, sizeof buffer - zs_.avail_out);
        } while (zs_.avail_out == 0);
        if (!context_takeover_) {
            inflateReset(&zs_);
        }
        return out;
    }

  private:
    z_stream zs_{};
    bool context_takeover_;
};

}  // namespace gale::websocket::test
