#include <gale/websocket/errors.hpp>
#include <gale/websocket/message.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace gale::websocket {

namespace {

// Memory reserved ahead for a frame's payload is capped: a header may announce megabytes that
// never come, and a connection should not pay for them before they do.
constexpr std::uint64_t max_reserve_ahead = 1024 * 1024;

Violation too_big(std::uint64_t size, std::uint64_t limit) {
    return Violation{CloseCode::message_too_big,
                     fmt::format("message of {} bytes exceeds the limit of {} bytes", size, limit)};
}

}  // namespace

MessageAssembler::MessageAssembler(std::uint64_t max_message_size,
                                   std::optional<MessageDecompressor> decompressor)
    : max_message_size_(max_message_size), decompressor_(std::move(decompressor)) {}

std::optional<Violation> MessageAssembler::begin_frame(const FrameHeader& header) {
    if (is_control(header.opcode)) {
        throw WebSocketError("control frames do not go through the message assembler");
    }
    if (header.opcode == Opcode::continuation) {
        if (!in_message_) {
            return Violation{CloseCode::protocol_error,
                             "continuation frame without a message to continue"};
        }
    } else if (in_message_) {
        return Violation{CloseCode::protocol_error,
                         fmt::format("{} frame while a fragmented message is unfinished "
                                     "(expected a continuation frame)",
                                     to_string(header.opcode))};
    } else if (auto violation = start_message(header)) {
        return violation;
    }
    const std::uint64_t limit =
        compressed_ ? compressed_size_limit(max_message_size_) : max_message_size_;
    if (header.payload_length > limit - wire_size_) {
        return too_big(wire_size_ + header.payload_length, limit);
    }
    wire_size_ += header.payload_length;
    mask_key_ = header.mask_key;
    masked_ = header.masked;
    fin_ = header.fin;
    frame_position_ = 0;
    in_frame_ = true;
    if (!compressed_) {
        reserve_for(header.payload_length);
    }
    return std::nullopt;
}

std::optional<Violation> MessageAssembler::start_message(const FrameHeader& header) {
    if (header.rsv1 && !decompressor_) {
        return Violation{CloseCode::protocol_error,
                         "RSV1 set but permessage-deflate was not negotiated"};
    }
    message_.clear();
    utf8_.reset();
    validated_ = 0;
    wire_size_ = 0;
    opcode_ = header.opcode;
    compressed_ = header.rsv1;
    complete_ = false;
    in_message_ = true;
    return std::nullopt;
}

void MessageAssembler::reserve_for(std::uint64_t payload_length) {
    const std::uint64_t wanted = message_.size() + std::min(payload_length, max_reserve_ahead);
    if (wanted > message_.capacity()) {
        message_.reserve(std::max<std::size_t>(wanted, message_.capacity() * 2));
    }
}

std::optional<Violation> MessageAssembler::add_payload(std::string_view bytes) {
    if (!in_frame_) {
        throw WebSocketError("payload added outside a frame");
    }
    if (compressed_) {
        return add_compressed(bytes);
    }
    const std::size_t start = message_.size();
    message_.append(bytes);
    if (masked_) {
        apply_mask(std::span<char>(message_.data() + start, bytes.size()), mask_key_,
                   frame_position_);
    }
    frame_position_ += bytes.size();
    return validate_new_text();
}

// The first error in the order of the data: text that inflated before the decompressor failed
// is checked first, so the outcome does not depend on how the payload was split.
std::optional<Violation> MessageAssembler::first_violation(std::optional<Violation> decompression) {
    if (auto violation = validate_new_text()) {
        return violation;
    }
    return decompression;
}

std::optional<Violation> MessageAssembler::add_compressed(std::string_view bytes) {
    if (!masked_) {
        frame_position_ += bytes.size();
        return first_violation(decompressor_->decompress(bytes, message_, max_message_size_));
    }
    // Unmask a piece at a time into a scratch buffer: the input may not be written to.
    std::array<char, 8 * 1024> unmasked;
    while (!bytes.empty()) {
        const std::size_t size = std::min(bytes.size(), unmasked.size());
        copy_masked(bytes.substr(0, size), unmasked.data(), mask_key_, frame_position_);
        frame_position_ += size;
        bytes.remove_prefix(size);
        if (auto violation = first_violation(decompressor_->decompress(
                std::string_view(unmasked.data(), size), message_, max_message_size_))) {
            return violation;
        }
    }
    return std::nullopt;
}

std::optional<Violation> MessageAssembler::validate_new_text() {
    if (opcode_ != Opcode::text || validated_ == message_.size()) {
        return std::nullopt;
    }
    if (!utf8_.feed(std::string_view(message_).substr(validated_))) {
        return Violation{
            CloseCode::invalid_payload,
            fmt::format("invalid UTF-8 in text message at byte {}", utf8_.valid_prefix_size())};
    }
    validated_ = message_.size();
    return std::nullopt;
}

std::optional<Violation> MessageAssembler::end_frame() {
    if (!in_frame_) {
        throw WebSocketError("end_frame without a frame");
    }
    in_frame_ = false;
    if (!fin_) {
        return std::nullopt;
    }
    if (compressed_) {
        if (auto violation =
                first_violation(decompressor_->finish_message(message_, max_message_size_))) {
            return violation;
        }
    }
    if (opcode_ == Opcode::text && !utf8_.complete()) {
        return Violation{CloseCode::invalid_payload, "text message ends inside a UTF-8 sequence"};
    }
    in_message_ = false;
    complete_ = true;
    return std::nullopt;
}

}  // namespace gale::websocket
