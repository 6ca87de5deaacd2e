#include <gale/http/compression.hpp>

#include <gale/http/headers.hpp>

#include "http/lowercase_literal.hpp"

#include <zlib.h>

#include <cstring>

namespace gale::http {

using detail::equals_lowercase;

struct GzipCompressor::State {
    z_stream stream{};
    bool finished = false;
    ~State() { deflateEnd(&stream); }
};

GzipCompressor::GzipCompressor(int level) : state_(std::make_unique<State>()) {
    // windowBits 15 + 16: the gzip wrapper.
    if (deflateInit2(&state_->stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        throw Error("zlib: deflateInit2 failed");
    }
}

GzipCompressor::~GzipCompressor() = default;
GzipCompressor::GzipCompressor(GzipCompressor&&) noexcept = default;
GzipCompressor& GzipCompressor::operator=(GzipCompressor&&) noexcept = default;

void GzipCompressor::compress(std::string_view data, std::string& out, bool finish) {
    if (state_->finished) {
        throw Error("GzipCompressor: already finished");
    }
    z_stream& stream = state_->stream;
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    stream.avail_in = static_cast<uInt>(data.size());
    const int flush = finish ? Z_FINISH : Z_SYNC_FLUSH;
    while (true) {
        std::size_t before = out.size();
        std::size_t room = deflateBound(&stream, stream.avail_in) + 64;
        out.resize(before + room);
        stream.next_out = reinterpret_cast<Bytef*>(out.data() + before);
        stream.avail_out = static_cast<uInt>(room);
        int result = deflate(&stream, flush);
        out.resize(before + room - stream.avail_out);
        if (result == Z_STREAM_END) {
            state_->finished = true;
            return;
        }
        if (result != Z_OK && result != Z_BUF_ERROR) {
            throw Error("zlib: deflate failed");
        }
        if (stream.avail_in == 0 && stream.avail_out != 0) {
            return;
        }
    }
}

struct Decompressor::State {
    z_stream stream{};
    bool initialised = false;
    bool finished = false;
    std::size_t max_output;
    std::size_t produced = 0;
    std::string first_bytes;  // until the format is known
    ~State() {
        if (initialised) {
            inflateEnd(&stream);
        }
    }
};

Decompressor::Decompressor(std::size_t max_output) : state_(std::make_unique<State>()) {
    state_->max_output = max_output;
}

Decompressor::~Decompressor() = default;
Decompressor::Decompressor(Decompressor&&) noexcept = default;
Decompressor& Decompressor::operator=(Decompressor&&) noexcept = default;

bool Decompressor::finished() const noexcept {
    return state_->finished;
}

namespace {

// gzip starts 1f 8b; a zlib header is CMF/FLG with (CMF*256+FLG) % 31 == 0 and method 8;
// anything else is taken as raw deflate.
int window_bits_for(std::string_view first_two) {
    auto byte0 = static_cast<unsigned char>(first_two[0]);
    auto byte1 = static_cast<unsigned char>(first_two[1]);
    if (byte0 == 0x1f && byte1 == 0x8b) {
        return 15 + 16;
    }
    if ((byte0 & 0x0f) == 8 && ((byte0 << 8) | byte1) % 31 == 0) {
        return 15;
    }
    return -15;
}

}  // namespace

void Decompressor::decompress(std::string_view data, std::string& out) {
    State& state = *state_;
    if (state.finished || data.empty()) {
        return;
    }
    std::string joined;
    if (!state.initialised) {
        // The format is decided by the first two bytes, which may arrive one at a time.
        if (state.first_bytes.size() + data.size() < 2) {
            state.first_bytes.append(data);
            return;
        }
        joined = state.first_bytes;
        joined.append(data);
        data = joined;
        if (inflateInit2(&state.stream, window_bits_for(data.substr(0, 2))) != Z_OK) {
            throw DecompressionError("zlib: inflateInit2 failed");
        }
        state.initialised = true;
    }
    z_stream& stream = state.stream;
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    stream.avail_in = static_cast<uInt>(data.size());
    char buffer[16 * 1024];
    while (true) {
        stream.next_out = reinterpret_cast<Bytef*>(buffer);
        stream.avail_out = sizeof buffer;
        int result = inflate(&stream, Z_NO_FLUSH);
        std::size_t produced = sizeof buffer - stream.avail_out;
        state.produced += produced;
        if (state.produced > state.max_output) {
            throw DecompressedTooLarge("decompressed data larger than " +
                                       std::to_string(state.max_output) + " bytes");
        }
        out.append(buffer, produced);
        if (result == Z_STREAM_END) {
            state.finished = true;
            return;
        }
        if (result != Z_OK && result != Z_BUF_ERROR) {
            throw DecompressionError(std::string("invalid compressed data: ") +
                                     (stream.msg != nullptr ? stream.msg : "zlib error"));
        }
        if ((stream.avail_in == 0 && stream.avail_out != 0) ||
            (result == Z_BUF_ERROR && produced == 0)) {
            return;  // all input used and all output out: wait for more input
        }
    }
}

std::string gzip_compress(std::string_view data, int level) {
    std::string out;
    GzipCompressor compressor(level);
    compressor.compress(data, out, true);
    return out;
}

std::string decompress(std::string_view data, std::size_t max_output) {
    std::string out;
    Decompressor decompressor(max_output);
    decompressor.decompress(data, out);
    if (!decompressor.finished()) {
        throw DecompressionError("truncated compressed data");
    }
    return out;
}

bool is_compressible(std::string_view content_type) noexcept {
    const std::string_view type = trim_whitespace(content_type.substr(0, content_type.find(';')));
    auto has_prefix = [type](const detail::LowercaseLiteral& prefix) {
        return type.size() > prefix.size() &&
               equals_lowercase(type.substr(0, prefix.size()), prefix);
    };
    auto has_suffix = [type](const detail::LowercaseLiteral& suffix) {
        return type.size() > suffix.size() &&
               equals_lowercase(type.substr(type.size() - suffix.size()), suffix);
    };
    if (has_prefix("text/")) {
        return !equals_lowercase(type, "text/event-stream");
    }
    if (has_suffix("+json") || has_suffix("+xml")) {
        return true;
    }
    static constexpr detail::LowercaseLiteral compressible[] = {
        "application/json",
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "application/xml",
        "application/wasm",
        "application/yaml",
        "font/ttf",
        "font/otf",
        "image/x-icon",
        "image/bmp",
    };
    for (const detail::LowercaseLiteral& candidate : compressible) {
        if (equals_lowercase(type, candidate)) {
            return true;
        }
    }
    return false;
}

}  // namespace gale::http
