#include <gale/websocket/frame.hpp>

#include <fmt/format.h>

#include <cstring>

namespace gale::websocket {

namespace {

constexpr std::uint8_t fin_bit = 0x80;
constexpr std::uint8_t rsv1_bit = 0x40;
constexpr std::uint8_t rsv2_bit = 0x20;
constexpr std::uint8_t rsv3_bit = 0x10;
constexpr std::uint8_t opcode_bits = 0x0F;
constexpr std::uint8_t mask_bit = 0x80;
constexpr std::uint8_t length_bits = 0x7F;
constexpr std::uint8_t length_16_marker = 126;
constexpr std::uint8_t length_64_marker = 127;

bool is_known_opcode(std::uint8_t opcode) noexcept {
    return opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xA);
}

std::uint64_t read_big_endian(const char* bytes, std::size_t size) noexcept {
    std::uint64_t value = 0;
    for (std::size_t index = 0; index < size; ++index) {
        value = (value << 8) | static_cast<std::uint8_t>(bytes[index]);
    }
    return value;
}

void write_big_endian(std::uint64_t value, std::size_t size, char* destination) noexcept {
    for (std::size_t index = 0; index < size; ++index) {
        destination[size - 1 - index] = static_cast<char>(value & 0xFF);
        value >>= 8;
    }
}

}  // namespace

std::string_view to_string(Opcode opcode) noexcept {
    switch (opcode) {
        case Opcode::continuation:
            return "continuation";
        case Opcode::text:
            return "text";
        case Opcode::binary:
            return "binary";
        case Opcode::close:
            return "close";
        case Opcode::ping:
            return "ping";
        case Opcode::pong:
            return "pong";
    }
    return "reserved";
}

FrameParser::Status FrameParser::fail(CloseCode code, std::string reason) {
    violation_ = Violation{code, std::move(reason)};
    return Status::violation;
}

// Everything the first two bytes can reveal: reserved bits and opcodes, fragmented or long
// control frames, the mask bit's direction.
bool FrameParser::check_first_bytes(std::uint8_t first, std::uint8_t second) {
    const std::uint8_t opcode = first & opcode_bits;
    if (!is_known_opcode(opcode)) {
        fail(CloseCode::protocol_error, fmt::format("reserved opcode 0x{:X}", opcode));
        return false;
    }
    header_.opcode = static_cast<Opcode>(opcode);
    header_.fin = (first & fin_bit) != 0;
    header_.rsv1 = (first & rsv1_bit) != 0;
    header_.rsv2 = (first & rsv2_bit) != 0;
    header_.rsv3 = (first & rsv3_bit) != 0;
    header_.masked = (second & mask_bit) != 0;
    const bool control = is_control(header_.opcode);
    if (header_.rsv2 || header_.rsv3) {
        fail(CloseCode::protocol_error, fmt::format("reserved bit {} set: no extension defines it",
                                                    header_.rsv2 ? "RSV2" : "RSV3"));
        return false;
    }
    if (header_.rsv1 && !rules_.rsv1_allowed) {
        fail(CloseCode::protocol_error, "reserved bit RSV1 set without a negotiated extension");
        return false;
    }
    if (header_.rsv1 && (control || header_.opcode == Opcode::continuation)) {
        fail(CloseCode::protocol_error,
             fmt::format("RSV1 set on a {} frame (only the first frame of a message may carry it)",
                         to_string(header_.opcode)));
        return false;
    }
    if (control && !header_.fin) {
        fail(CloseCode::protocol_error,
             fmt::format("fragmented {} frame (control frames must have FIN set)",
                         to_string(header_.opcode)));
        return false;
    }
    if (control && (second & length_bits) > max_control_payload_size) {
        fail(CloseCode::protocol_error,
             fmt::format("{} frame payload over the 125-byte limit of control frames",
                         to_string(header_.opcode)));
        return false;
    }
    if (rules_.role == Role::server && !header_.masked) {
        fail(CloseCode::protocol_error, "unmasked frame from a client (clients must mask)");
        return false;
    }
    if (rules_.role == Role::client && header_.masked) {
        fail(CloseCode::protocol_error, "masked frame from a server (servers must not mask)");
        return false;
    }
    return true;
}

bool FrameParser::check_length(std::uint64_t length, std::size_t length_field_size) {
    if (length_field_size == 8 && (length >> 63) != 0) {
        fail(CloseCode::protocol_error, "64-bit payload length with the most significant bit set");
        return false;
    }
    const bool minimal =
        length_field_size == 0 || (length_field_size == 2 ? length >= 126 : length > 0xFFFF);
    if (!minimal && !rules_.allow_non_minimal_length) {
        fail(CloseCode::protocol_error,
             fmt::format("payload length {} not in the shortest encoding ({}-bit form)", length,
                         length_field_size * 8));
        return false;
    }
    if (length > rules_.max_payload_length) {
        fail(CloseCode::message_too_big,
             fmt::format("frame payload of {} bytes exceeds the limit of {} bytes", length,
                         rules_.max_payload_length));
        return false;
    }
    return true;
}

FrameParser::Status FrameParser::parse(std::string_view buffer) {
    if (buffer.size() < 2) {
        return Status::need_more;
    }
    const auto first = static_cast<std::uint8_t>(buffer[0]);
    const auto second = static_cast<std::uint8_t>(buffer[1]);
    if (!check_first_bytes(first, second)) {
        return Status::violation;
    }
    const std::uint8_t short_length = second & length_bits;
    const std::size_t length_field_size = short_length == length_16_marker   ? 2
                                          : short_length == length_64_marker ? 8
                                                                             : 0;
    const std::size_t header_size = 2 + length_field_size + (header_.masked ? 4 : 0);
    if (buffer.size() < header_size) {
        return Status::need_more;
    }
    const std::uint64_t length = length_field_size == 0
                                     ? short_length
                                     : read_big_endian(buffer.data() + 2, length_field_size);
    if (!check_length(length, length_field_size)) {
        return Status::violation;
    }
    header_.payload_length = length;
    header_.header_size = header_size;
    header_.mask_key = {};
    if (header_.masked) {
        std::memcpy(header_.mask_key.data(), buffer.data() + 2 + length_field_size, 4);
    }
    return Status::complete;
}

std::size_t write_frame_header(const FrameFields& fields, char* destination) noexcept {
    std::uint8_t first = static_cast<std::uint8_t>(fields.opcode);
    if (fields.fin) {
        first |= fin_bit;
    }
    if (fields.rsv1) {
        first |= rsv1_bit;
    }
    const std::uint8_t mask_flag = fields.masked ? mask_bit : 0;
    destination[0] = static_cast<char>(first);
    std::size_t size = 2;
    if (fields.payload_length < length_16_marker) {
        destination[1] = static_cast<char>(mask_flag | fields.payload_length);
    } else if (fields.payload_length <= 0xFFFF) {
        destination[1] = static_cast<char>(mask_flag | length_16_marker);
        write_big_endian(fields.payload_length, 2, destination + 2);
        size += 2;
    } else {
        destination[1] = static_cast<char>(mask_flag | length_64_marker);
        write_big_endian(fields.payload_length, 8, destination + 2);
        size += 8;
    }
    if (fields.masked) {
        std::memcpy(destination + size, fields.mask_key.data(), 4);
        size += 4;
    }
    return size;
}

}  // namespace gale::websocket
