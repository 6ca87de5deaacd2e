// libFuzzer target: the frame parser, message assembler and decompressor, through
// MessageReader.
//
// The first two bytes choose the setup (role, permessage-deflate and its parameters, the
// non-minimal length option, a chunk size); the rest is the peer's bytes. Invariants besides
// "no crash, no leak, no sanitizer report": `consumed` never exceeds the input, messages stay
// within the size limit, text messages are valid UTF-8, violation reasons fit a close frame,
// and reading in chunks reports exactly what reading everything at once does (but for a peer
// that exceeds the agreed deflate window, see below).
#include <gale/websocket/reader.hpp>
#include <gale/websocket/utf8.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace gale::websocket;

constexpr std::uint64_t max_message_size = 64 * 1024;

void check(bool condition) {
    if (!condition) {
        std::abort();
    }
}

struct Event {
    ReadEvent kind;
    std::string payload;
    CloseCode code;
    bool operator==(const Event&) const = default;
};

std::vector<Event> read_in_chunks(MessageReader reader, std::string_view wire, std::size_t chunk) {
    std::vector<Event> events;
    std::string buffer;
    std::size_t offset = 0;
    while (true) {
        const std::size_t take = std::min(chunk, wire.size() - offset);
        buffer.append(wire.substr(offset, take));
        offset += take;
        while (true) {
            const ReadResult result = reader.read(buffer);
            check(result.consumed <= buffer.size());
            buffer.erase(0, result.consumed);
            if (result.event == ReadEvent::need_more) {
                break;
            }
            Event event{result.event, {}, CloseCode::no_status};
            if (result.event == ReadEvent::message) {
                event.payload = reader.take_message();
                check(event.payload.size() <= max_message_size);
                check(reader.opcode() != Opcode::text || is_valid_utf8(event.payload));
            } else if (result.event == ReadEvent::close) {
                event.code = reader.close_code();
                event.payload = std::string(reader.close_reason());
                check(is_valid_utf8(event.payload));
            } else if (result.event == ReadEvent::violation) {
                event.code = reader.violation().code;
                event.payload = reader.violation().reason;
                check(event.payload.size() <= max_close_reason_size);
                events.push_back(event);
                return events;
            } else {
                event.payload = std::string(reader.control_payload());
                check(event.payload.size() <= max_control_payload_size);
            }
            events.push_back(std::move(event));
        }
        if (offset == wire.size()) {
            return events;
        }
    }
}

bool reaches_too_far(const std::vector<Event>& events) {
    return !events.empty() && events.back().kind == ReadEvent::violation &&
           events.back().payload.find("too far back") != std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    const std::uint8_t setup = data[0];
    const std::size_t chunk = 1 + data[1] % 64;
    const std::string_view wire(reinterpret_cast<const char*>(data) + 2, size - 2);

    ReaderOptions options;
    options.role = (setup & 1) != 0 ? Role::client : Role::server;
    options.max_message_size = max_message_size;
    options.allow_non_minimal_length = (setup & 0x20) != 0;
    std::optional<DeflateParameters> deflate;
    if ((setup & 2) != 0) {
        static constexpr int window_bits[] = {8, 10, 12, 15};
        const int bits = window_bits[(setup >> 2) & 3];
        const bool no_takeover = (setup & 0x10) != 0;
        deflate = DeflateParameters{no_takeover, no_takeover, bits, bits};
    }
    const std::vector<Event> whole = read_in_chunks(MessageReader(options, deflate), wire,
                                                    std::max<std::size_t>(wire.size(), 1));
    const std::vector<Event> chunked = read_in_chunks(MessageReader(options, deflate), wire, chunk);
    if (whole != chunked) {
        // zlib resolves a match from its output buffer when it can, so a peer that reaches
        // further back than the agreed window (below 15 bits) may be caught or not depending
        // on how its bytes are split. That is the one allowed difference.
        check(deflate && deflate->client_max_window_bits < 15 &&
              (reaches_too_far(whole) || reaches_too_far(chunked)));
    }
    return 0;
}
