#include <gale/websocket/close.hpp>
#include <gale/websocket/errors.hpp>
#include <gale/websocket/masking.hpp>
#include <gale/websocket/writer.hpp>

#include <fmt/format.h>

#include <cstring>

namespace gale::websocket {

namespace {

// Compressed payloads are built in a per-thread buffer before framing (the header's size
// depends on their length); one that grew for a large message is not kept.
constexpr std::size_t max_kept_scratch = 1024 * 1024;

FrameFields fields_for(Role role, Opcode opcode, bool fin, bool rsv1) {
    FrameFields fields;
    fields.opcode = opcode;
    fields.fin = fin;
    fields.rsv1 = rsv1;
    fields.masked = role == Role::client;
    if (fields.masked) {
        fields.mask_key = random_mask_key();
    }
    return fields;
}

std::string control_frame(Role role, Opcode opcode, std::string_view payload) {
    if (payload.size() > max_control_payload_size) {
        throw WebSocketError(fmt::format("{} payload of {} bytes exceeds the limit of {}",
                                         to_string(opcode), payload.size(),
                                         max_control_payload_size));
    }
    std::string frame;
    append_frame(frame, fields_for(role, opcode, true, false), payload);
    return frame;
}

void append_fragments(std::string& out, Role role, Opcode opcode, std::string_view body,
                      bool compressed, std::size_t fragment_size) {
    const std::size_t piece_size = fragment_size == 0 ? body.size() : fragment_size;
    const std::size_t frame_count = body.empty() ? 1 : (body.size() + piece_size - 1) / piece_size;
    out.reserve(out.size() + body.size() + frame_count * max_frame_header_size);
    bool first = true;
    do {
        const std::string_view piece = body.substr(0, piece_size);
        body.remove_prefix(piece.size());
        append_frame(out,
                     fields_for(role, first ? opcode : Opcode::continuation, body.empty(),
                                first && compressed),
                     piece);
        first = false;
    } while (!body.empty());
}

}  // namespace

void append_frame(std::string& out, FrameFields fields, std::string_view payload) {
    fields.payload_length = payload.size();
    const std::size_t start = out.size();
    const std::size_t header_size = frame_header_size(payload.size(), fields.masked);
    out.resize(start + header_size + payload.size());
    char* destination = out.data() + start;
    write_frame_header(fields, destination);
    if (payload.empty()) {
        return;
    }
    if (fields.masked) {
        copy_masked(payload, destination + header_size, fields.mask_key);
    } else {
        std::memcpy(destination + header_size, payload.data(), payload.size());
    }
}

std::string encode_frame(Role role, Opcode opcode, std::string_view payload, bool fin, bool rsv1) {
    if (is_control(opcode) && (!fin || payload.size() > max_control_payload_size)) {
        throw WebSocketError(fmt::format(
            "{} frame of {} bytes{}: control frames are unfragmented and at most 125 bytes",
            to_string(opcode), payload.size(), fin ? "" : " without FIN"));
    }
    std::string frame;
    append_frame(frame, fields_for(role, opcode, fin, rsv1), payload);
    return frame;
}

std::string ping_frame(Role role, std::string_view payload) {
    return control_frame(role, Opcode::ping, payload);
}

std::string pong_frame(Role role, std::string_view payload) {
    return control_frame(role, Opcode::pong, payload);
}

std::string close_frame(Role role, CloseCode code, std::string_view reason) {
    return control_frame(role, Opcode::close, close_payload(code, reason));
}

std::string close_frame(Role role) {
    return control_frame(role, Opcode::close, {});
}

void append_message(std::string& out, Role role, Opcode opcode, std::string_view payload,
                    MessageEncoding encoding) {
    if (opcode != Opcode::text && opcode != Opcode::binary) {
        throw WebSocketError(fmt::format("a message is text or binary, not {}", to_string(opcode)));
    }
    if (encoding.compressor == nullptr) {
        append_fragments(out, role, opcode, payload, false, encoding.fragment_size);
        return;
    }
    thread_local std::string scratch;
    scratch.clear();
    encoding.compressor->compress(payload, scratch);
    append_fragments(out, role, opcode, scratch, true, encoding.fragment_size);
    if (scratch.capacity() > max_kept_scratch) {
        std::string().swap(scratch);
    }
}

std::string encode_message(Role role, Opcode opcode, std::string_view payload,
                           MessageEncoding encoding) {
    std::string out;
    append_message(out, role, opcode, payload, encoding);
    return out;
}

PreparedMessage::PreparedMessage(Opcode opcode, std::string_view payload,
                                 PreparedMessageOptions options)
    : plain_(std::make_shared<const std::string>(encode_message(Role::server, opcode, payload))),
      window_bits_(options.window_bits) {
    if (options.compress) {
        MessageCompressor compressor(CompressorSettings{.window_bits = options.window_bits,
                                                        .context_takeover = false,
                                                        .level = options.compression_level,
                                                        .memory_level = options.memory_level});
        compressed_ = std::make_shared<const std::string>(
            encode_message(Role::server, opcode, payload, {.compressor = &compressor}));
    }
}

PreparedMessage::Choice PreparedMessage::frame_for(
    const std::optional<DeflateParameters>& deflate) const noexcept {
    if (compressed_ && deflate && deflate->server_max_window_bits >= window_bits_) {
        return Choice{compressed_, true};
    }
    return Choice{plain_, false};
}

}  // namespace gale::websocket
