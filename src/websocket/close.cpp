#include <gale/websocket/close.hpp>
#include <gale/websocket/errors.hpp>
#include <gale/websocket/utf8.hpp>

#include <fmt/format.h>

namespace gale::websocket {

bool is_valid_close_code(std::uint16_t code) noexcept {
    if (code >= 3000 && code <= 4999) {
        return true;
    }
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

CloseFrameContent parse_close_payload(std::string_view payload) {
    CloseFrameContent content;
    if (payload.empty()) {
        return content;
    }
    if (payload.size() == 1) {
        content.violation =
            Violation{CloseCode::protocol_error, "close frame payload of 1 byte (a code takes 2)"};
        return content;
    }
    const auto code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) |
                                                 static_cast<std::uint8_t>(payload[1]));
    if (!is_valid_close_code(code)) {
        content.violation =
            Violation{CloseCode::protocol_error, fmt::format("invalid close code {}", code)};
        return content;
    }
    content.code = static_cast<CloseCode>(code);
    content.reason = payload.substr(2);
    Utf8Validator validator;
    if (!validator.feed(content.reason) || !validator.complete()) {
        content.violation = Violation{CloseCode::invalid_payload,
                                      fmt::format("close reason is not valid UTF-8 (at byte {})",
                                                  validator.valid_prefix_size())};
    }
    return content;
}

std::string close_payload(CloseCode code, std::string_view reason) {
    const auto number = static_cast<std::uint16_t>(code);
    if (!is_valid_close_code(number)) {
        throw WebSocketError(fmt::format("close code {} may not be sent in a close frame", number));
    }
    if (reason.size() > max_close_reason_size) {
        throw WebSocketError(fmt::format("close reason of {} bytes exceeds the limit of {}",
                                         reason.size(), max_close_reason_size));
    }
    if (!is_valid_utf8(reason)) {
        throw WebSocketError("close reason is not valid UTF-8");
    }
    std::string payload;
    payload.reserve(2 + reason.size());
    payload.push_back(static_cast<char>(number >> 8));
    payload.push_back(static_cast<char>(number & 0xFF));
    payload.append(reason);
    return payload;
}

std::string_view truncate_close_reason(std::string_view reason) noexcept {
    if (reason.size() <= max_close_reason_size) {
        return reason;
    }
    std::size_t size = max_close_reason_size;
    // Back off over continuation bytes to the start of the sequence that was cut.
    while (size > 0 && (static_cast<std::uint8_t>(reason[size]) & 0xC0) == 0x80) {
        --size;
    }
    return reason.substr(0, size);
}

}  // namespace gale::websocket
