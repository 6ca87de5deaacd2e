// Close frame payloads: which codes are valid (Autobahn 7.7, 7.9, 7.13), short payloads,
// reasons that are not UTF-8, and building payloads.

#include <gale/websocket/close.hpp>
#include <gale/websocket/errors.hpp>

#include <catch2/catch.hpp>

#include "websocket/test_frames.hpp"

using namespace gale::websocket;
using gale::websocket::test::close_payload_bytes;

TEST_CASE("valid close codes (Autobahn 7.7 and the IANA additions)", "[close]") {
    for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000,
                     3999, 4000, 4999}) {
        INFO("code " << code);
        CHECK(is_valid_close_code(static_cast<std::uint16_t>(code)));
        const std::string payload = close_payload_bytes(static_cast<std::uint16_t>(code), "bye");
        const CloseFrameContent content = parse_close_payload(payload);
        CHECK_FALSE(content.violation);
        CHECK(static_cast<int>(content.code) == code);
        CHECK(content.reason == "bye");
    }
}

TEST_CASE("invalid close codes are 1002 (Autobahn 7.9 and 7.13)", "[close]") {
    for (int code : {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
        INFO("code " << code);
        CHECK_FALSE(is_valid_close_code(static_cast<std::uint16_t>(code)));
        const CloseFrameContent content =
            parse_close_payload(close_payload_bytes(static_cast<std::uint16_t>(code)));
        REQUIRE(content.violation);
        CHECK(content.violation->code == CloseCode::protocol_error);
        CHECK_THAT(content.violation->reason, Catch::Contains(std::to_string(code)));
    }
}

TEST_CASE("every code from 0 to 65535 is classified as the RFC and IANA say", "[close]") {
    std::size_t valid = 0;
    for (std::uint32_t code = 0; code <= 0xFFFF; ++code) {
        if (is_valid_close_code(static_cast<std::uint16_t>(code))) {
            ++valid;
        }
    }
    CHECK(valid == 4 + 8 + 2000);
}

TEST_CASE("an empty close payload means no status", "[close]") {
    const CloseFrameContent content = parse_close_payload("");
    CHECK_FALSE(content.violation);
    CHECK(content.code == CloseCode::no_status);
    CHECK(content.reason.empty());
}

TEST_CASE("a 1-byte close payload is 1002", "[close]") {
    const CloseFrameContent content = parse_close_payload(std::string(1, '\x03'));
    REQUIRE(content.violation);
    CHECK(content.violation->code == CloseCode::protocol_error);
}

TEST_CASE("a close reason that is not UTF-8 is 1007 (Autobahn 7.5.1)", "[close]") {
    const std::string reason(
        "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
        "edited");
    const CloseFrameContent content = parse_close_payload(close_payload_bytes(1000, reason));
    REQUIRE(content.violation);
    CHECK(content.violation->code == CloseCode::invalid_payload);
    // ED is a valid lead byte; A0 after it (a surrogate) is the first invalid one.
    CHECK_THAT(content.violation->reason, Catch::Contains("byte 12"));
    const CloseFrameContent truncated =
        parse_close_payload(close_payload_bytes(1000, std::string("ok \xe2\x82", 5)));
    REQUIRE(truncated.violation);
    CHECK(truncated.violation->code == CloseCode::invalid_payload);
}

TEST_CASE("a UTF-8 close reason of 123 bytes is fine", "[close]") {
    const std::string reason = std::string(121, 'r') + "\xc3\xa9";
    const std::string payload = close_payload_bytes(4000, reason);
    const CloseFrameContent content = parse_close_payload(payload);
    CHECK_FALSE(content.violation);
    CHECK(content.code == CloseCode{4000});
    CHECK(content.reason == reason);
}

TEST_CASE("close_payload builds and validates", "[close]") {
    CHECK(close_payload(CloseCode::normal) == std::string("\x03\xe8", 2));
    CHECK(close_payload(CloseCode::going_away, "goodbye") == std::string("\x03\xe9goodbye", 9));
    CHECK(close_payload(CloseCode{4321}, "x") == close_payload_bytes(4321, "x"));
    CHECK_THROWS_AS(close_payload(CloseCode::no_status), WebSocketError);
    CHECK_THROWS_AS(close_payload(CloseCode::abnormal), WebSocketError);
    CHECK_THROWS_AS(close_payload(CloseCode::tls_handshake), WebSocketError);
    CHECK_THROWS_AS(close_payload(CloseCode{2000}), WebSocketError);
    CHECK_THROWS_WITH(close_payload(CloseCode::normal, std::string(124, 'x')),
                      Catch::Contains("124") && Catch::Contains("123"));
    CHECK_THROWS_AS(close_payload(CloseCode::normal, "\xff"), WebSocketError);
    CHECK(close_payload(CloseCode::normal, std::string(123, 'x')).size() == 125);
}

TEST_CASE("truncate_close_reason keeps UTF-8 sequences whole", "[close]") {
    CHECK(truncate_close_reason("short") == "short");
    const std::string ascii(200, 'a');
    CHECK(truncate_close_reason(ascii).size() == 123);
    // 61 two-byte characters = 122 bytes, then a 3-byte one straddling the limit.
    const std::string accented = [] {
        std::string text;
        for (int index = 0; index < 61; ++index) {
            text += "\xc3\xa9";
        }
        return text + "\xe2\x82\xac" + "tail";
    }();
    const std::string_view cut = truncate_close_reason(accented);
    CHECK(cut.size() == 122);
    CHECK(close_payload(CloseCode::internal_error, cut).size() == 124);
}
