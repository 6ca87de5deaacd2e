// Frame headers at the byte level: every validation rule of FrameParser, incremental parsing,
// header encoding, and masking.

#include <gale/websocket/frame.hpp>
#include <gale/websocket/masking.hpp>

#include <catch2/catch.hpp>

#include "websocket/test_frames.hpp"

#include <set>

using namespace gale::websocket;
using gale::websocket::test::bytes;
using gale::websocket::test::client_frame;
using gale::websocket::test::raw_frame;
using gale::websocket::test::RawFrame;
using gale::websocket::test::server_frame;

namespace {

FrameParser server_parser(bool rsv1_allowed = false, std::uint64_t max_payload = 1 << 20) {
    return FrameParser(FrameRules{.role = Role::server,
                                  .rsv1_allowed = rsv1_allowed,
                                  .max_payload_length = max_payload,
                                  .allow_non_minimal_length = false});
}

FrameParser client_parser() {
    return FrameParser(FrameRules{.role = Role::client});
}

}  // namespace

TEST_CASE("parses a masked client text frame", "[frame]") {
    // RFC 6455 §5.7: a masked "Hello".
    const std::string frame =
        bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
    FrameParser parser = server_parser();
    REQUIRE(parser.parse(frame) == FrameParser::Status::complete);
    const FrameHeader& header = parser.header();
    CHECK(header.fin);
    CHECK_FALSE(header.rsv1);
    CHECK(header.opcode == Opcode::text);
    CHECK(header.masked);
    CHECK(header.mask_key == MaskKey{0x37, 0xfa, 0x21, 0x3d});
    CHECK(header.payload_length == 5);
    CHECK(header.header_size == 6);
    std::string payload = frame.substr(header.header_size);
    apply_mask(payload, header.mask_key);
    CHECK(payload == "Hello");
}

TEST_CASE("parses an unmasked server frame as a client", "[frame]") {
    // RFC 6455 §5.7: an unmasked "Hello" and an unmasked ping.
    FrameParser parser = client_parser();
    REQUIRE(parser.parse(bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f})) ==
            FrameParser::Status::complete);
    CHECK(parser.header().payload_length == 5);
    CHECK(parser.header().header_size == 2);
    CHECK_FALSE(parser.header().masked);
    REQUIRE(parser.parse(bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f})) ==
            FrameParser::Status::complete);
    CHECK(parser.header().opcode == Opcode::ping);
}

TEST_CASE("16- and 64-bit lengths, and need_more at every truncation", "[frame]") {
    for (std::size_t length : {0u, 1u, 125u, 126u, 127u, 65535u, 65536u, 100000u}) {
        const std::string frame = client_frame(0x2, std::string(length, 'x'));
        const std::size_t header_size = frame_header_size(length, true);
        INFO("length " << length);
        FrameParser parser = server_parser();
        for (std::size_t cut = 0; cut < header_size; ++cut) {
            CHECK(parser.parse(std::string_view(frame).substr(0, cut)) ==
                  FrameParser::Status::need_more);
        }
        REQUIRE(parser.parse(std::string_view(frame).substr(0, header_size)) ==
                FrameParser::Status::complete);
        CHECK(parser.header().payload_length == length);
        CHECK(parser.header().header_size == header_size);
        CHECK(parser.header().opcode == Opcode::binary);
    }
}

TEST_CASE("frame_header_size", "[frame]") {
    CHECK(frame_header_size(0, false) == 2);
    CHECK(frame_header_size(125, false) == 2);
    CHECK(frame_header_size(126, false) == 4);
    CHECK(frame_header_size(65535, true) == 8);
    CHECK(frame_header_size(65536, false) == 10);
    CHECK(frame_header_size(65536, true) == max_frame_header_size);
}

TEST_CASE("reserved bits without a negotiated extension are 1002", "[frame]") {
    for (int bits : {0x40, 0x20, 0x10, 0x60, 0x50, 0x30, 0x70}) {
        INFO("reserved bits " << bits);
        FrameParser parser = server_parser();
        // The first two bytes suffice: the violation is reported before the rest arrives.
        const std::string frame = client_frame(0x1, "Hello", true, static_cast<std::uint8_t>(bits));
        REQUIRE(parser.parse(frame.substr(0, 2)) == FrameParser::Status::violation);
        CHECK(parser.violation().code == CloseCode::protocol_error);
        CHECK_THAT(parser.violation().reason, Catch::Contains("RSV"));
    }
}

TEST_CASE("RSV1 with permessage-deflate: data frames only, never RSV2/RSV3", "[frame]") {
    FrameParser parser = server_parser(true);
    CHECK(parser.parse(client_frame(0x1, "x", true, 0x40)) == FrameParser::Status::complete);
    CHECK(parser.header().rsv1);
    CHECK(parser.parse(client_frame(0x2, "x", false, 0x40)) == FrameParser::Status::complete);
    for (int opcode : {0x0, 0x8, 0x9, 0xA}) {
        INFO("opcode " << opcode);
        REQUIRE(parser.parse(client_frame(static_cast<std::uint8_t>(opcode), "", true, 0x40)) ==
                FrameParser::Status::violation);
        CHECK(parser.violation().code == CloseCode::protocol_error);
    }
    CHECK(parser.parse(client_frame(0x1, "x", true, 0x20)) == FrameParser::Status::violation);
    CHECK(parser.parse(client_frame(0x1, "x", true, 0x10)) == FrameParser::Status::violation);
}

TEST_CASE("reserved opcodes are 1002", "[frame]") {
    for (int opcode : {0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
        INFO("opcode " << opcode);
        FrameParser parser = server_parser();
        REQUIRE(parser.parse(client_frame(static_cast<std::uint8_t>(opcode), "").substr(0, 2)) ==
                FrameParser::Status::violation);
        CHECK(parser.violation().code == CloseCode::protocol_error);
        CHECK_THAT(parser.violation().reason, Catch::Contains("reserved opcode"));
    }
}

TEST_CASE("control frames: at most 125 bytes, never fragmented", "[frame]") {
    for (int opcode : {0x8, 0x9, 0xA}) {
        INFO("opcode " << opcode);
        FrameParser parser = server_parser();
        const auto code = static_cast<std::uint8_t>(opcode);
        CHECK(parser.parse(client_frame(code, std::string(125, 'p'))) ==
              FrameParser::Status::complete);
        const std::string long_frame = client_frame(code, std::string(126, 'p'));
        REQUIRE(parser.parse(long_frame.substr(0, 2)) == FrameParser::Status::violation);
        CHECK(parser.violation().code == CloseCode::protocol_error);
        CHECK_THAT(parser.violation().reason, Catch::Contains("125"));
        CHECK(parser.parse(client_frame(code, std::string(70000, 'p'))) ==
              FrameParser::Status::violation);
        REQUIRE(parser.parse(client_frame(code, "", false)) == FrameParser::Status::violation);
        CHECK_THAT(parser.violation().reason, Catch::Contains("fragmented"));
    }
}

TEST_CASE("mask direction: servers require masks, clients refuse them", "[frame]") {
    FrameParser server = server_parser();
    REQUIRE(server.parse(server_frame(0x1, "Hello").substr(0, 2)) ==
            FrameParser::Status::violation);
    CHECK(server.violation().code == CloseCode::protocol_error);
    CHECK_THAT(server.violation().reason, Catch::Contains("unmasked"));
    FrameParser client = client_parser();
    REQUIRE(client.parse(client_frame(0x1, "Hello").substr(0, 2)) ==
            FrameParser::Status::violation);
    CHECK_THAT(client.violation().reason, Catch::Contains("masked frame from a server"));
    CHECK(client.parse(client_frame(0x9, "").substr(0, 2)) == FrameParser::Status::violation);
}

TEST_CASE("64-bit length with the top bit set is 1002", "[frame]") {
    FrameParser parser = server_parser(false, UINT64_MAX);
    const std::string frame =
        bytes({0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0x01, 0x37, 0xfa, 0x21, 0x3d});
    REQUIRE(parser.parse(frame) == FrameParser::Status::violation);
    CHECK(parser.violation().code == CloseCode::protocol_error);
    CHECK_THAT(parser.violation().reason, Catch::Contains("most significant bit"));
    // 2^63 - 1 is a legal length (only the limit refuses it).
    const std::string largest =
        bytes({0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x37, 0xfa, 0x21, 0x3d});
    CHECK(parser.parse(largest) == FrameParser::Status::complete);
    CHECK(parser.header().payload_length == 0x7FFFFFFFFFFFFFFFULL);
}

TEST_CASE("non-minimal length encodings are 1002 unless allowed", "[frame]") {
    const std::string short_in_16 =
        raw_frame(RawFrame{0x82, std::string(100, 'x'), true, test::test_key, 2});
    const std::string short_in_64 =
        raw_frame(RawFrame{0x82, std::string(125, 'x'), true, test::test_key, 8});
    const std::string medium_in_64 =
        raw_frame(RawFrame{0x82, std::string(65535, 'x'), true, test::test_key, 8});
    for (const std::string* frame : {&short_in_16, &short_in_64, &medium_in_64}) {
        FrameParser strict = server_parser();
        REQUIRE(strict.parse(*frame) == FrameParser::Status::violation);
        CHECK(strict.violation().code == CloseCode::protocol_error);
        CHECK_THAT(strict.violation().reason, Catch::Contains("shortest"));
        FrameParser lenient(FrameRules{.role = Role::server, .allow_non_minimal_length = true});
        REQUIRE(lenient.parse(*frame) == FrameParser::Status::complete);
    }
    // The boundaries themselves are minimal.
    FrameParser parser = server_parser();
    CHECK(parser.parse(raw_frame(RawFrame{0x82, std::string(126, 'x'), true, test::test_key, 2})) ==
          FrameParser::Status::complete);
    CHECK(parser.parse(raw_frame(RawFrame{0x82, std::string(65536, 'x'), true, test::test_key,
                                          8})) == FrameParser::Status::complete);
}

TEST_CASE("a data frame over the payload limit is 1009 before its payload", "[frame]") {
    FrameParser parser = server_parser(false, 1000);
    CHECK(parser.parse(client_frame(0x2, std::string(1000, 'x'))) == FrameParser::Status::complete);
    const std::string frame = client_frame(0x2, std::string(1001, 'x'));
    REQUIRE(parser.parse(frame.substr(0, 8)) == FrameParser::Status::violation);
    CHECK(parser.violation().code == CloseCode::message_too_big);
    CHECK_THAT(parser.violation().reason, Catch::Contains("1001") && Catch::Contains("1000"));
}

TEST_CASE("violation reasons fit a close frame", "[frame]") {
    FrameParser parser = server_parser(false, 10);
    const std::string huge =
        bytes({0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x37, 0xfa, 0x21, 0x3d});
    REQUIRE(parser.parse(huge) == FrameParser::Status::violation);
    CHECK(parser.violation().reason.size() <= max_close_reason_size);
}

TEST_CASE("write_frame_header round-trips through the parser", "[frame]") {
    for (std::uint64_t length : {0ULL, 5ULL, 125ULL, 126ULL, 65535ULL, 65536ULL, 1ULL << 40}) {
        for (bool masked : {false, true}) {
            FrameFields fields{.opcode = Opcode::binary,
                               .fin = false,
                               .rsv1 = true,
                               .payload_length = length,
                               .masked = masked,
                               .mask_key = {1, 2, 3, 4}};
            char header[max_frame_header_size];
            const std::size_t size = write_frame_header(fields, header);
            CHECK(size == frame_header_size(length, masked));
            FrameParser parser(FrameRules{.role = masked ? Role::server : Role::client,
                                          .rsv1_allowed = true,
                                          .max_payload_length = UINT64_MAX});
            REQUIRE(parser.parse(std::string_view(header, size)) == FrameParser::Status::complete);
            CHECK(parser.header().payload_length == length);
            CHECK_FALSE(parser.header().fin);
            CHECK(parser.header().rsv1);
            CHECK(parser.header().masked == masked);
            if (masked) {
                CHECK(parser.header().mask_key == MaskKey{1, 2, 3, 4});
            }
        }
    }
}

TEST_CASE("masking: known answers, any offset, any alignment", "[masking]") {
    // Known answers, the first two from Tornado's tests of its websocket_mask.
    std::string digits = "54321";
    apply_mask(digits, MaskKey{'a', 'b', 'c', 'd'});
    CHECK(digits == "TVPVP");
    std::string eight = "98765432";
    apply_mask(eight, MaskKey{'Z', 'X', 'C', 'V'});
    CHECK(eight == "c`t`olpd");
    std::string data("\x00\x01\x02\x03\xff\xfe\xfd\xfc", 8);
    apply_mask(data, MaskKey{0xff, 0xfb, 0xfd, 0xfc});
    CHECK(data == std::string("\xff\xfa\xff\xff\x00\x05\x00\x00", 8));
    std::string hello = "hello";
    apply_mask(hello, MaskKey{'a', 'b', 'c', 'd'});
    CHECK(hello == std::string("\x09\x07\x0f\x08\x0e", 5));

    // Against a byte-at-a-time reference, for every length, offset and start position.
    const std::string source = test::random_bytes(300);
    const MaskKey key{0x12, 0x34, 0x56, 0x78};
    for (std::size_t start = 0; start < 9; ++start) {
        for (std::size_t length : {0u, 1u, 3u, 7u, 8u, 9u, 15u, 16u, 17u, 100u, 291u}) {
            for (std::uint64_t position : {0u, 1u, 2u, 3u, 5u}) {
                const std::string_view input = std::string_view(source).substr(start, length);
                std::string expected(input);
                for (std::size_t index = 0; index < expected.size(); ++index) {
                    expected[index] = static_cast<char>(static_cast<std::uint8_t>(expected[index]) ^
                                                        key[(position + index) % 4]);
                }
                std::string copied(length, '\0');
                copy_masked(input, copied.data(), key, position);
                CHECK(copied == expected);
                std::string in_place(input);
                apply_mask(in_place, key, position);
                CHECK(in_place == expected);
            }
        }
    }
}

TEST_CASE("masking in pieces equals masking at once", "[masking]") {
    const std::string payload = test::random_bytes(1000);
    const MaskKey key{9, 8, 7, 6};
    std::string whole = payload;
    apply_mask(whole, key);
    std::string pieces = payload;
    std::size_t offset = 0;
    for (std::size_t size : {1u, 2u, 3u, 5u, 8u, 13u, 21u, 34u, 55u, 89u, 144u, 233u, 392u}) {
        apply_mask(std::span<char>(pieces.data() + offset, size), key, offset);
        offset += size;
    }
    REQUIRE(offset == payload.size());
    CHECK(pieces == whole);
}

TEST_CASE("random mask keys differ", "[masking]") {
    std::set<MaskKey> keys;
    for (int index = 0; index < 3000; ++index) {
        keys.insert(random_mask_key());
    }
    // 3000 draws from 2^32 collide with probability about 0.1%; allow one.
    CHECK(keys.size() >= 2999);
}
