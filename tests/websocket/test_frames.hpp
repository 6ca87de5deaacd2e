#pragma once
// Byte-level helpers for the WebSocket codec tests: raw frames (valid or not, built by hand so
// that the encoder under test is not used to test the parser), and a driver that feeds a
// MessageReader the way a stream would, in chunks, collecting what it reports.

#include <gale/websocket/reader.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gale::websocket::test {

inline constexpr MaskKey test_key{0x37, 0xfa, 0x21, 0x3d};

// A string of the given byte values: bytes({0x81, 0x05}).
inline std::string bytes(std::initializer_list<int> values) {
    std::string result;
    for (int value : values) {
        result.push_back(static_cast<char>(value));
    }
    return result;
}

struct RawFrame {
    std::uint8_t first_byte = 0x81;  // FIN + text
    std::string payload;
    bool masked = true;
    MaskKey key = test_key;
    // 0: shortest; 2 or 8: force the 16- or 64-bit length form.
    int length_form = 0;
};

inline std::string raw_frame(const RawFrame& frame) {
    std::string bytes;
    bytes.push_back(static_cast<char>(frame.first_byte));
    const std::uint8_t mask_bit = frame.masked ? 0x80 : 0;
    const std::uint64_t length = frame.payload.size();
    int form = frame.length_form;
    if (form == 0) {
        form = length < 126 ? 1 : length <= 0xFFFF ? 2 : 8;
    }
    if (form == 1) {
        bytes.push_back(static_cast<char>(mask_bit | length));
    } else {
        bytes.push_back(static_cast<char>(mask_bit | (form == 2 ? 126 : 127)));
        for (int shift = (form - 1) * 8; shift >= 0; shift -= 8) {
            bytes.push_back(static_cast<char>((length >> shift) & 0xFF));
        }
    }
    if (frame.masked) {
        bytes.append(reinterpret_cast<const char*>(frame.key.data()), 4);
    }
    for (std::size_t index = 0; index < frame.payload.size(); ++index) {
        const std::uint8_t mask = frame.masked ? frame.key[index % 4] : 0;
        bytes.push_back(static_cast<char>(static_cast<std::uint8_t>(frame.payload[index]) ^ mask));
    }
    return bytes;
}

// A frame from a client (masked) with FIN and the given opcode.
inline std::string client_frame(std::uint8_t opcode, std::string_view payload, bool fin = true,
                                std::uint8_t reserved_bits = 0) {
    return raw_frame(RawFrame{static_cast<std::uint8_t>((fin ? 0x80 : 0) | reserved_bits | opcode),
                              std::string(payload), true, test_key, 0});
}

// The same from a server (unmasked).
inline std::string server_frame(std::uint8_t opcode, std::string_view payload, bool fin = true,
                                std::uint8_t reserved_bits = 0) {
    return raw_frame(RawFrame{static_cast<std::uint8_t>((fin ? 0x80 : 0) | reserved_bits | opcode),
                              std::string(payload), false, test_key, 0});
}

inline std::string close_payload_bytes(std::uint16_t code, std::string_view reason = {}) {
    std::string payload;
    payload.push_back(static_cast<char>(code >> 8));
    payload.push_back(static_cast<char>(code & 0xFF));
    payload.append(reason);
    return payload;
}

// What a reader reported, flattened for comparisons.
struct Event {
    ReadEvent kind = ReadEvent::need_more;
    Opcode opcode = Opcode::text;
    std::string payload;  // message, ping/pong payload, close reason, or violation reason
    CloseCode code = CloseCode::no_status;  // close code, or the violation's code
};

struct Transcript {
    std::vector<Event> events;
    std::size_t unconsumed = 0;  // bytes left in the buffer at the end

    bool failed() const { return !events.empty() && events.back().kind == ReadEvent::violation; }
    CloseCode failure_code() const { return failed() ? events.back().code : CloseCode::no_status; }
    std::vector<std::string> messages() const {
        std::vector<std::string> result;
        for (const Event& event : events) {
            if (event.kind == ReadEvent::message) {
                result.push_back(event.payload);
            }
        }
        return result;
    }
};

// Feeds `wire` to `reader` in chunks of `chunk_size` bytes (0: all at once), like a stream
// buffer: bytes are appended, `read` is called until it needs more, consumed bytes are dropped.
// Stops at the first violation.
inline Transcript read_all(MessageReader& reader, std::string_view wire,
                           std::size_t chunk_size = 0) {
    Transcript transcript;
    std::string buffer;
    std::size_t offset = 0;
    const std::size_t step = chunk_size == 0 ? std::max<std::size_t>(wire.size(), 1) : chunk_size;
    while (true) {
        const std::size_t take = std::min(step, wire.size() - offset);
        buffer.append(wire.substr(offset, take));
        offset += take;
        while (true) {
            const ReadResult result = reader.read(buffer);
            buffer.erase(0, result.consumed);
            if (result.event == ReadEvent::need_more) {
                break;
            }
            Event event;
            event.kind = result.event;
            switch (result.event) {
                case ReadEvent::message:
                    event.opcode = reader.opcode();
                    event.payload = reader.take_message();
                    break;
                case ReadEvent::ping:
                case ReadEvent::pong:
                    event.payload = std::string(reader.control_payload());
                    break;
                case ReadEvent::close:
                    event.code = reader.close_code();
                    event.payload = std::string(reader.close_reason());
                    break;
                case ReadEvent::violation:
                    event.code = reader.violation().code;
                    event.payload = reader.violation().reason;
                    transcript.events.push_back(event);
                    transcript.unconsumed = buffer.size();
                    return transcript;
                case ReadEvent::need_more:
                    break;
            }
            transcript.events.push_back(event);
        }
        if (offset == wire.size()) {
            transcript.unconsumed = buffer.size();
            return transcript;
        }
    }
}

inline Transcript read_all_as_server(std::string_view wire, std::size_t chunk_size = 0,
                                     std::uint64_t max_message_size = 16 * 1024 * 1024) {
    MessageReader reader(ReaderOptions{.role = Role::server,
                                       .max_message_size = max_message_size,
                                       .allow_non_minimal_length = false});
    return read_all(reader, wire, chunk_size);
}

// Deterministic, moderately compressible text (words from a small vocabulary).
inline std::string sample_text(std::size_t size, std::uint32_t seed = 1) {
    static constexpr std::string_view words[] = {
        "{\"id\": ", "\"name\": ", "\"value\": ",    "gale ",   "websocket ",       "frame ",
        "message ",  "deflate ",   "window ",        "42, ",    "true, ",           "null}, ",
        "Tornado ",  "Autobahn ",  "\u00e9t\u00e9 ", "\u2603 ", "\xf0\x9f\x98\x80 "};
    std::string text;
    std::uint32_t state = seed;
    while (text.size() < size) {
        state = state * 1664525u + 1013904223u;
        text += words[(state >> 16) % std::size(words)];
    }
    // Cut back to a code point boundary at or below `size`.
    std::size_t end = size;
    while (end > 0 && (static_cast<std::uint8_t>(text[end]) & 0xC0) == 0x80) {
        --end;
    }
    text.resize(end);
    return text;
}

// Deterministic incompressible bytes.
inline std::string random_bytes(std::size_t size, std::uint64_t seed = 7) {
    std::string bytes(size, '\0');
    std::uint64_t state = seed;
    for (char& byte : bytes) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        byte = static_cast<char>(state & 0xFF);
    }
    return bytes;
}

}  // namespace gale::websocket::test
