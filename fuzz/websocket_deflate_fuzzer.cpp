// libFuzzer target: permessage-deflate's codec.
//
// The first byte chooses window bits, context takeover and level. The rest is split at 0xFF
// bytes into messages. Invariants besides "no crash, no leak, no sanitizer report":
// - compressing the messages one after another and decompressing them (in pieces) gives each
//   message back;
// - decompressing the raw input as if it were a compressed message either fails with 1007 or
//   1009 or produces at most the limit, and never hangs.
#include <gale/websocket/deflate.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace gale::websocket;

constexpr std::size_t max_output = 256 * 1024;

void check(bool condition) {
    if (!condition) {
        std::abort();
    }
}

std::vector<std::string_view> split_messages(std::string_view input) {
    std::vector<std::string_view> messages;
    while (true) {
        const std::size_t separator = input.find('\xff');
        messages.push_back(input.substr(0, separator));
        if (separator == std::string_view::npos) {
            return messages;
        }
        input.remove_prefix(separator + 1);
    }
}

void round_trip(int window_bits, bool context_takeover, int level, std::string_view input) {
    MessageCompressor compressor(CompressorSettings{.window_bits = window_bits,
                                                    .context_takeover = context_takeover,
                                                    .level = level,
                                                    .memory_level = 1 + level % 9});
    MessageDecompressor decompressor(window_bits, context_takeover);
    for (std::string_view message : split_messages(input)) {
        const std::string compressed = compressor.compress(message);
        std::string out;
        // Pieces of 7 bytes: a message's data arrives in arbitrary pieces.
        for (std::size_t offset = 0; offset < compressed.size(); offset += 7) {
            check(!decompressor.decompress(std::string_view(compressed).substr(offset, 7), out,
                                           message.size()));
        }
        check(!decompressor.finish_message(out, message.size()));
        check(out == message);
    }
}

void inflate_garbage(int window_bits, bool context_takeover, std::string_view input) {
    MessageDecompressor decompressor(window_bits, context_takeover);
    for (std::string_view message : split_messages(input)) {
        std::string out;
        auto violation = decompressor.decompress(message, out, max_output);
        if (!violation) {
            violation = decompressor.finish_message(out, max_output);
        }
        check(out.size() <= max_output);
        if (violation) {
            check(violation->code == CloseCode::invalid_payload ||
                  violation->code == CloseCode::message_too_big);
            return;  // a connection is failed here
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    const int window_bits = 8 + (data[0] & 7);
    const bool context_takeover = (data[0] & 8) != 0;
    const int level = (data[0] >> 4) % 10;
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    round_trip(window_bits, context_takeover, level, input);
    inflate_garbage(window_bits, context_takeover, input);
    return 0;
}
