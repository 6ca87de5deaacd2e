// Encoding: frames as a server and as a client, control frames, fragmented and compressed
// messages, and prepared (broadcast) messages, all checked through the reader.

#include <gale/websocket/errors.hpp>
#include <gale/websocket/writer.hpp>

#include <catch2/catch.hpp>

#include "websocket/test_frames.hpp"

#include <thread>

using namespace gale::websocket;
using gale::websocket::test::bytes;
using gale::websocket::test::read_all;
using gale::websocket::test::sample_text;

namespace {

MessageReader reader_for(Role receiver, std::optional<DeflateParameters> deflate = std::nullopt) {
    return MessageReader(ReaderOptions{.role = receiver}, deflate);
}

}  // namespace

TEST_CASE("a server frame is unmasked, in the shortest form", "[writer]") {
    // RFC 6455 §5.7.
    CHECK(encode_frame(Role::server, Opcode::text, "Hello") ==
          bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
    CHECK(encode_frame(Role::server, Opcode::text, "Hel", false) ==
          bytes({0x01, 0x03, 0x48, 0x65, 0x6c}));
    CHECK(encode_frame(Role::server, Opcode::continuation, "lo") ==
          bytes({0x80, 0x02, 0x6c, 0x6f}));
    const std::string frame256 = encode_frame(Role::server, Opcode::binary, std::string(256, 'x'));
    CHECK(frame256.substr(0, 4) == bytes({0x82, 0x7E, 0x01, 0x00}));
    CHECK(frame256.size() == 260);
    const std::string frame64k =
        encode_frame(Role::server, Opcode::binary, std::string(65536, 'x'));
    CHECK(frame64k.substr(0, 10) == bytes({0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}));
}

TEST_CASE("a client frame is masked with a fresh key and reads back", "[writer]") {
    const std::string first = encode_frame(Role::client, Opcode::text, "Hello");
    const std::string second = encode_frame(Role::client, Opcode::text, "Hello");
    CHECK(first.size() == 11);
    CHECK(static_cast<std::uint8_t>(first[1]) == 0x85);
    CHECK(first.substr(2, 4) != second.substr(2, 4));  // a 2^-32 chance of a false failure
    MessageReader reader = reader_for(Role::server);
    const auto transcript = read_all(reader, first + second);
    CHECK(transcript.messages() == std::vector<std::string>{"Hello", "Hello"});
}

TEST_CASE("control frame helpers", "[writer]") {
    CHECK(ping_frame(Role::server, "Hello") == bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
    CHECK(pong_frame(Role::server, "Hello") == bytes({0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
    CHECK(ping_frame(Role::server) == bytes({0x89, 0x00}));
    CHECK(close_frame(Role::server) == bytes({0x88, 0x00}));
    CHECK(close_frame(Role::server, CloseCode::normal) == bytes({0x88, 0x02, 0x03, 0xe8}));
    CHECK(ping_frame(Role::server, std::string(125, 'p')).size() == 127);
    CHECK_THROWS_WITH(ping_frame(Role::server, std::string(126, 'p')),
                      Catch::Contains("126") && Catch::Contains("125"));
    CHECK_THROWS_AS(pong_frame(Role::client, std::string(200, 'p')), WebSocketError);
    CHECK_THROWS_AS(close_frame(Role::server, CloseCode::no_status), WebSocketError);
    CHECK_THROWS_AS(close_frame(Role::server, CloseCode::normal, std::string(124, 'r')),
                    WebSocketError);
    CHECK_THROWS_AS(encode_frame(Role::server, Opcode::ping, "x", false), WebSocketError);

    MessageReader reader = reader_for(Role::server);
    const auto transcript = read_all(
        reader, ping_frame(Role::client, "are you there") + pong_frame(Role::client, "yes") +
                    close_frame(Role::client, CloseCode::going_away, "goodbye"));
    REQUIRE(transcript.events.size() == 3);
    CHECK(transcript.events[0].kind == ReadEvent::ping);
    CHECK(transcript.events[0].payload == "are you there");
    CHECK(transcript.events[1].kind == ReadEvent::pong);
    CHECK(transcript.events[1].payload == "yes");
    CHECK(transcript.events[2].kind == ReadEvent::close);
    CHECK(transcript.events[2].code == CloseCode::going_away);
    CHECK(transcript.events[2].payload == "goodbye");
}

TEST_CASE("fragmented messages", "[writer]") {
    const std::string text = sample_text(1000);
    const std::string wire =
        encode_message(Role::server, Opcode::text, text, {.fragment_size = 300});
    // Four frames: text without FIN, two continuations, a final continuation.
    FrameParser parser(FrameRules{.role = Role::client});
    std::string_view rest = wire;
    std::vector<std::pair<Opcode, bool>> frames;
    while (!rest.empty()) {
        REQUIRE(parser.parse(rest) == FrameParser::Status::complete);
        frames.emplace_back(parser.header().opcode, parser.header().fin);
        rest.remove_prefix(parser.header().header_size + parser.header().payload_length);
    }
    CHECK(frames == std::vector<std::pair<Opcode, bool>>{{Opcode::text, false},
                                                         {Opcode::continuation, false},
                                                         {Opcode::continuation, false},
                                                         {Opcode::continuation, true}});
    MessageReader reader = reader_for(Role::client);
    CHECK(read_all(reader, wire).messages() == std::vector<std::string>{text});
    // An empty message is one frame; so is one no longer than a fragment.
    CHECK(encode_message(Role::server, Opcode::binary, "", {.fragment_size = 10}) ==
          bytes({0x82, 0x00}));
    CHECK(
        encode_message(Role::server, Opcode::binary, "0123456789", {.fragment_size = 10}).size() ==
        12);
    CHECK_THROWS_AS(encode_message(Role::server, Opcode::ping, "x"), WebSocketError);
    CHECK_THROWS_AS(encode_message(Role::server, Opcode::continuation, "x"), WebSocketError);
}

TEST_CASE("compressed messages: RSV1 on the first frame only, both directions", "[writer]") {
    const DeflateParameters agreed;
    for (Role sender : {Role::server, Role::client}) {
        const Role receiver = sender == Role::server ? Role::client : Role::server;
        MessageCompressor compressor = make_compressor(sender, agreed);
        MessageReader reader = reader_for(receiver, agreed);
        std::string wire;
        std::vector<std::string> sent;
        for (int index = 0; index < 20; ++index) {
            sent.push_back(sample_text(100 + static_cast<std::size_t>(index) * 500,
                                       static_cast<std::uint32_t>(index % 3)));
            append_message(
                wire, sender, Opcode::text, sent.back(),
                {.compressor = &compressor, .fragment_size = index % 2 == 0 ? 0 : std::size_t{64}});
        }
        FrameParser parser(FrameRules{.role = receiver, .rsv1_allowed = true});
        REQUIRE(parser.parse(wire) == FrameParser::Status::complete);
        CHECK(parser.header().rsv1);
        CHECK(read_all(reader, wire, 777).messages() == sent);
    }
    // Fragmented: only the first frame carries RSV1.
    MessageCompressor compressor;
    const std::string wire = encode_message(Role::server, Opcode::binary, sample_text(5000),
                                            {.compressor = &compressor, .fragment_size = 100});
    FrameParser parser(FrameRules{.role = Role::client, .rsv1_allowed = true});
    REQUIRE(parser.parse(wire) == FrameParser::Status::complete);
    CHECK(parser.header().rsv1);
    std::string_view rest =
        std::string_view(wire).substr(parser.header().header_size + parser.header().payload_length);
    REQUIRE(parser.parse(rest) == FrameParser::Status::complete);
    CHECK(parser.header().opcode == Opcode::continuation);
    CHECK_FALSE(parser.header().rsv1);
}

TEST_CASE("RFC 7692 7.2.3.1 on the wire: a compressed Hello", "[writer]") {
    MessageCompressor compressor;
    CHECK(encode_message(Role::server, Opcode::text, "Hello", {.compressor = &compressor}) ==
          bytes({0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
}

TEST_CASE("prepared messages: plain and compressed shared frames", "[writer]") {
    const std::string text = sample_text(3000, 4);
    const PreparedMessage prepared(Opcode::text, text, {.compress = true, .window_bits = 12});
    CHECK(*prepared.plain_frame() == encode_message(Role::server, Opcode::text, text));
    REQUIRE(prepared.compressed_frame());
    CHECK(prepared.compressed_frame()->size() < prepared.plain_frame()->size() / 2);

    // No deflate, or a window smaller than the one used: the plain frame.
    CHECK_FALSE(prepared.frame_for(std::nullopt).compressed);
    CHECK(prepared.frame_for(std::nullopt).frame == prepared.plain_frame());
    CHECK_FALSE(prepared.frame_for(DeflateParameters{false, false, 11, 15}).compressed);
    const DeflateParameters agreed{false, false, 12, 15};
    REQUIRE(prepared.frame_for(agreed).compressed);

    MessageReader reader = reader_for(Role::client, agreed);
    CHECK(read_all(reader, *prepared.frame_for(agreed).frame).messages() ==
          std::vector<std::string>{text});
    const PreparedMessage plain_only(Opcode::binary, "abc");
    CHECK_FALSE(plain_only.compressed_frame());
    CHECK_FALSE(plain_only.frame_for(agreed).compressed);
}

TEST_CASE("a shared compressed frame between a connection's own messages needs reset()",
          "[writer]") {
    const DeflateParameters agreed;  // context takeover both ways
    const std::string own = sample_text(4000, 1);
    const std::string shared_text = sample_text(4000, 2);
    const PreparedMessage shared(Opcode::text, shared_text, {.compress = true});
    for (bool reset : {true, false}) {
        MessageCompressor compressor = make_compressor(Role::server, agreed);
        std::string wire =
            encode_message(Role::server, Opcode::text, own, {.compressor = &compressor});
        wire += *shared.frame_for(agreed).frame;
        if (reset) {
            compressor.reset();
        }
        wire += encode_message(Role::server, Opcode::text, own, {.compressor = &compressor});
        MessageReader reader = reader_for(Role::client, agreed);
        const auto transcript = read_all(reader, wire);
        const std::vector<std::string> expected{own, shared_text, own};
        if (reset) {
            CHECK(transcript.messages() == expected);
        } else {
            // Without the reset the third message refers to the wrong history.
            CHECK(transcript.messages() != expected);
        }
    }
}

TEST_CASE("a prepared frame can be written from many threads", "[writer]") {
    const auto prepared = std::make_shared<const PreparedMessage>(
        Opcode::text, sample_text(10000, 3), PreparedMessageOptions{.compress = true});
    std::vector<std::thread> threads;
    std::vector<std::size_t> sizes(4);
    for (std::size_t index = 0; index < sizes.size(); ++index) {
        threads.emplace_back([&, index] {
            std::size_t total = 0;
            for (int round = 0; round < 1000; ++round) {
                const SharedFrame frame = prepared->frame_for(DeflateParameters{}).frame;
                total += frame->size();
            }
            sizes[index] = total;
        });
    }
    for (std::thread& thread : threads) {
        thread.join();
    }
    for (std::size_t size : sizes) {
        CHECK(size == 1000 * prepared->compressed_frame()->size());
    }
}
