#include <gale/websocket/close.hpp>
#include <gale/websocket/errors.hpp>
#include <gale/websocket/reader.hpp>

#include <algorithm>
#include <cstring>

namespace gale::websocket {

namespace {

FrameRules frame_rules(const ReaderOptions& options, bool deflate) {
    FrameRules rules;
    rules.role = options.role;
    rules.rsv1_allowed = deflate;
    rules.max_payload_length =
        deflate ? compressed_size_limit(options.max_message_size) : options.max_message_size;
    rules.allow_non_minimal_length = options.allow_non_minimal_length;
    return rules;
}

std::optional<MessageDecompressor> decompressor_for(
    Role role, const std::optional<DeflateParameters>& deflate) {
    if (!deflate) {
        return std::nullopt;
    }
    return make_decompressor(role, *deflate);
}

}  // namespace

MessageReader::MessageReader(ReaderOptions options, std::optional<DeflateParameters> deflate)
    : parser_(frame_rules(options, deflate.has_value())),
      assembler_(options.max_message_size, decompressor_for(options.role, deflate)) {}

std::string MessageReader::take_message() {
    if (!assembler_.message_complete()) {
        throw WebSocketError("take_message: no complete message");
    }
    return std::move(assembler_.message());
}

ReadResult MessageReader::fail(Violation violation, std::size_t consumed) {
    failed_ = true;
    violation_ = std::move(violation);
    return ReadResult{ReadEvent::violation, consumed};
}

ReadResult MessageReader::read(std::string_view input) {
    if (failed_) {
        return ReadResult{ReadEvent::violation, 0};
    }
    std::size_t consumed = 0;
    while (true) {
        if (in_payload_) {
            if (auto violation = read_payload(input, consumed)) {
                return fail(std::move(*violation), consumed);
            }
            if (in_payload_) {
                return ReadResult{ReadEvent::need_more, consumed};
            }
            if (assembler_.message_complete()) {
                return ReadResult{ReadEvent::message, consumed};
            }
            continue;
        }
        const std::string_view rest = input.substr(consumed);
        const FrameParser::Status status = parser_.parse(rest);
        if (status == FrameParser::Status::need_more) {
            return ReadResult{ReadEvent::need_more, consumed};
        }
        if (status == FrameParser::Status::violation) {
            return fail(parser_.violation(), consumed);
        }
        const FrameHeader& header = parser_.header();
        if (is_control(header.opcode)) {
            if (rest.size() < header.header_size + header.payload_length) {
                return ReadResult{ReadEvent::need_more, consumed};
            }
            return read_control_frame(rest, consumed);
        }
        if (auto violation = assembler_.begin_frame(header)) {
            return fail(std::move(*violation), consumed);
        }
        consumed += header.header_size;
        payload_remaining_ = header.payload_length;
        in_payload_ = true;
    }
}

// Hands the data payload available in `input` to the assembler; ends the frame when all of
// it has come.
std::optional<Violation> MessageReader::read_payload(std::string_view input,
                                                     std::size_t& consumed) {
    const std::size_t available = input.size() - consumed;
    const auto take =
        static_cast<std::size_t>(std::min<std::uint64_t>(payload_remaining_, available));
    if (take > 0) {
        const std::string_view piece = input.substr(consumed, take);
        consumed += take;
        payload_remaining_ -= take;
        if (auto violation = assembler_.add_payload(piece)) {
            return violation;
        }
    }
    if (payload_remaining_ > 0) {
        return std::nullopt;
    }
    in_payload_ = false;
    return assembler_.end_frame();
}

ReadResult MessageReader::read_control_frame(std::string_view rest, std::size_t consumed) {
    const FrameHeader& header = parser_.header();
    const auto size = static_cast<std::size_t>(header.payload_length);
    const std::string_view payload = rest.substr(header.header_size, size);
    control_.resize(size);  // pings of up to 15 bytes stay in the string's own buffer
    if (header.masked) {
        copy_masked(payload, control_.data(), header.mask_key);
    } else {
        std::memcpy(control_.data(), payload.data(), size);
    }
    consumed += header.header_size + size;
    switch (header.opcode) {
        case Opcode::ping:
            return ReadResult{ReadEvent::ping, consumed};
        case Opcode::pong:
            return ReadResult{ReadEvent::pong, consumed};
        default:
            break;
    }
    CloseFrameContent content = parse_close_payload(control_payload());
    if (content.violation) {
        return fail(std::move(*content.violation), consumed);
    }
    close_code_ = content.code;
    return ReadResult{ReadEvent::close, consumed};
}

}  // namespace gale::websocket
