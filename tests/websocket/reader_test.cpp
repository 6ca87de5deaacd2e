// MessageReader against Autobahn|Testsuite's cases at the codec level: what a server must make
// of the client's bytes (sections 1-7 and 9), and compressed traffic (12 and 13). Each case
// is also fed in small chunks, since a stream delivers bytes as they come.

#include <gale/websocket/errors.hpp>
#include <gale/websocket/reader.hpp>
#include <gale/websocket/writer.hpp>

#include <catch2/catch.hpp>

#include "websocket/test_frames.hpp"

using namespace gale::websocket;
using namespace gale::websocket::test;

namespace {

constexpr std::uint8_t text = 0x1;
constexpr std::uint8_t binary = 0x2;
constexpr std::uint8_t continuation = 0x0;
constexpr std::uint8_t close_opcode = 0x8;
constexpr std::uint8_t ping = 0x9;
constexpr std::uint8_t pong = 0xA;

const std::vector<std::size_t> chunk_sizes{0, 1, 2, 7, 64, 997};

// Reads `wire` as a server with every chunk size; checks they all agree and returns one.
Transcript read_in_all_chunkings(std::string_view wire,
                                 std::uint64_t max_message_size = 16 * 1024 * 1024) {
    const Transcript whole = read_all_as_server(wire, 0, max_message_size);
    for (std::size_t chunk : chunk_sizes) {
        const Transcript chunked = read_all_as_server(wire, chunk, max_message_size);
        INFO("chunk size " << chunk);
        REQUIRE(chunked.events.size() == whole.events.size());
        for (std::size_t index = 0; index < whole.events.size(); ++index) {
            CHECK(chunked.events[index].kind == whole.events[index].kind);
            CHECK(chunked.events[index].payload == whole.events[index].payload);
            CHECK(chunked.events[index].code == whole.events[index].code);
        }
    }
    return whole;
}

// The events of a case that ends in a violation: the messages before it, then its code.
void check_fails_with(std::string_view wire, CloseCode code,
                      const std::vector<std::string>& messages_before = {}) {
    const Transcript transcript = read_in_all_chunkings(wire);
    CHECK(transcript.messages() == messages_before);
    REQUIRE(transcript.failed());
    CHECK(transcript.failure_code() == code);
    CHECK(transcript.events.back().payload.size() <= max_close_reason_size);
}

std::string close_frame_with(std::uint16_t code, std::string_view reason = {}) {
    return client_frame(close_opcode, close_payload_bytes(code, reason));
}

}  // namespace

// --- 1: framing ----------------------------------------------------------------------------

TEST_CASE("Autobahn 1.1/1.2: text and binary messages of boundary lengths", "[reader][autobahn]") {
    for (std::size_t length : {0u, 125u, 126u, 127u, 128u, 65535u, 65536u}) {
        INFO("length " << length);
        const std::string payload = sample_text(length);
        const std::string binary_payload = random_bytes(length);
        const Transcript transcript = read_in_all_chunkings(client_frame(text, payload) +
                                                            client_frame(binary, binary_payload));
        REQUIRE(transcript.events.size() == 2);
        CHECK(transcript.events[0].opcode == Opcode::text);
        CHECK(transcript.events[0].payload == payload);
        CHECK(transcript.events[1].opcode == Opcode::binary);
        CHECK(transcript.events[1].payload == binary_payload);
        CHECK(transcript.unconsumed == 0);
    }
}

TEST_CASE("a message event consumes exactly its frame", "[reader]") {
    const std::string first = client_frame(text, "one");
    const std::string wire = first + client_frame(text, "two");
    MessageReader reader;
    const ReadResult result = reader.read(wire);
    CHECK(result.event == ReadEvent::message);
    CHECK(result.consumed == first.size());
    CHECK(reader.message() == "one");
    CHECK(reader.opcode() == Opcode::text);
}

TEST_CASE("need_more consumes partial payload and keeps partial headers", "[reader]") {
    const std::string frame = client_frame(binary, std::string(300, 'z'));
    MessageReader reader;
    // Three header bytes of four (plus the key): nothing can be consumed yet.
    ReadResult result = reader.read(std::string_view(frame).substr(0, 3));
    CHECK(result.event == ReadEvent::need_more);
    CHECK(result.consumed == 0);
    // Header and part of the payload: everything is consumed.
    result = reader.read(std::string_view(frame).substr(0, 100));
    CHECK(result.event == ReadEvent::need_more);
    CHECK(result.consumed == 100);
    result = reader.read(std::string_view(frame).substr(100));
    CHECK(result.event == ReadEvent::message);
    CHECK(result.consumed == frame.size() - 100);
    CHECK(reader.take_message() == std::string(300, 'z'));
}

// --- 2: pings and pongs --------------------------------------------------------------------

TEST_CASE("Autobahn 2.1-2.4, 2.6: pings with payloads are reported whole", "[reader][autobahn]") {
    const std::string binary_payload("\x00\xff\xfe\xfd\xfc\xfb\x00\xff", 8);
    const Transcript transcript = read_in_all_chunkings(
        client_frame(ping, "") + client_frame(ping, "Hello, world!") +
        client_frame(ping, binary_payload) + client_frame(ping, std::string(125, '*')));
    REQUIRE(transcript.events.size() == 4);
    for (const Event& event : transcript.events) {
        CHECK(event.kind == ReadEvent::ping);
    }
    CHECK(transcript.events[0].payload.empty());
    CHECK(transcript.events[1].payload == "Hello, world!");
    CHECK(transcript.events[2].payload == binary_payload);
    CHECK(transcript.events[3].payload == std::string(125, '*'));
}

TEST_CASE("Autobahn 2.5: a ping of 126 bytes is 1002", "[reader][autobahn]") {
    check_fails_with(client_frame(ping, std::string(126, '*')), CloseCode::protocol_error);
}

TEST_CASE("Autobahn 2.7-2.10: pongs, unsolicited or many, are reported", "[reader][autobahn]") {
    std::string wire = client_frame(pong, "unsolicited") + client_frame(pong, "");
    for (int index = 0; index < 10; ++index) {
        wire += client_frame(ping, "payload-" + std::to_string(index));
    }
    const Transcript transcript = read_in_all_chunkings(wire);
    REQUIRE(transcript.events.size() == 12);
    CHECK(transcript.events[0].kind == ReadEvent::pong);
    CHECK(transcript.events[0].payload == "unsolicited");
    CHECK(transcript.events[11].payload == "payload-9");
}

// --- 3: reserved bits ----------------------------------------------------------------------

TEST_CASE("Autobahn 3.1-3.7: reserved bits fail the connection with 1002", "[reader][autobahn]") {
    const std::string echo = client_frame(text, "Hello, world!");
    // 3.1: RSV1 on a text frame
    check_fails_with(client_frame(text, "Hello, world!", true, 0x40), CloseCode::protocol_error);
    // 3.2: a valid text, then RSV2, then a ping that is never reached
    check_fails_with(
        echo + client_frame(text, "Hello, world!", true, 0x20) + client_frame(ping, ""),
        CloseCode::protocol_error, {"Hello, world!"});
    // 3.3: RSV1+RSV2
    check_fails_with(echo + client_frame(text, "x", true, 0x60), CloseCode::protocol_error,
                     {"Hello, world!"});
    // 3.4: RSV3 on a text frame
    check_fails_with(client_frame(text, "x", true, 0x10), CloseCode::protocol_error);
    // 3.5: RSV1+RSV3 on a binary frame
    check_fails_with(client_frame(binary, "\x00\xff", true, 0x50), CloseCode::protocol_error);
    // 3.6: RSV2+RSV3 on a ping
    check_fails_with(client_frame(ping, "x", true, 0x30), CloseCode::protocol_error);
    // 3.7: all three on a close
    check_fails_with(client_frame(close_opcode, "", true, 0x70), CloseCode::protocol_error);
}

// --- 4: opcodes ----------------------------------------------------------------------------

TEST_CASE("Autobahn 4.1/4.2: reserved opcodes fail with 1002", "[reader][autobahn]") {
    const std::string echo = client_frame(text, "Hello");
    for (std::uint8_t opcode : {0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
        INFO("opcode " << int(opcode));
        check_fails_with(client_frame(opcode, ""), CloseCode::protocol_error);
        check_fails_with(echo + client_frame(opcode, "reserved") + client_frame(ping, ""),
                         CloseCode::protocol_error, {"Hello"});
    }
}

// --- 5: fragmentation ----------------------------------------------------------------------

TEST_CASE("Autobahn 5.1/5.2: fragmented control frames are 1002", "[reader][autobahn]") {
    check_fails_with(client_frame(ping, "frag", false) + client_frame(continuation, "ment"),
                     CloseCode::protocol_error);
    check_fails_with(client_frame(pong, "frag", false) + client_frame(continuation, "ment"),
                     CloseCode::protocol_error);
}

TEST_CASE("Autobahn 5.3-5.8: fragmented messages with interleaved control frames",
          "[reader][autobahn]") {
    const Transcript transcript = read_in_all_chunkings(
        client_frame(text, "frag", false) + client_frame(continuation, "men", false) +
        client_frame(ping, "in between") + client_frame(continuation, "", false) +
        client_frame(pong, "") + client_frame(continuation, "t") +
        client_frame(binary, "\x01", false) + client_frame(continuation, "\x02"));
    REQUIRE(transcript.events.size() == 4);
    CHECK(transcript.events[0].kind == ReadEvent::ping);
    CHECK(transcript.events[0].payload == "in between");
    CHECK(transcript.events[1].kind == ReadEvent::pong);
    CHECK(transcript.events[2].kind == ReadEvent::message);
    CHECK(transcript.events[2].opcode == Opcode::text);
    CHECK(transcript.events[2].payload == "fragment");
    CHECK(transcript.events[3].opcode == Opcode::binary);
    CHECK(transcript.events[3].payload == "\x01\x02");
}

TEST_CASE("a close frame may arrive inside a fragmented message", "[reader]") {
    const Transcript transcript = read_in_all_chunkings(client_frame(text, "unfinished", false) +
                                                        close_frame_with(1000, "bye"));
    REQUIRE(transcript.events.size() == 1);
    CHECK(transcript.events[0].kind == ReadEvent::close);
    CHECK(transcript.events[0].code == CloseCode::normal);
}

TEST_CASE("Autobahn 5.9-5.14: continuation without a message to continue is 1002",
          "[reader][autobahn]") {
    // 5.9/5.10: a final continuation first
    check_fails_with(client_frame(continuation, "non-continuation payload") +
                         client_frame(text, "Hello, world!"),
                     CloseCode::protocol_error);
    // 5.12/5.13: a non-final continuation first
    check_fails_with(client_frame(continuation, "non-continuation payload", false) +
                         client_frame(text, "Hello, world!"),
                     CloseCode::protocol_error);
    // 5.15: a complete fragmented message, then a stray continuation
    check_fails_with(client_frame(text, "fragment1", false) +
                         client_frame(continuation, "fragment2") +
                         client_frame(continuation, "fragment3", false) +
                         client_frame(continuation, "fragment4"),
                     CloseCode::protocol_error, {"fragment1fragment2"});
}

TEST_CASE("Autobahn 5.17-5.20: a new message inside a fragmented one is 1002",
          "[reader][autobahn]") {
    check_fails_with(client_frame(text, "fragment1", false) + client_frame(text, "fragment2"),
                     CloseCode::protocol_error);
    check_fails_with(client_frame(text, "fragment1", false) + client_frame(ping, "") +
                         client_frame(binary, "fragment2", false),
                     CloseCode::protocol_error);
    check_fails_with(client_frame(binary, "one", false) + client_frame(text, "two", false),
                     CloseCode::protocol_error);
}

// --- 6: UTF-8 ------------------------------------------------------------------------------

namespace {

std::string kosme() {
    return "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";
}

std::vector<std::string> frames_of(std::string_view payload, std::size_t size) {
    std::vector<std::string> frames;
    for (std::size_t offset = 0; offset < payload.size(); offset += size) {
        frames.emplace_back(payload.substr(offset, size));
    }
    return frames;
}

std::string fragmented(std::uint8_t opcode, const std::vector<std::string>& pieces) {
    std::string wire;
    for (std::size_t index = 0; index < pieces.size(); ++index) {
        wire += client_frame(index == 0 ? opcode : continuation, pieces[index],
                             index + 1 == pieces.size());
    }
    return wire;
}

}  // namespace

TEST_CASE("Autobahn 6.1-6.2: empty and valid text, whole and in fragments of every size",
          "[reader][autobahn]") {
    const std::string hello =
        "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!";
    CHECK(read_in_all_chunkings(client_frame(text, "")).messages() == std::vector<std::string>{""});
    CHECK(read_in_all_chunkings(fragmented(text, {"", "", ""})).messages() ==
          std::vector<std::string>{""});
    for (std::size_t size = 1; size <= hello.size(); ++size) {
        INFO("fragment size " << size);
        CHECK(read_all_as_server(fragmented(text, frames_of(hello, size))).messages() ==
              std::vector<std::string>{hello});
    }
}

TEST_CASE("Autobahn 6.3: invalid text in one frame or many is 1007", "[reader][autobahn]") {
    const std::string invalid = kosme() + "\xed\xa0\x80" + "edited";
    check_fails_with(client_frame(text, invalid), CloseCode::invalid_payload);
    check_fails_with(fragmented(text, frames_of(invalid, 1)), CloseCode::invalid_payload);
    // Binary messages are not UTF-8 checked.
    CHECK(read_all_as_server(client_frame(binary, invalid)).messages() ==
          std::vector<std::string>{invalid});
}

TEST_CASE("Autobahn 6.4: fail fast on invalid text, before the message or frame ends",
          "[reader][autobahn]") {
    // 6.4.1: the first fragment holds the invalid code point; the rest never arrives.
    {
        MessageReader reader;
        const Transcript transcript =
            read_all(reader, client_frame(text, kosme() + "\xf4\x90\x80\x80", false));
        REQUIRE(transcript.failed());
        CHECK(transcript.failure_code() == CloseCode::invalid_payload);
    }
    // 6.4.2: the code point is split between fragments; the second fragment fails at once.
    {
        MessageReader reader;
        const Transcript transcript =
            read_all(reader, client_frame(text, kosme() + "\xf4", false) +
                                 client_frame(continuation, "\x90\x80\x80", false));
        REQUIRE(transcript.failed());
        CHECK(transcript.failure_code() == CloseCode::invalid_payload);
    }
    // 6.4.3/6.4.4: one frame whose payload arrives in parts; failure on the part with the bad
    // byte, with the rest of the frame still to come.
    {
        const std::string frame = client_frame(text, kosme() + "\xf4\x90\x80\x80" + "edited");
        MessageReader reader;
        const std::size_t before_bad = 6 + kosme().size() + 1;  // header, kosme, F4
        ReadResult result = reader.read(std::string_view(frame).substr(0, before_bad));
        CHECK(result.event == ReadEvent::need_more);
        result = reader.read(std::string_view(frame).substr(result.consumed, 1));
        CHECK(result.event == ReadEvent::violation);
        CHECK(reader.violation().code == CloseCode::invalid_payload);
    }
}

TEST_CASE("Autobahn 6.5-6.23: UTF-8 stress cases in one frame and a byte per frame",
          "[reader][autobahn]") {
    struct Case {
        std::string payload;
        bool valid;
    };
    const std::vector<Case> cases = {
        {kosme(), true},
        {"\xf0\x90\x80\x80", true},
        {"\xf4\x8f\xbf\xbf", true},
        {"\xef\xbf\xbf", true},
        {"\xed\x9f\xbf", true},
        {"\xee\x80\x80", true},
        {std::string("\x00", 1), true},
        {"\xf4\x90\x80\x80", false},
        {"\xed\xa0\x80", false},
        {"\xc0\xaf", false},
        {"\xe0\x80\xaf", false},
        {"\xf8\x88\x80\x80\x80", false},
        {"\x80", false},
        {"\xce\xba\xe1\xbd", false},  // ends inside a sequence
        {"\xfe", false},
        {"\xc0\x20", false},
    };
    for (const Case& test : cases) {
        INFO("payload size " << test.payload.size());
        for (std::size_t fragment : {test.payload.size(), std::size_t{1}}) {
            const std::string wire = fragmented(text, frames_of(test.payload, fragment));
            const Transcript transcript = read_in_all_chunkings(wire);
            if (test.valid) {
                CHECK(transcript.messages() == std::vector<std::string>{test.payload});
            } else {
                REQUIRE(transcript.failed());
                CHECK(transcript.failure_code() == CloseCode::invalid_payload);
            }
        }
    }
}

// --- 7: close ------------------------------------------------------------------------------

TEST_CASE("Autobahn 7.1: frames after a close are the connection's business",
          "[reader][autobahn]") {
    const Transcript transcript = read_in_all_chunkings(
        client_frame(text, "before") + close_frame_with(1000) + client_frame(text, "after"));
    REQUIRE(transcript.events.size() == 3);
    CHECK(transcript.events[0].payload == "before");
    CHECK(transcript.events[1].kind == ReadEvent::close);
    CHECK(transcript.events[2].payload == "after");
}

TEST_CASE("Autobahn 7.3: close payloads", "[reader][autobahn]") {
    // 7.3.1: no payload
    Transcript transcript = read_in_all_chunkings(client_frame(close_opcode, ""));
    REQUIRE(transcript.events.size() == 1);
    CHECK(transcript.events[0].code == CloseCode::no_status);
    CHECK(transcript.events[0].payload.empty());
    // 7.3.2: one byte
    check_fails_with(client_frame(close_opcode, "a"), CloseCode::protocol_error);
    // 7.3.3: a code alone; 7.3.4: code and reason; 7.3.5: a 123-byte reason
    transcript = read_in_all_chunkings(close_frame_with(1000));
    CHECK(transcript.events.at(0).code == CloseCode::normal);
    transcript = read_in_all_chunkings(close_frame_with(1000, "Hello World!"));
    CHECK(transcript.events.at(0).payload == "Hello World!");
    transcript = read_in_all_chunkings(close_frame_with(1000, std::string(123, '*')));
    CHECK(transcript.events.at(0).payload == std::string(123, '*'));
    // 7.3.6: a 124-byte reason makes a 126-byte control frame
    check_fails_with(close_frame_with(1000, std::string(124, '*')), CloseCode::protocol_error);
}

TEST_CASE("Autobahn 7.5.1: a close reason that is not UTF-8 is 1007", "[reader][autobahn]") {
    check_fails_with(close_frame_with(1000, kosme() + "\xed\xa0\x80" + "edited"),
                     CloseCode::invalid_payload);
}

TEST_CASE("Autobahn 7.7, 7.9, 7.13: close codes", "[reader][autobahn]") {
    for (int code :
         {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999}) {
        INFO("code " << code);
        const Transcript transcript =
            read_all_as_server(close_frame_with(static_cast<std::uint16_t>(code)));
        REQUIRE(transcript.events.size() == 1);
        CHECK(transcript.events[0].kind == ReadEvent::close);
        CHECK(static_cast<int>(transcript.events[0].code) == code);
    }
    for (int code : {0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999, 5000, 65535}) {
        INFO("code " << code);
        check_fails_with(close_frame_with(static_cast<std::uint16_t>(code)),
                         CloseCode::protocol_error);
    }
}

// --- 9: limits -----------------------------------------------------------------------------

TEST_CASE("Autobahn 9.1/9.2: a 16 MiB message passes the default limit", "[reader][autobahn]") {
    const std::string payload = sample_text(16 * 1024 * 1024);
    MessageReader reader;
    const Transcript transcript = read_all(reader, client_frame(text, payload), 1 << 20);
    REQUIRE(transcript.events.size() == 1);
    CHECK(transcript.events[0].payload.size() == payload.size());
    CHECK(transcript.events[0].payload == payload);
}

TEST_CASE("Autobahn 9.3/9.4: a 1 MiB message in many fragments", "[reader][autobahn]") {
    const std::string payload = random_bytes(1024 * 1024);
    for (std::size_t fragment : {64u, 4096u, 262144u}) {
        MessageReader reader;
        const Transcript transcript =
            read_all(reader, fragmented(binary, frames_of(payload, fragment)), 65536);
        REQUIRE(transcript.events.size() == 1);
        CHECK(transcript.events[0].payload == payload);
    }
}

TEST_CASE("messages over the limit are 1009, whole or fragmented, before their payload",
          "[reader]") {
    const std::uint64_t limit = 1000;
    // Exactly at the limit: fine.
    CHECK(read_in_all_chunkings(client_frame(binary, std::string(1000, 'x')), limit)
              .messages()
              .size() == 1);
    // One byte over: 1009, from the header alone.
    {
        MessageReader reader(ReaderOptions{.max_message_size = limit});
        const std::string frame = client_frame(binary, std::string(1001, 'x'));
        const ReadResult result = reader.read(std::string_view(frame).substr(0, 8));
        CHECK(result.event == ReadEvent::violation);
        CHECK(reader.violation().code == CloseCode::message_too_big);
    }
    // Fragments whose sum goes over: 1009 at the header of the fragment that crosses.
    {
        MessageReader reader(ReaderOptions{.max_message_size = limit});
        const std::string first = client_frame(text, std::string(600, 'a'), false);
        const std::string second = client_frame(continuation, std::string(401, 'b'));
        const Transcript transcript = read_all(reader, first + second.substr(0, 8));
        REQUIRE(transcript.failed());
        CHECK(transcript.failure_code() == CloseCode::message_too_big);
        CHECK_THAT(transcript.events.back().payload, Catch::Contains("1001"));
    }
    // Control frames do not count.
    CHECK(read_in_all_chunkings(client_frame(text, std::string(600, 'a'), false) +
                                    client_frame(ping, std::string(125, 'p')) +
                                    client_frame(continuation, std::string(400, 'b')),
                                limit)
              .messages()
              .size() == 1);
}

TEST_CASE("after a violation the reader repeats it and consumes nothing", "[reader]") {
    MessageReader reader;
    const std::string wire = client_frame(0x3, "") + client_frame(text, "never");
    ReadResult result = reader.read(wire);
    CHECK(result.event == ReadEvent::violation);
    CHECK(result.consumed == 0);
    result = reader.read(std::string_view(wire).substr(2));
    CHECK(result.event == ReadEvent::violation);
    CHECK(result.consumed == 0);
    CHECK(reader.violation().code == CloseCode::protocol_error);
}

TEST_CASE("take_message refuses a half-assembled message", "[reader]") {
    MessageReader reader;
    const std::string wire = client_frame(text, "half", false) + client_frame(ping, "");
    CHECK(reader.read(wire).event == ReadEvent::ping);
    CHECK(reader.in_message());
    CHECK_THROWS_AS(reader.take_message(), WebSocketError);
}

TEST_CASE("a client reader wants unmasked frames", "[reader]") {
    MessageReader reader(ReaderOptions{.role = Role::client});
    CHECK(read_all(reader, server_frame(text, "from server") + server_frame(ping, "p"))
              .events.size() == 2);
    MessageReader strict(ReaderOptions{.role = Role::client});
    const Transcript transcript = read_all(strict, client_frame(text, "masked"));
    REQUIRE(transcript.failed());
    CHECK(transcript.failure_code() == CloseCode::protocol_error);
}

TEST_CASE("non-minimal lengths through the reader follow the option", "[reader]") {
    const std::string frame = raw_frame(RawFrame{0x82, std::string(10, 'x'), true, test_key, 8});
    check_fails_with(frame, CloseCode::protocol_error);
    MessageReader lenient(ReaderOptions{.allow_non_minimal_length = true});
    CHECK(read_all(lenient, frame).messages() == std::vector<std::string>{std::string(10, 'x')});
}

// --- 12/13: compression --------------------------------------------------------------------

namespace {

// Both directions of a connection set up by negotiation, messages of Autobahn's sizes, each
// direction fragmented as Autobahn auto-fragments.
void exchange_compressed(const std::string& offer, const DeflateOptions& server_options) {
    const auto agreement = negotiate_deflate(offer, server_options);
    REQUIRE(agreement);
    const DeflateParameters agreed = agreement->parameters;
    MessageCompressor client_compressor = make_compressor(Role::client, agreed);
    MessageCompressor server_compressor = make_compressor(Role::server, agreed, server_options);
    MessageReader server_reader(ReaderOptions{.role = Role::server}, agreed);
    MessageReader client_reader(ReaderOptions{.role = Role::client}, agreed);
    const std::size_t sizes[] = {16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072};
    const std::size_t fragments[] = {0, 256, 1024, 4096, 32768};
    std::string to_server;
    std::string to_client;
    std::vector<std::string> sent;
    std::uint32_t seed = 1;
    for (std::size_t size : sizes) {
        for (std::size_t fragment : fragments) {
            for (int repeat = 0; repeat < 2; ++repeat) {
                sent.push_back(sample_text(size, seed++));
                append_message(to_server, Role::client, Opcode::text, sent.back(),
                               {.compressor = &client_compressor, .fragment_size = fragment});
                append_message(to_client, Role::server, Opcode::text, sent.back(),
                               {.compressor = &server_compressor, .fragment_size = fragment});
            }
        }
    }
    const Transcript at_server = read_all(server_reader, to_server, 4093);
    CHECK_FALSE(at_server.failed());
    CHECK(at_server.messages() == sent);
    const Transcript at_client = read_all(client_reader, to_client, 4093);
    CHECK_FALSE(at_client.failed());
    CHECK(at_client.messages() == sent);
    // Compression did something.
    std::size_t plain = 0;
    for (const std::string& message : sent) {
        plain += message.size();
    }
    CHECK(to_server.size() < plain);
}

}  // namespace

TEST_CASE("Autobahn 12/13: compressed echo under every offer of cases 13.1-13.7",
          "[reader][autobahn][deflate]") {
    const char* offers[] = {
        "permessage-deflate; client_no_context_takeover; client_max_window_bits",
        "permessage-deflate; client_no_context_takeover; client_max_window_bits; "
        "server_no_context_takeover",
        "permessage-deflate; client_no_context_takeover; client_max_window_bits; "
        "server_max_window_bits=8",
        "permessage-deflate; client_no_context_takeover; client_max_window_bits; "
        "server_max_window_bits=15",
        "permessage-deflate; client_no_context_takeover; client_max_window_bits; "
        "server_no_context_takeover; server_max_window_bits=8",
        "permessage-deflate; client_no_context_takeover; client_max_window_bits; "
        "server_no_context_takeover; server_max_window_bits=15",
        "permessage-deflate; client_no_context_takeover; client_max_window_bits; "
        "server_no_context_takeover; server_max_window_bits=8, permessage-deflate; "
        "client_no_context_takeover; client_max_window_bits; server_no_context_takeover, "
        "permessage-deflate; client_no_context_takeover; client_max_window_bits",
        // Browsers: context takeover both ways.
        "permessage-deflate; client_max_window_bits",
    };
    for (const char* offer : offers) {
        INFO(offer);
        exchange_compressed(offer, DeflateOptions{});
    }
    DeflateOptions small;
    small.client_max_window_bits = 9;
    small.server_max_window_bits = 10;
    small.compression_level = 1;
    small.memory_level = 4;
    exchange_compressed("permessage-deflate; client_max_window_bits", small);
}

TEST_CASE("compressed frames: RSV1 rules and limits after decompression", "[reader][deflate]") {
    const DeflateParameters agreed;
    MessageCompressor compressor = make_compressor(Role::client, agreed);
    auto server = [&](std::uint64_t limit = 16 * 1024 * 1024) {
        return MessageReader(ReaderOptions{.role = Role::server, .max_message_size = limit},
                             agreed);
    };
    // An uncompressed message is fine on a deflate connection.
    {
        MessageReader reader = server();
        CHECK(read_all(reader, client_frame(text, "plain")).messages() ==
              std::vector<std::string>{"plain"});
    }
    // RSV1 on a continuation frame is 1002.
    {
        MessageReader reader = server();
        const Transcript transcript =
            read_all(reader, client_frame(text, compressor.compress("ab"), false, 0x40) +
                                 client_frame(continuation, "", true, 0x40));
        REQUIRE(transcript.failed());
        CHECK(transcript.failure_code() == CloseCode::protocol_error);
    }
    // A message that inflates beyond the limit: 1009, also when it is small on the wire.
    {
        MessageCompressor fresh = make_compressor(Role::client, agreed);
        const std::string bomb = fresh.compress(std::string(100000, 'a'));
        CHECK(bomb.size() < 1000);
        MessageReader reader = server(50000);
        const Transcript transcript = read_all(reader, client_frame(binary, bomb, true, 0x40));
        REQUIRE(transcript.failed());
        CHECK(transcript.failure_code() == CloseCode::message_too_big);
        CHECK_THAT(transcript.events.back().payload, Catch::Contains("after decompression"));
    }
    // Invalid UTF-8 inside compressed text: 1007.
    {
        MessageCompressor fresh = make_compressor(Role::client, agreed);
        MessageReader reader = server();
        const Transcript transcript = read_all(
            reader, client_frame(text, fresh.compress(kosme() + "\xed\xa0\x80"), true, 0x40));
        REQUIRE(transcript.failed());
        CHECK(transcript.failure_code() == CloseCode::invalid_payload);
    }
    // Garbage with RSV1: 1007.
    {
        MessageReader reader = server();
        const Transcript transcript =
            read_all(reader, client_frame(binary, "\xff\xff\xff", true, 0x40));
        REQUIRE(transcript.failed());
        CHECK(transcript.failure_code() == CloseCode::invalid_payload);
    }
    // Incompressible data of exactly the limit fits even though deflate made it longer.
    {
        MessageCompressor fresh = make_compressor(Role::client, agreed);
        const std::string noise = random_bytes(200000);
        const std::string compressed = fresh.compress(noise);
        CHECK(compressed.size() > noise.size());
        MessageReader reader = server(noise.size());
        CHECK(read_all(reader, client_frame(binary, compressed, true, 0x40)).messages() ==
              std::vector<std::string>{noise});
    }
}

TEST_CASE("RSV1 without negotiation is 1002 even when the frame would inflate",
          "[reader][deflate]") {
    MessageCompressor compressor;
    check_fails_with(client_frame(text, compressor.compress("Hello"), true, 0x40),
                     CloseCode::protocol_error);
}

TEST_CASE("compressed text: the first error in the data wins, however it is split",
          "[reader][deflate]") {
    const DeflateParameters agreed;
    auto read_as_server = [&](const std::string& wire, std::size_t chunk, std::uint64_t limit) {
        MessageReader reader(ReaderOptions{.role = Role::server, .max_message_size = limit},
                             agreed);
        return read_all(reader, wire, chunk);
    };
    // Invalid UTF-8 that inflates before the compressed data turns corrupt.
    MessageCompressor compressor = make_compressor(Role::client, agreed);
    const std::string corrupt_after_bad_text = client_frame(text,
                                                            compressor.compress("ab\xff"
                                                                                "cd") +
                                                                "\xff\xff\xff",
                                                            true, 0x40);
    // Invalid UTF-8 at the start of a message that inflates beyond the limit.
    MessageCompressor fresh = make_compressor(Role::client, agreed);
    const std::string too_big_after_bad_text =
        client_frame(text, fresh.compress("\xff" + std::string(100000, 'a')), true, 0x40);
    for (const std::string* wire : {&corrupt_after_bad_text, &too_big_after_bad_text}) {
        for (std::size_t chunk : chunk_sizes) {
            INFO("chunk size " << chunk);
            const Transcript transcript = read_as_server(*wire, chunk, 50000);
            REQUIRE(transcript.failed());
            CHECK(transcript.failure_code() == CloseCode::invalid_payload);
            CHECK_THAT(transcript.events.back().payload, Catch::Contains("UTF-8"));
        }
    }
}
