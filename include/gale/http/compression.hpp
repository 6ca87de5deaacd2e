#pragma once
/// gzip and deflate over zlib, streaming, with a hard limit on decompressed output.

#include <gale/ioloop/errors.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace gale::http {

/// The input is not valid compressed data (or decompressed data would exceed the limit: the
/// subclass `DecompressedTooLarge`).
class DecompressionError : public Error {
  public:
    using Error::Error;
};

/// Decompressed data would exceed the decompressor's `max_output` (a decompression bomb).
class DecompressedTooLarge : public DecompressionError {
  public:
    using DecompressionError::DecompressionError;
};

/// Streaming gzip compressor (Content-Encoding: gzip).
class GzipCompressor {
  public:
    explicit GzipCompressor(int level = 6);
    ~GzipCompressor();
    GzipCompressor(GzipCompressor&&) noexcept;
    GzipCompressor& operator=(GzipCompressor&&) noexcept;

    /// Compresses `data` and appends what zlib produced to `out`. With `finish`, also the
    /// gzip trailer; the compressor is then done.
    void compress(std::string_view data, std::string& out, bool finish);

  private:
    struct State;
    std::unique_ptr<State> state_;
};

/// Streaming decompressor for gzip, zlib-wrapped deflate or raw deflate (the format is
/// detected from the first bytes, as browsers do for `Content-Encoding: deflate`).
class Decompressor {
  public:
    /// `max_output`: most bytes it will produce in total; more → DecompressionError.
    explicit Decompressor(std::size_t max_output);
    ~Decompressor();
    Decompressor(Decompressor&&) noexcept;
    Decompressor& operator=(Decompressor&&) noexcept;

    /// Decompresses `data`, appending to `out`. Bytes after the end of the stream are ignored.
    void decompress(std::string_view data, std::string& out);
    /// True once the compressed stream ended properly.
    bool finished() const noexcept;

  private:
    struct State;
    std::unique_ptr<State> state_;
};

/// Whether a response of this content type is worth gzip-compressing, the rule the server's
/// `compress_response` follows: text/* (except text/event-stream, which must reach the client
/// event by event, through proxies that buffer compressed streams), JSON, JavaScript, XML and
/// their "+json"/"+xml" variants (SVG, Atom, RSS, manifests), WebAssembly, YAML, uncompressed
/// fonts (TTF, OTF) and icons. Already-compressed formats (images, video, woff2, zip, gzip,
/// PDF) are not. Parameters ("; charset=utf-8") and surrounding whitespace are ignored; names
/// are compared without case (RFC 9110 §8.3.1). Allocation-free: it runs on every response.
bool is_compressible(std::string_view content_type) noexcept;

/// One-shot helpers.
std::string gzip_compress(std::string_view data, int level = 6);
std::string decompress(std::string_view data, std::size_t max_output);

}  // namespace gale::http
