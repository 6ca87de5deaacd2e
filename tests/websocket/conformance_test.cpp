// RFC 6455 / RFC 7692 conformance of gale's WebSocket server at the frame level, organised
// like the Autobahn TestSuite's categories (1 framing, 2 pings, 3 reserved bits, 4 opcodes,
// 5 fragmentation, 6 UTF-8, 7 close handling, 9 limits with smaller sizes, 12/13 compression).
// Each case opens a raw connection to an echo endpoint, sends hand-built frames and checks
// every frame the server answers with, the close code, and that the TCP connection ends.

#include <catch2/catch.hpp>

#include "raw_peer.hpp"
#include "test_server.hpp"

#include <support/helpers.hpp>

#include <optional>

using gale::Task;
using namespace gale::websocket::test;

namespace {

std::string text(std::string_view payload, bool fin = true) {
    return client_frame(0x1, payload, fin);
}
std::string binary(std::string_view payload, bool fin = true) {
    return client_frame(0x2, payload, fin);
}
std::string continuation(std::string_view payload, bool fin = true) {
    return client_frame(0x0, payload, fin);
}
std::string ping(std::string_view payload = {}) {
    return client_frame(0x9, payload);
}
std::string pong(std::string_view payload = {}) {
    return client_frame(0xA, payload);
}
std::string close_frame_bytes(int code, std::string_view reason = {}) {
    return client_frame(0x8, close_payload_bytes(static_cast<std::uint16_t>(code), reason));
}

struct Expected {
    int opcode = 0x1;
    std::string payload;
};
Expected echo_text(std::string payload) {
    return {0x1, std::move(payload)};
}
Expected echo_binary(std::string payload) {
    return {0x2, std::move(payload)};
}
Expected pong_of(std::string payload) {
    return {0xA, std::move(payload)};
}

struct Case {
    std::string name;
    std::vector<std::string> frames;
    std::vector<Expected> expected;
    // The code of the server's close frame: 1000 (echoing ours) when the case ends normally.
    int close_code = 1000;
    // The server fails the connection (it sends the first close frame).
    bool violation = false;
    std::string path = "/ws";
    std::size_t piece = 0;  // send in pieces of this many bytes (0: all at once)
    std::string extensions;
    // The frames include the client's close (otherwise one is appended for normal cases).
    bool closes_itself = false;
};

Case fails(std::string name, std::vector<std::string> frames, int code = 1002,
           std::vector<Expected> expected = {}) {
    Case test_case;
    test_case.name = std::move(name);
    test_case.frames = std::move(frames);
    test_case.expected = std::move(expected);
    test_case.close_code = code;
    test_case.violation = true;
    return test_case;
}

Case echoes(std::string name, std::vector<std::string> frames, std::vector<Expected> expected) {
    Case test_case;
    test_case.name = std::move(name);
    test_case.frames = std::move(frames);
    test_case.expected = std::move(expected);
    return test_case;
}

// Runs one case; returns a description of the first mismatch, or none.
Task<std::optional<std::string>> run_case(std::uint16_t port, Case test_case) {
    std::string extra = test_case.extensions.empty()
                            ? ""
                            : "Sec-WebSocket-Extensions: " + test_case.extensions + "\r\n";
    RawPeer peer = co_await RawPeer::connect(port, test_case.path, extra);
    if (peer.status() != 101) {
        co_return "status " + std::to_string(peer.status());
    }
    std::string wire;
    for (const std::string& frame : test_case.frames) {
        wire += frame;
    }
    if (!test_case.violation && !test_case.closes_itself) {
        wire += close_frame_bytes(1000);
    }
    if (test_case.piece > 0) {
        co_await peer.send_in_pieces(std::move(wire), test_case.piece);
    } else {
        co_await peer.send(std::move(wire));
    }
    PeerInflater inflater;
    for (std::size_t index = 0; index < test_case.expected.size(); ++index) {
        const Expected& expected = test_case.expected[index];
        std::optional<PeerFrame> frame = co_await peer.read_frame();
        if (!frame) {
            co_return "no frame " + std::to_string(index) + (peer.timed_out ? " (timeout)" : "");
        }
        std::string payload =
            frame->rsv1 ? inflater.inflate_message(frame->payload) : frame->payload;
        if (frame->opcode != expected.opcode || payload != expected.payload || frame->masked) {
            co_return "frame " + std::to_string(index) + ": opcode " +
                std::to_string(frame->opcode) + ", " + std::to_string(payload.size()) +
                " bytes, expected opcode " + std::to_string(expected.opcode) + ", " +
                std::to_string(expected.payload.size()) + " bytes";
        }
    }
    const int code = co_await peer.read_close_code();
    if (!peer.skipped.empty()) {
        co_return "unexpected frame with opcode " + std::to_string(peer.skipped.front().opcode);
    }
    if (code != test_case.close_code) {
        co_return "close code " + std::to_string(code) + ", expected " +
            std::to_string(test_case.close_code);
    }
    const bool ended =
        test_case.violation ? co_await peer.finish_close(code) : co_await peer.server_closes();
    if (!ended) {
        co_return std::string("the server did not close the TCP connection");
    }
    co_return std::nullopt;
}

void run_cases(std::vector<Case> cases) {
    auto body = [](std::vector<Case> all) -> Task<void> {
        TestServer server;
        for (Case& test_case : all) {
            const std::string name = test_case.name;
            std::optional<std::string> failure =
                co_await run_case(server.port, std::move(test_case));
            INFO("case " << name);
            CHECK(failure.value_or("") == "");
        }
    };
    gale::test::run(body(std::move(cases)), std::chrono::seconds(120));
}

std::string pattern(std::size_t size, char first = 'a') {
    std::string text(size, first);
    for (std::size_t i = 0; i < size; ++i) {
        text[i] = static_cast<char>(first + i % 26);
    }
    return text;
}

}  // namespace

TEST_CASE("autobahn 1: framing, text and binary of every length form", "[websocket][conformance]") {
    std::vector<Case> cases;
    for (std::size_t size : {0, 125, 126, 127, 128, 65535, 65536}) {
        cases.push_back(echoes("1.1 text " + std::to_string(size), {text(pattern(size))},
                               {echo_text(pattern(size))}));
        std::string bytes = random_bytes(size, size + 1);
        cases.push_back(
            echoes("1.2 binary " + std::to_string(size), {binary(bytes)}, {echo_binary(bytes)}));
    }
    Case chunked = echoes("1.1.8 text 65536 in pieces of 997", {text(pattern(65536))},
                          {echo_text(pattern(65536))});
    chunked.piece = 997;
    cases.push_back(chunked);
    Case chunked_binary = echoes("1.2.8 binary 65536 in pieces of 997",
                                 {binary(random_bytes(65536))}, {echo_binary(random_bytes(65536))});
    chunked_binary.piece = 997;
    cases.push_back(chunked_binary);
    run_cases(std::move(cases));
}

TEST_CASE("autobahn 2: pings and pongs", "[websocket][conformance]") {
    std::vector<Case> cases;
    cases.push_back(echoes("2.1 ping without payload", {ping()}, {pong_of("")}));
    cases.push_back(
        echoes("2.2 ping with text", {ping("Hello, world!")}, {pong_of("Hello, world!")}));
    cases.push_back(echoes("2.3 ping with binary",
                           {ping(bytes({0, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0, 0xff}))},
                           {pong_of(bytes({0, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0, 0xff}))}));
    cases.push_back(echoes("2.4 ping with 125 bytes", {ping(std::string(125, '\xfe'))},
                           {pong_of(std::string(125, '\xfe'))}));
    cases.push_back(fails("2.5 ping with 126 bytes", {ping(std::string(126, '\xfe'))}));
    Case pieces = echoes("2.6 ping with 125 bytes in pieces of 1", {ping(std::string(125, '\xfe'))},
                         {pong_of(std::string(125, '\xfe'))});
    pieces.piece = 1;
    cases.push_back(pieces);
    cases.push_back(echoes("2.7 unsolicited pong", {pong()}, {}));
    cases.push_back(echoes("2.8 unsolicited pong with payload", {pong("unsolicited")}, {}));
    cases.push_back(echoes("2.9 unsolicited pong, then ping", {pong("unsolicited"), ping("ping")},
                           {pong_of("ping")}));
    std::vector<std::string> ten_pings;
    std::vector<Expected> ten_pongs;
    for (int i = 0; i < 10; ++i) {
        ten_pings.push_back(ping("payload-" + std::to_string(i)));
        ten_pongs.push_back(pong_of("payload-" + std::to_string(i)));
    }
    cases.push_back(echoes("2.10 ten pings", ten_pings, ten_pongs));
    Case ten_in_pieces = echoes("2.11 ten pings in pieces of 1", ten_pings, ten_pongs);
    ten_in_pieces.piece = 1;
    cases.push_back(ten_in_pieces);
    run_cases(std::move(cases));
}

TEST_CASE("autobahn 3: reserved bits", "[websocket][conformance]") {
    std::vector<Case> cases;
    Case rsv1 =
        fails("3.1 RSV1 on text without an extension", {client_frame(0x1, "Hello", true, 0x40)});
    rsv1.path = "/plain";
    cases.push_back(rsv1);
    cases.push_back(
        fails("3.1 RSV1 on text, deflate not offered", {client_frame(0x1, "Hello", true, 0x40)}));
    cases.push_back(fails("3.2 RSV2 after a valid message",
                          {text("Hello"), client_frame(0x1, "Hello", true, 0x20), ping()}, 1002,
                          {echo_text("Hello")}));
    cases.push_back(fails("3.3 RSV3 after a valid message",
                          {text("Hello"), client_frame(0x1, "Hello", true, 0x10), ping()}, 1002,
                          {echo_text("Hello")}));
    cases.push_back(fails("3.4 RSV1+RSV2 in pieces",
                          {text("Hello"), client_frame(0x1, "Hello", true, 0x60), ping()}, 1002,
                          {echo_text("Hello")}));
    cases.back().piece = 1;
    cases.push_back(
        fails("3.5 RSV1+RSV3 on binary", {client_frame(0x2, bytes({0, 0xff, 0xfe}), true, 0x50)}));
    cases.push_back(fails("3.6 RSV2+RSV3 on ping", {client_frame(0x9, "Hello", true, 0x30)}));
    cases.push_back(fails("3.7 all RSV bits on close",
                          {client_frame(0x8, close_payload_bytes(1000), true, 0x70)}));
    Case ping_rsv1 =
        fails("RSV1 on a ping with deflate agreed", {client_frame(0x9, "x", true, 0x40)});
    ping_rsv1.extensions = "permessage-deflate";
    cases.push_back(ping_rsv1);
    run_cases(std::move(cases));
}

TEST_CASE("autobahn 4: reserved opcodes", "[websocket][conformance]") {
    std::vector<Case> cases;
    for (int opcode : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
        const std::string name = "4 opcode " + std::to_string(opcode);
        cases.push_back(fails(name, {client_frame(static_cast<std::uint8_t>(opcode), "")}));
        cases.push_back(fails(
            name + " with payload, after a message, before a ping",
            {text("Hello"), client_frame(static_cast<std::uint8_t>(opcode), "reserved"), ping()},
            1002, {echo_text("Hello")}));
    }
    run_cases(std::move(cases));
}

TEST_CASE("autobahn 5: fragmentation", "[websocket][conformance]") {
    std::vector<Case> cases;
    cases.push_back(
        fails("5.1 fragmented ping", {client_frame(0x9, "frag1", false), continuation("frag2")}));
    cases.push_back(
        fails("5.2 fragmented pong", {client_frame(0xA, "frag1", false), continuation("frag2")}));
    cases.push_back(echoes("5.3 text in two fragments",
                           {text("fragment1", false), continuation("fragment2")},
                           {echo_text("fragment1fragment2")}));
    Case pieces = echoes("5.4 text in two fragments, in pieces",
                         {text("fragment1", false), continuation("fragment2")},
                         {echo_text("fragment1fragment2")});
    pieces.piece = 1;
    cases.push_back(pieces);
    cases.push_back(echoes("5.6 ping between fragments",
                           {text("fragment1", false), ping("ping"), continuation("fragment2")},
                           {pong_of("ping"), echo_text("fragment1fragment2")}));
    cases.push_back(echoes("5.7 ping between fragments of binary",
                           {binary(bytes({1, 2}), false), ping(), continuation(bytes({3}))},
                           {pong_of(""), echo_binary(bytes({1, 2, 3}))}));
    cases.push_back(
        fails("5.9 continuation without a message", {continuation("fragment"), text("Hello")}));
    cases.push_back(fails("5.12 unfinished continuation without a message",
                          {continuation("fragment", false), continuation("more")}));
    cases.push_back(
        fails("5.15 a fragment after a complete fragmented message",
              {text("f1", false), continuation("f2"), continuation("f3", false), text("f4")}, 1002,
              {echo_text("f1f2")}));
    cases.push_back(fails("5.18 a new text frame inside a fragmented message",
                          {text("f1", false), text("f2")}));
    cases.push_back(fails("5.18 a binary frame inside a fragmented text message",
                          {text("f1", false), binary("f2")}));
    cases.push_back(
        echoes("5.19 pings between five fragments",
               {text("f1", false), continuation("f2", false), ping("p1"), continuation("f3", false),
                continuation("f4", false), ping("p2"), continuation("f5")},
               {pong_of("p1"), pong_of("p2"), echo_text("f1f2f3f4f5")}));
    cases.push_back(echoes("empty fragments",
                           {text("", false), continuation("", false), continuation("")},
                           {echo_text("")}));
    run_cases(std::move(cases));
}

TEST_CASE("autobahn 6: UTF-8 validation", "[websocket][conformance]") {
    const std::string valid =
        "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!";
    std::vector<Case> cases;
    cases.push_back(echoes("6.1 empty text", {text("")}, {echo_text("")}));
    cases.push_back(echoes("6.2.1 valid text", {text(valid)}, {echo_text(valid)}));
    std::vector<std::string> per_byte;
    for (std::size_t i = 0; i < valid.size(); ++i) {
        per_byte.push_back(i == 0 ? text(valid.substr(0, 1), false)
                                  : continuation(valid.substr(i, 1), i + 1 == valid.size()));
    }
    cases.push_back(echoes("6.2.3 valid text, a fragment per byte", per_byte, {echo_text(valid)}));
    for (const char* sequence :
         {"\xf4\x8f\xbf\xbf", "\xef\xbf\xbf", "\xed\x9f\xbf", "\xee\x80\x80", "\xf0\x90\x80\x80",
          "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"}) {
        cases.push_back(echoes(std::string("6 valid boundary sequence ") + sequence,
                               {text(sequence)}, {echo_text(sequence)}));
    }
    const std::string invalid =
        "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64";
    cases.push_back(fails("6.3.1 invalid text (a surrogate)", {text(invalid)}, 1007));
    std::vector<std::string> invalid_per_byte;
    for (std::size_t i = 0; i < invalid.size(); ++i) {
        invalid_per_byte.push_back(
            i == 0 ? text(invalid.substr(0, 1), false)
                   : continuation(invalid.substr(i, 1), i + 1 == invalid.size()));
    }
    cases.push_back(fails("6.3.2 invalid text, a fragment per byte", invalid_per_byte, 1007));
    for (const char* sequence :
         {"\xc0\x80", "\xc1\xbf", "\xe0\x80\xaf", "\xe0\x9f\xbf", "\xf0\x80\x80\xaf",
          "\xf0\x8f\xbf\xbf", "\xed\xa0\x80", "\xed\xbf\xbf", "\xf4\x90\x80\x80",
          "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\xfe", "\xff", "\x80", "\xbf", "\xce",
          "\xe1\xbd", "\xf0\x90\x80", "a\xce b"}) {
        cases.push_back(
            fails(std::string("6 invalid sequence, as one frame"), {text(sequence)}, 1007));
        cases.back().name += " " + std::to_string(cases.size());
    }
    // 6.4: fail fast, at the invalid byte, without waiting for the rest of the message.
    cases.push_back(fails("6.4.1 invalid in a fragment, the message never ends",
                          {text("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", false),
                           continuation("\xf4\x90\x80\x80", false)},
                          1007));
    cases.push_back(fails("6.4.3 invalid in the middle of an unfinished frame",
                          {text("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80"
                                "edited")
                               .substr(0, 19)},
                          1007));
    cases.push_back(echoes("6.2 a code point split between fragments",
                           {text("\xe2\x82", false), continuation("\xac")},
                           {echo_text("\xe2\x82\xac")}));
    cases.push_back(fails("6 text ends inside a code point",
                          {text("\xe2\x82", false), continuation("")}, 1007));
    run_cases(std::move(cases));
}

TEST_CASE("autobahn 7: close handling", "[websocket][conformance]") {
    std::vector<Case> cases;
    Case after_message = echoes("7.1.1 close after a message",
                                {text("Hello"), close_frame_bytes(1000)}, {echo_text("Hello")});
    after_message.closes_itself = true;
    cases.push_back(after_message);
    for (auto& [name, extra] : std::vector<std::pair<std::string, std::string>>{
             {"7.1.2 a second close", close_frame_bytes(1000)},
             {"7.1.3 a ping after the close", ping("after")},
             {"7.1.4 text after the close", text("after")},
             {"7.1.5 a fragment's end after the close", continuation("after")}}) {
        Case ignored = echoes(name, {close_frame_bytes(1000), extra}, {});
        ignored.closes_itself = true;
        cases.push_back(ignored);
    }
    Case unfinished =
        echoes("7.1.5 close inside a fragmented message",
               {text("fragment1", false), close_frame_bytes(1000), continuation("fragment2")}, {});
    unfinished.closes_itself = true;
    cases.push_back(unfinished);
    Case big = echoes("7.1.6 close after a big message",
                      {text(pattern(256 * 1024)), close_frame_bytes(1000)},
                      {echo_text(pattern(256 * 1024))});
    big.closes_itself = true;
    cases.push_back(big);

    Case empty = echoes("7.3.1 empty close payload", {client_frame(0x8, "")}, {});
    empty.closes_itself = true;
    empty.close_code = 1005;  // answered without a code
    cases.push_back(empty);
    cases.push_back(fails("7.3.2 one-byte close payload", {client_frame(0x8, "\x03")}));
    Case with_reason =
        echoes("7.3.4 code and reason", {close_frame_bytes(1000, "Hello World!")}, {});
    with_reason.closes_itself = true;
    cases.push_back(with_reason);
    Case longest =
        echoes("7.3.5 a 123-byte reason", {close_frame_bytes(1000, std::string(123, '*'))}, {});
    longest.closes_itself = true;
    cases.push_back(longest);
    cases.push_back(
        fails("7.3.6 a 124-byte reason", {close_frame_bytes(1000, std::string(124, '*'))}));
    cases.push_back(
        fails("7.5.1 a reason that is not UTF-8",
              {close_frame_bytes(1000, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80")},
              1007));
    for (int code :
         {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999}) {
        Case valid =
            echoes("7.7 valid code " + std::to_string(code), {close_frame_bytes(code)}, {});
        valid.closes_itself = true;
        valid.close_code = code;
        cases.push_back(valid);
    }
    for (int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
        cases.push_back(
            fails("7.9 invalid code " + std::to_string(code), {close_frame_bytes(code)}));
    }
    run_cases(std::move(cases));
}

TEST_CASE("autobahn 9 (smaller): message limits, whole and fragmented",
          "[websocket][conformance]") {
    std::vector<Case> cases;
    const std::size_t limit = 64 * 1024;  // /small
    Case at_limit =
        echoes("9 text at the limit", {text(pattern(limit))}, {echo_text(pattern(limit))});
    at_limit.path = "/small";
    cases.push_back(at_limit);
    Case over = fails("9 text one byte over the limit", {text(pattern(limit + 1))}, 1009);
    over.path = "/small";
    cases.push_back(over);
    Case binary_over = fails("9 binary over the limit, header only",
                             {binary(random_bytes(limit + 1)).substr(0, 14)}, 1009);
    binary_over.path = "/small";
    cases.push_back(binary_over);
    std::vector<std::string> fragments;
    for (int i = 0; i < 4; ++i) {
        fragments.push_back(i == 0 ? text(pattern(limit / 4), false)
                                   : continuation(pattern(limit / 4), i == 3));
    }
    Case fragmented = echoes("9 fragmented at the limit", fragments,
                             {echo_text(pattern(limit / 4) + pattern(limit / 4) +
                                        pattern(limit / 4) + pattern(limit / 4))});
    fragmented.path = "/small";
    cases.push_back(fragmented);
    fragments.back() = continuation(pattern(limit / 4), false);
    fragments.push_back(continuation("x"));
    Case fragmented_over = fails("9 fragmented over the limit", fragments, 1009);
    fragmented_over.path = "/small";
    cases.push_back(fragmented_over);
    // 9.1/9.2 and 9.3/9.4 with 1 MiB: one frame, and fragments of 64 B to 64 KiB.
    const std::string mebibyte = pattern(1024 * 1024);
    cases.push_back(echoes("9.1 text 1 MiB", {text(mebibyte)}, {echo_text(mebibyte)}));
    cases.push_back(echoes("9.2 binary 1 MiB", {binary(random_bytes(1024 * 1024))},
                           {echo_binary(random_bytes(1024 * 1024))}));
    for (std::size_t fragment_size : {std::size_t{64}, std::size_t{4096}, std::size_t{65536}}) {
        std::vector<std::string> pieces;
        for (std::size_t offset = 0; offset < mebibyte.size(); offset += fragment_size) {
            std::string_view piece = std::string_view(mebibyte).substr(offset, fragment_size);
            const bool last = offset + fragment_size >= mebibyte.size();
            pieces.push_back(offset == 0 ? text(piece, last) : continuation(piece, last));
        }
        cases.push_back(echoes("9.3 1 MiB in fragments of " + std::to_string(fragment_size), pieces,
                               {echo_text(mebibyte)}));
    }
    run_cases(std::move(cases));
}

TEST_CASE("autobahn 12/13: permessage-deflate", "[websocket][conformance][deflate]") {
    std::vector<Case> cases;
    const std::vector<std::string> messages = {"Hello", "", sample_text(1000),
                                               sample_text(70000, 3), random_bytes(3000)};
    const std::vector<std::pair<std::string, int>> offers = {
        {"permessage-deflate", 15},
        {"permessage-deflate; client_no_context_takeover", 15},
        {"permessage-deflate; client_max_window_bits", 15},
        {"permessage-deflate; client_max_window_bits=9", 9},
        {"permessage-deflate; client_max_window_bits=8", 8},
        {"permessage-deflate; server_no_context_takeover", 15},
        {"permessage-deflate; server_max_window_bits=9", 15},
        {"permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
         "server_max_window_bits=10; client_max_window_bits=11",
         11},
        {"x-webkit-deflate-frame, permessage-deflate; unknown_parameter, permessage-deflate", 15},
    };
    for (const auto& [offer, client_window] : offers) {
        std::vector<std::string> frames;
        std::vector<Expected> expected;
        for (const std::string& message : messages) {
            const bool is_binary = &message == &messages.back();
            const int window = std::max(client_window, 9);
            frames.push_back(
                client_frame(is_binary ? 0x2 : 0x1, deflate_message(message, window), true, 0x40));
            expected.push_back({is_binary ? 0x2 : 0x1, message});
        }
        frames.push_back(text("uncompressed"));  // RSV1 clear: not compressed
        expected.push_back(echo_text("uncompressed"));
        const std::string compressed = deflate_message(sample_text(5000));
        frames.push_back(client_frame(0x1, compressed.substr(0, 100), false, 0x40));
        frames.push_back(ping("between"));
        frames.push_back(continuation(compressed.substr(100)));
        expected.push_back(pong_of("between"));
        expected.push_back(echo_text(sample_text(5000)));
        Case test_case = echoes("13 offer: " + offer, frames, expected);
        test_case.extensions = offer;
        cases.push_back(test_case);
    }
    Case bomb = fails(
        "decompressed beyond the limit (1009 after inflating)",
        {client_frame(0x2, deflate_message(std::string(1024 * 1024, '\0')), true, 0x40)}, 1009);
    bomb.path = "/small";
    bomb.extensions = "permessage-deflate";
    cases.push_back(bomb);
    Case rsv1_continuation = fails(
        "RSV1 on a continuation frame",
        {client_frame(0x1, deflate_message("ab"), false, 0x40), client_frame(0x0, "", true, 0x40)});
    rsv1_continuation.extensions = "permessage-deflate";
    cases.push_back(rsv1_continuation);
    Case corrupt = fails("corrupt deflate data",
                         {client_frame(0x1, bytes({0xff, 0xff, 0xff, 0xff}), true, 0x40)}, 1007);
    corrupt.extensions = "permessage-deflate";
    cases.push_back(corrupt);
    Case bad_utf8 =
        fails("compressed text that is not UTF-8",
              {client_frame(0x1, deflate_message("ok \xed\xa0\x80"), true, 0x40)}, 1007);
    bad_utf8.extensions = "permessage-deflate";
    cases.push_back(bad_utf8);
    Case not_agreed = fails("compressed without the extension",
                            {client_frame(0x1, deflate_message("a"), true, 0x40)});
    not_agreed.path = "/plain";
    not_agreed.extensions = "permessage-deflate";
    cases.push_back(not_agreed);
    run_cases(std::move(cases));
}

TEST_CASE("frames a client must not send: unmasked, 64-bit length with the top bit",
          "[websocket][conformance]") {
    std::vector<Case> cases;
    cases.push_back(fails("unmasked text", {server_frame(0x1, "Hello")}));
    cases.push_back(fails("unmasked close", {server_frame(0x8, close_payload_bytes(1000))}));
    cases.push_back(fails("non-minimal 16-bit length",
                          {raw_frame(RawFrame{0x81, "short", true, test_key, 2})}));
    cases.push_back(fails("length with the most significant bit set",
                          {bytes({0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4})}));
    run_cases(std::move(cases));
}

TEST_CASE("the negotiated extension is in the 101", "[websocket][conformance][deflate]") {
    auto body = []() -> Task<void> {
        TestServer server;
        RawPeer offered =
            co_await RawPeer::connect(server.port, "/ws",
                                      "Sec-WebSocket-Extensions: permessage-deflate; "
                                      "server_max_window_bits=10; client_max_window_bits\r\n");
        CHECK(offered.status() == 101);
        CHECK(offered.header("Sec-WebSocket-Accept") == sample_accept);
        CHECK(offered.header("Sec-WebSocket-Extensions") ==
              "permessage-deflate; server_max_window_bits=10");
        RawPeer plain = co_await RawPeer::connect(
            server.port, "/plain", "Sec-WebSocket-Extensions: permessage-deflate\r\n");
        CHECK(plain.status() == 101);
        CHECK(plain.header("Sec-WebSocket-Extensions").empty());
        RawPeer none = co_await RawPeer::connect(server.port, "/ws");
        CHECK(none.header("Sec-WebSocket-Extensions").empty());
    };
    gale::test::run(body());
}
