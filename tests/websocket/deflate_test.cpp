// permessage-deflate's codec: RFC 7692's examples byte for byte, context takeover, window
// bits, the decompression limit, and data that is not deflate.

#include <gale/websocket/deflate.hpp>
#include <gale/websocket/errors.hpp>

#include <zlib.h>
#include <catch2/catch.hpp>

#include "websocket/test_frames.hpp"

using namespace gale::websocket;
using gale::websocket::test::bytes;
using gale::websocket::test::random_bytes;
using gale::websocket::test::sample_text;

namespace {

constexpr std::size_t unlimited = std::size_t{1} << 40;

// Decompresses one whole message, given in pieces of `piece_size` (0: at once).
std::string inflate_message(MessageDecompressor& decompressor, std::string_view payload,
                            std::size_t piece_size = 0, std::size_t max_size = unlimited) {
    std::string out;
    const std::size_t step =
        piece_size == 0 ? std::max<std::size_t>(payload.size(), 1) : piece_size;
    for (std::size_t offset = 0; offset < payload.size(); offset += step) {
        if (auto violation = decompressor.decompress(payload.substr(offset, step), out, max_size)) {
            throw ProtocolError(*violation);
        }
    }
    if (auto violation = decompressor.finish_message(out, max_size)) {
        throw ProtocolError(*violation);
    }
    return out;
}

std::optional<Violation> inflate_violation(MessageDecompressor& decompressor,
                                           std::string_view payload, std::size_t max_size) {
    try {
        inflate_message(decompressor, payload, 0, max_size);
    } catch (const ProtocolError& error) {
        return Violation{error.code(), error.what()};
    }
    return std::nullopt;
}

// zlib's inflate at exactly `window_bits` (it accepts 8 for inflating), fed message after
// message, with a small output buffer so that matches must resolve from its window.
class RawInflater {
  public:
    explicit RawInflater(int window_bits) { REQUIRE(inflateInit2(&stream_, -window_bits) == Z_OK); }
    ~RawInflater() { inflateEnd(&stream_); }
    RawInflater(const RawInflater&) = delete;
    RawInflater& operator=(const RawInflater&) = delete;

    // The message, or none when zlib refuses the data.
    std::optional<std::string> inflate_message(std::string payload) {
        payload += std::string("\x00\x00\xff\xff", 4);
        stream_.next_in = reinterpret_cast<Bytef*>(payload.data());
        stream_.avail_in = static_cast<uInt>(payload.size());
        std::string out;
        char chunk[100];
        int result = Z_OK;
        do {
            stream_.next_out = reinterpret_cast<Bytef*>(chunk);
            stream_.avail_out = sizeof chunk;
            result = inflate(&stream_, Z_SYNC_FLUSH);
            out.append(chunk, sizeof chunk - stream_.avail_out);
        } while (result == Z_OK && (stream_.avail_in > 0 || stream_.avail_out == 0));
        if (result != Z_OK && result != Z_BUF_ERROR) {
            return std::nullopt;
        }
        return out;
    }
    void reset() { inflateReset(&stream_); }

  private:
    z_stream stream_{};
};

}  // namespace

TEST_CASE("RFC 7692 7.2.3.1: Hello compresses to f2 48 cd c9 c9 07 00", "[deflate]") {
    MessageCompressor compressor;
    CHECK(compressor.compress("Hello") == bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
    // 7.2.3.2: with context takeover the second Hello refers back to the first.
    CHECK(compressor.compress("Hello") == bytes({0xf2, 0x00, 0x11, 0x00, 0x00}));
}

TEST_CASE("RFC 7692 7.2.3: every example payload decompresses to Hello", "[deflate]") {
    const std::vector<std::string> payloads = {
        bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}),  // 7.2.3.1
        bytes(
            {0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}),  // 7.2.3.3 stored
        bytes({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}),                  // 7.2.3.4 BFINAL
        bytes({0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07,
               0x00}),  // 7.2.3.5 two blocks
    };
    for (const std::string& payload : payloads) {
        for (std::size_t piece : {0u, 1u, 3u}) {
            MessageDecompressor decompressor;
            CHECK(inflate_message(decompressor, payload, piece) == "Hello");
            // The decompressor is ready for the next message, also after a final block.
            CHECK(inflate_message(decompressor,
                                  bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})) == "Hello");
        }
    }
}

TEST_CASE("RFC 7692 7.2.3.2: a second Hello through the shared window", "[deflate]") {
    MessageDecompressor decompressor;
    CHECK(inflate_message(decompressor, bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})) ==
          "Hello");
    CHECK(inflate_message(decompressor, bytes({0xf2, 0x00, 0x11, 0x00, 0x00})) == "Hello");
    // After a message that ended with a final block the window still carries over.
    MessageDecompressor after_final;
    CHECK(inflate_message(after_final, bytes({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00})) ==
          "Hello");
    CHECK(inflate_message(after_final, bytes({0xf2, 0x00, 0x11, 0x00, 0x00})) == "Hello");
}

TEST_CASE("RFC 7692 7.2.3.6: empty messages", "[deflate]") {
    MessageDecompressor decompressor;
    CHECK(inflate_message(decompressor, bytes({0x00})).empty());
    CHECK(inflate_message(decompressor, "").empty());
    MessageCompressor compressor;
    CHECK(compressor.compress("") == bytes({0x00}));
    CHECK(compressor.compress("") == bytes({0x00}));  // also with nothing left to flush
    CHECK(inflate_message(decompressor, compressor.compress("")).empty());
    CHECK(inflate_message(decompressor, compressor.compress("after")) == "after");
    CHECK(compressor.compress("") == bytes({0x00}));
    CHECK(inflate_message(decompressor, compressor.compress("")).empty());
    CHECK(inflate_message(decompressor, compressor.compress("after")) == "after");
}

TEST_CASE("round trips with and without context takeover at every window size", "[deflate]") {
    const std::vector<std::string> messages = {
        sample_text(5000, 1), sample_text(70000, 2), "",
        sample_text(5000, 1), random_bytes(3000),    sample_text(200000, 3)};
    for (int bits = 8; bits <= 15; ++bits) {
        for (bool takeover : {true, false}) {
            INFO("window bits " << bits << ", context takeover " << takeover);
            MessageCompressor compressor(
                CompressorSettings{.window_bits = bits, .context_takeover = takeover});
            MessageDecompressor decompressor(bits, takeover);
            for (const std::string& message : messages) {
                const std::string compressed = compressor.compress(message);
                CHECK(inflate_message(decompressor, compressed, 1000) == message);
            }
        }
    }
}

TEST_CASE("window 8 compresses with 9 bits yet inflates with a 256-byte window", "[deflate]") {
    const std::string text = sample_text(100000, 5);
    for (bool takeover : {true, false}) {
        MessageCompressor compressor(
            CompressorSettings{.window_bits = 8, .context_takeover = takeover});
        RawInflater inflater(8);
        for (int round = 0; round < 3; ++round) {
            CHECK(inflater.inflate_message(compressor.compress(text)) == text);
            if (!takeover) {
                inflater.reset();
            }
        }
    }
}

TEST_CASE("context takeover makes repeated messages small; no takeover keeps them equal",
          "[deflate]") {
    const std::string message = sample_text(2000, 9);
    MessageCompressor with_context;
    const std::size_t first = with_context.compress(message).size();
    const std::size_t second = with_context.compress(message).size();
    CHECK(second < first / 4);
    MessageCompressor without_context(CompressorSettings{.context_takeover = false});
    CHECK(without_context.compress(message).size() == first);
    CHECK(without_context.compress(message).size() == first);
    // reset() forgets the history.
    with_context.reset();
    CHECK(with_context.compress(message).size() == first);
}

TEST_CASE("a decompressor without context takeover rejects back-references", "[deflate]") {
    MessageCompressor compressor;  // keeps its context, against the agreement
    MessageDecompressor decompressor(15, false);
    const std::string message = sample_text(2000, 4);
    CHECK(inflate_message(decompressor, compressor.compress(message)) == message);
    const auto violation = inflate_violation(decompressor, compressor.compress(message), unlimited);
    REQUIRE(violation);
    CHECK(violation->code == CloseCode::invalid_payload);
    CHECK_THAT(violation->reason, Catch::Contains("invalid compressed data"));
}

TEST_CASE("the decompression limit is exact and stops bombs early", "[deflate]") {
    MessageCompressor compressor;
    const std::string zeros(10 * 1024 * 1024, '\0');
    const std::string bomb = compressor.compress(zeros);
    CHECK(bomb.size() < 20 * 1024);
    MessageDecompressor decompressor;
    std::string out;
    const auto violation = decompressor.decompress(bomb, out, 1024 * 1024);
    REQUIRE(violation);
    CHECK(violation->code == CloseCode::message_too_big);
    CHECK_THAT(violation->reason, Catch::Contains("1048576"));
    CHECK(out.size() <= 1024 * 1024);

    const std::string exact = sample_text(50000, 6);
    MessageCompressor fresh;
    const std::string compressed = fresh.compress(exact);
    MessageDecompressor at_limit;
    CHECK(inflate_message(at_limit, compressed, 0, exact.size()) == exact);
    MessageDecompressor below_limit;
    const auto over = inflate_violation(below_limit, compressed, exact.size() - 1);
    REQUIRE(over);
    CHECK(over->code == CloseCode::message_too_big);
}

TEST_CASE("the limit counts what the output held before", "[deflate]") {
    MessageCompressor compressor;
    MessageDecompressor decompressor;
    std::string out(90, 'x');
    const std::string compressed = compressor.compress(std::string(20, 'y'));
    const auto violation = decompressor.decompress(compressed, out, 100);
    REQUIRE(violation);
    CHECK(violation->code == CloseCode::message_too_big);
}

TEST_CASE("data that is not deflate gives 1007, never a crash", "[deflate]") {
    {
        MessageDecompressor decompressor;
        const auto violation = inflate_violation(decompressor, bytes({0xff, 0xff, 0xff}), 1 << 20);
        REQUIRE(violation);
        CHECK(violation->code == CloseCode::invalid_payload);
        CHECK_THAT(violation->reason, Catch::Contains("invalid block type"));
    }
    // Random payloads: each either inflates within the limit or is rejected.
    for (std::uint64_t seed = 1; seed <= 300; ++seed) {
        MessageDecompressor decompressor(9 + static_cast<int>(seed % 7), seed % 2 == 0);
        const std::string garbage = random_bytes(1 + seed * 7 % 700, seed);
        std::string out;
        auto violation = decompressor.decompress(garbage, out, 4096);
        if (!violation) {
            violation = decompressor.finish_message(out, 4096);
        }
        if (violation) {
            CHECK((violation->code == CloseCode::invalid_payload ||
                   violation->code == CloseCode::message_too_big));
        }
        CHECK(out.size() <= 4096);
    }
}

TEST_CASE("a second final block in one message is 1007", "[deflate]") {
    // Two final blocks, each "Hello": RFC 7692 allows a final block to end a message, not more.
    const std::string final_hello = bytes({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00});
    MessageDecompressor decompressor;
    const auto violation = inflate_violation(decompressor, final_hello + final_hello, 1 << 20);
    REQUIRE(violation);
    CHECK(violation->code == CloseCode::invalid_payload);
    CHECK_THAT(violation->reason, Catch::Contains("second final block"));
}

TEST_CASE("large messages compress and inflate in pieces", "[deflate]") {
    const std::string message = sample_text(3 * 1024 * 1024, 8) + random_bytes(300000);
    MessageCompressor compressor(CompressorSettings{.level = 1, .memory_level = 9});
    const std::string compressed = compressor.compress(message);
    MessageDecompressor decompressor;
    CHECK(inflate_message(decompressor, compressed, 65536) == message);
}

TEST_CASE("compressor settings are validated", "[deflate]") {
    CHECK_THROWS_WITH(MessageCompressor(CompressorSettings{.window_bits = 7}),
                      Catch::Contains("window bits 7"));
    CHECK_THROWS_AS(MessageCompressor(CompressorSettings{.window_bits = 16}), WebSocketError);
    CHECK_THROWS_WITH(MessageCompressor(CompressorSettings{.level = 10}),
                      Catch::Contains("level 10"));
    CHECK_THROWS_WITH(MessageCompressor(CompressorSettings{.memory_level = 0}),
                      Catch::Contains("memory level 0"));
    CHECK_THROWS_AS(MessageDecompressor(16, true), WebSocketError);
    CHECK_NOTHROW(MessageCompressor(CompressorSettings{.level = 0}));
    CHECK_NOTHROW(MessageCompressor(CompressorSettings{.level = -1}));
}

TEST_CASE("compressors without context takeover share a stream per thread safely", "[deflate]") {
    // Different configurations interleaved on one thread must not disturb one another.
    MessageCompressor fast(CompressorSettings{.context_takeover = false, .level = 1});
    MessageCompressor small(CompressorSettings{.window_bits = 9, .context_takeover = false});
    MessageCompressor best(CompressorSettings{.context_takeover = false, .level = 9});
    const std::string message = sample_text(40000, 11);
    MessageDecompressor wide(15, false);
    MessageDecompressor narrow(9, false);
    for (int round = 0; round < 3; ++round) {
        CHECK(inflate_message(wide, fast.compress(message)) == message);
        CHECK(inflate_message(narrow, small.compress(message)) == message);
        CHECK(inflate_message(wide, best.compress(message)) == message);
    }
}

TEST_CASE("compressors and decompressors move", "[deflate]") {
    MessageCompressor compressor;
    const std::string first = compressor.compress("Hello");
    MessageCompressor moved = std::move(compressor);
    CHECK(moved.compress("Hello") == bytes({0xf2, 0x00, 0x11, 0x00, 0x00}));
    MessageDecompressor decompressor;
    CHECK(inflate_message(decompressor, first) == "Hello");
    MessageDecompressor moved_decompressor = std::move(decompressor);
    CHECK(inflate_message(moved_decompressor, bytes({0xf2, 0x00, 0x11, 0x00, 0x00})) == "Hello");
}
