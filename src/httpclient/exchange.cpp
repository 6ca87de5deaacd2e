// One request/response exchange over an open connection: sending the head and the body,
// reading the response head (skipping 1xx), and the body in whichever framing it comes,
// decoded and delivered without copies where possible.

#include <gale/http/compression.hpp>
#include <gale/http/writer.hpp>
#include <gale/ioloop/combinators.hpp>

#include "httpclient/client_state.hpp"
#include "httpclient/request_builder.hpp"

#include <algorithm>

namespace gale::httpclient::detail {

// --- request bodies ---------------------------------------------------------------------------

class BodySink {
  public:
    BodySink(IOStream* stream, bool chunked, std::optional<std::uint64_t> declared,
             const std::string& url)
        : stream_(stream), chunked_(chunked), declared_(declared), url_(url) {}

    Task<void> write(std::string data) {
        if (data.empty()) {
            co_return;
        }
        if (declared_ && sent_ + data.size() > *declared_) {
            throw InvalidRequestError(url_, "body_producer wrote more than body_size (" +
                                                std::to_string(*declared_) + " bytes) for " + url_);
        }
        sent_ += data.size();
        if (chunked_) {
            std::string framed;
            framed.reserve(data.size() + 16);
            http::append_chunk(framed, data);
            co_await stream_->write(std::move(framed));
        } else {
            co_await stream_->write(std::move(data));
        }
    }

    Task<void> finish() {
        if (chunked_) {
            co_await stream_->write(std::string_view("0\r\n\r\n"));
        } else if (declared_ && sent_ != *declared_) {
            throw InvalidRequestError(url_, "body_producer wrote " + std::to_string(sent_) +
                                                " of body_size " + std::to_string(*declared_) +
                                                " bytes for " + url_);
        }
    }

  private:
    IOStream* stream_;
    bool chunked_;
    std::optional<std::uint64_t> declared_;
    std::uint64_t sent_ = 0;
    const std::string& url_;
};

}  // namespace gale::httpclient::detail

namespace gale::httpclient {

namespace {
Task<void> write_to_sink(detail::BodySink* sink, std::string data) {
    co_await sink->write(std::move(data));
}
}  // namespace

Task<void> BodyWriter::write(std::string data) {
    return write_to_sink(sink_, std::move(data));
}

}  // namespace gale::httpclient

namespace gale::httpclient::detail {
namespace {

constexpr std::uint64_t max_drained_redirect_body = 64 * 1024;
constexpr IOLoop::Duration continue_timeout = std::chrono::seconds(1);

bool is_redirect_status(int code) noexcept {
    return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

std::string describe_peer(const Target& target) {
    std::string host =
        target.host.find(':') != std::string::npos ? "[" + target.host + "]" : target.host;
    return host + ":" + std::to_string(target.port);
}

Task<void> send_body(FetchContext* context, IOStream* stream) {
    const HTTPRequest& request = *context->request;
    if (request.body) {
        co_await stream->write(std::string_view(*request.body));
        co_return;
    }
    BodySink sink(stream, !request.body_size.has_value(), request.body_size,
                  context->target.url_text);
    context->producer_called = true;
    co_await request.body_producer(BodyWriter(sink));
    co_await sink.finish();
}

// Waits until `parser` has a complete head at the front of the stream's buffer.
Task<void> read_head(FetchContext* context, IOStream* stream, http::ResponseParser& parser,
                     bool head_request) {
    parser.reset();
    while (true) {
        std::string_view buffered = stream->buffered();
        if (!buffered.empty() && !context->received_any) {
            context->received_any = true;
            context->phase = TimeoutPhase::read_response;
        }
        http::ParseStatus status = parser.parse(buffered, head_request);
        if (status == http::ParseStatus::complete) {
            co_return;
        }
        if (status == http::ParseStatus::error) {
            throw HTTPProtocolError(context->target.url_text,
                                    "malformed response from " + describe_peer(context->target) +
                                        " for " + context->target.url_text + ": " +
                                        parser.error().reason);
        }
        if (!co_await stream->wait_for_data() && stream->buffered().size() == buffered.size()) {
            throw HTTPConnectionError(context->target.url_text,
                                      std::string(buffered.empty() ? "connection closed by "
                                                                   : "response head cut off by ") +
                                          describe_peer(context->target) +
                                          " before the response to " + context->target.url_text +
                                          " was complete");
        }
    }
}

// Delivers decoded body bytes to their destination and enforces max_body_size.
class BodyReader {
  public:
    BodyReader(FetchContext* context, bool discard, std::optional<http::Decompressor> decompressor)
        : context_(context), discard_(discard), decompressor_(std::move(decompressor)) {
        const HTTPRequest& request = *context->request;
        if (!discard_) {
            sync_callback_ = request.streaming_callback ? &request.streaming_callback : nullptr;
            async_callback_ = sync_callback_ == nullptr && request.async_streaming_callback
                                  ? &request.async_streaming_callback
                                  : nullptr;
        }
    }

    bool asynchronous() const noexcept { return async_callback_ != nullptr; }

    // Takes raw (possibly compressed) body bytes. For an asynchronous callback the decoded
    // bytes are collected in `pending()` for the caller to hand over.
    void take(std::string_view raw) {
        raw_bytes_ += raw.size();
        if (discard_) {
            return;
        }
        if (decompressor_) {
            std::string& out = sync_callback_ != nullptr ? scratch_ : target_string();
            std::size_t before = out.size();
            try {
                decompressor_->decompress(raw, out);
            } catch (const http::DecompressionError& error) {
                fail_decompression(error);
            }
            if (sync_callback_ != nullptr) {
                if (out.size() > before) {
                    (*sync_callback_)(std::string_view(out).substr(before));
                }
                out.clear();
            }
            return;
        }
        count(raw.size());
        if (sync_callback_ != nullptr) {
            (*sync_callback_)(raw);
        } else {
            target_string().append(raw);
        }
    }

    // Called once the body is complete.
    void finish() {
        if (decompressor_ && !discard_ && raw_bytes_ > 0 && !decompressor_->finished()) {
            throw HTTPProtocolError(context_->target.url_text,
                                    "compressed body of " + context_->target.url_text +
                                        " is truncated (the stream ended early)");
        }
    }

    std::string take_pending() { return std::exchange(pending_, {}); }
    bool has_pending() const noexcept { return !pending_.empty(); }
    Task<void> hand_pending() { co_await (*async_callback_)(take_pending()); }
    void reserve(std::uint64_t size) {
        if (!discard_ && !decompressor_ && sync_callback_ == nullptr &&
            async_callback_ == nullptr) {
            context_->response.body.reserve(static_cast<std::size_t>(size));
        }
    }

  private:
    std::string& target_string() {
        return async_callback_ != nullptr ? pending_ : context_->response.body;
    }
    void count(std::size_t bytes) {
        delivered_ += bytes;
        if (delivered_ > context_->max_body_size) {
            throw HTTPBodyTooLargeError(context_->target.url_text,
                                        "body of " + context_->target.url_text +
                                            " exceeds max_body_size (" +
                                            std::to_string(context_->max_body_size) + " bytes)");
        }
    }
    [[noreturn]] void fail_decompression(const http::DecompressionError& error) {
        std::string_view message = error.what();
        if (dynamic_cast<const http::DecompressedTooLarge*>(&error) != nullptr) {
            throw HTTPBodyTooLargeError(context_->target.url_text,
                                        "decompressed body of " + context_->target.url_text +
                                            " exceeds max_body_size (" +
                                            std::to_string(context_->max_body_size) + " bytes)");
        }
        throw HTTPProtocolError(context_->target.url_text, "body of " + context_->target.url_text +
                                                               ": " + std::string(message));
    }

    FetchContext* context_;
    bool discard_;
    std::optional<http::Decompressor> decompressor_;
    const std::function<void(std::string_view)>* sync_callback_ = nullptr;
    const std::function<Task<void>(std::string)>* async_callback_ = nullptr;
    std::string scratch_;
    std::string pending_;
    std::uint64_t delivered_ = 0;
    std::uint64_t raw_bytes_ = 0;
};

[[noreturn]] void throw_short_body(FetchContext* context, std::uint64_t received,
                                   std::uint64_t expected) {
    throw HTTPProtocolError(context->target.url_text,
                            "body of " + context->target.url_text + " ended after " +
                                std::to_string(received) + " of " + std::to_string(expected) +
                                " bytes (Content-Length): the connection closed early");
}

Task<void> read_fixed_body(FetchContext* context, IOStream* stream, BodyReader* reader,
                           std::uint64_t length) {
    std::uint64_t remaining = length;
    reader->reserve(length);
    while (remaining > 0) {
        std::string_view buffered = stream->buffered();
        if (buffered.empty()) {
            if (!co_await stream->wait_for_data() && stream->buffered().empty()) {
                throw_short_body(context, length - remaining, length);
            }
            continue;
        }
        std::size_t take =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining, buffered.size()));
        reader->take(buffered.substr(0, take));
        stream->consume(take);
        remaining -= take;
        if (reader->has_pending()) {
            co_await reader->hand_pending();
        }
    }
}

Task<void> read_chunked_body(FetchContext* context, IOStream* stream, BodyReader* reader) {
    http::ParserLimits limits;
    http::ChunkedDecoder decoder(limits);
    bool closed = false;
    while (true) {
        http::ChunkedDecoder::Result result = decoder.decode(stream->buffered());
        switch (result.status) {
            case http::ChunkedDecoder::Status::data:
                reader->take(result.data);
                stream->consume(result.consumed);
                if (reader->has_pending()) {
                    co_await reader->hand_pending();
                }
                continue;
            case http::ChunkedDecoder::Status::done:
                stream->consume(result.consumed);
                context->response.trailers = decoder.trailers();
                co_return;
            case http::ChunkedDecoder::Status::error:
                throw HTTPProtocolError(context->target.url_text,
                                        "malformed chunked body of " + context->target.url_text +
                                            ": " + decoder.error().reason);
            case http::ChunkedDecoder::Status::need_more:
                stream->consume(result.consumed);
                break;
        }
        if (closed) {
            throw HTTPProtocolError(
                context->target.url_text,
                "chunked body of " + context->target.url_text +
                    " ended before its last chunk: the connection closed early");
        }
        closed = !co_await stream->wait_for_data();
    }
}

Task<void> read_body_until_close(IOStream* stream, BodyReader* reader) {
    while (true) {
        std::string_view buffered = stream->buffered();
        if (!buffered.empty()) {
            reader->take(buffered);
            stream->consume(buffered.size());
            if (reader->has_pending()) {
                co_await reader->hand_pending();
            }
            continue;
        }
        if (!co_await stream->wait_for_data() && stream->buffered().empty()) {
            co_return;
        }
    }
}

// The decompressor for a Content-Encoding we can decode, when asked to.
std::optional<http::Decompressor> decompressor_for(const FetchContext& context) {
    if (!context.request->decompress_response) {
        return std::nullopt;
    }
    auto encoding = context.response.headers.get("content-encoding");
    if (!encoding || !(http::equals_ignoring_case(*encoding, "gzip") ||
                       http::equals_ignoring_case(*encoding, "x-gzip") ||
                       http::equals_ignoring_case(*encoding, "deflate"))) {
        return std::nullopt;
    }
    return http::Decompressor(
        static_cast<std::size_t>(std::min<std::uint64_t>(context.max_body_size, SIZE_MAX)));
}

void report_head_lines(const HTTPRequest& request, std::string_view head) {
    while (!head.empty()) {
        std::size_t end = head.find("\r\n");
        std::size_t length = end == std::string_view::npos ? head.size() : end + 2;
        request.header_callback(head.substr(0, length));
        head.remove_prefix(length);
    }
}

void store_cookies(FetchContext* context) {
    CookieJar* jar = context->state->options.cookie_jar.get();
    if (jar == nullptr) {
        return;
    }
    for (const auto& [name, value] : context->response.headers) {
        if (http::equals_ignoring_case(name, "set-cookie")) {
            jar->set_cookie(context->target.url, value);
        }
    }
}

// Reads the body of the final head in `parser`, which is still at the front of the buffer.
// Returns whether the connection can serve another request.
Task<bool> read_response(FetchContext* context, IOStream* stream, http::ResponseParser* parser) {
    const HTTPRequest& request = *context->request;
    const http::ResponseHead& head = parser->head();
    HTTPResponse& response = context->response;
    response.code = head.status;
    response.reason.assign(head.reason);
    response.headers = head.headers.to_headers();
    response.body.clear();
    response.trailers.clear();
    http::BodyFraming framing = head.framing;
    std::uint64_t content_length = head.content_length;
    bool keep_alive = head.keep_alive;
    if (framing == http::BodyFraming::chunked && head.headers.contains("content-length")) {
        throw HTTPProtocolError(context->target.url_text,
                                "response for " + context->target.url_text +
                                    " has both Transfer-Encoding and Content-Length");
    }
    context->final_hop = !(request.follow_redirects && context->redirects_left > 0 &&
                           is_redirect_status(head.status) && head.headers.contains("location"));
    if (context->final_hop && request.header_callback) {
        report_head_lines(request, stream->buffered().substr(0, parser->head_size()));
    }
    stream->consume(parser->head_size());  // the head's views are invalid from here on
    store_cookies(context);

    if (!context->final_hop) {
        // A redirect: drain a small body to keep the connection, otherwise drop the connection.
        bool drainable =
            framing == http::BodyFraming::none || (framing == http::BodyFraming::content_length &&
                                                   content_length <= max_drained_redirect_body);
        if (!drainable) {
            co_return false;
        }
        BodyReader reader(context, true, std::nullopt);
        if (framing == http::BodyFraming::content_length) {
            co_await read_fixed_body(context, stream, &reader, content_length);
        }
        co_return keep_alive;
    }

    if (framing == http::BodyFraming::content_length && content_length > context->max_body_size) {
        throw HTTPBodyTooLargeError(context->target.url_text,
                                    "Content-Length " + std::to_string(content_length) + " of " +
                                        context->target.url_text + " exceeds max_body_size (" +
                                        std::to_string(context->max_body_size) + " bytes)");
    }
    BodyReader reader(context, false, decompressor_for(*context));
    switch (framing) {
        case http::BodyFraming::none:
            break;
        case http::BodyFraming::content_length:
            co_await read_fixed_body(context, stream, &reader, content_length);
            break;
        case http::BodyFraming::chunked:
            co_await read_chunked_body(context, stream, &reader);
            break;
        case http::BodyFraming::until_close:
            co_await read_body_until_close(stream, &reader);
            keep_alive = false;
            break;
    }
    reader.finish();
    co_return keep_alive;
}

}  // namespace

Task<bool> exchange(FetchContext* context, PooledConnection* connection) {
    IOStream* stream = &connection->stream;
    const HTTPRequest& request = *context->request;
    bool head_request = context->method == "HEAD";
    bool has_body = context->send_body && (request.body || request.body_producer);
    bool expect_continue = has_body && request.expect_100_continue;
    context->received_any = false;
    context->phase = TimeoutPhase::send_request;
    ++context->state->counters.requests;

    std::string head = build_request_head(*context, has_body, expect_continue);
    bool body_sent = !has_body;
    IOLoop::TimePoint sent_at = IOLoop::current().time();
    if (!connection->parser) {
        http::ParserLimits limits;
        limits.max_head_size = context->state->options.max_header_size;
        limits.max_request_line =
            std::min<std::size_t>(limits.max_request_line, limits.max_head_size);
        connection->parser = std::make_unique<http::ResponseParser>(limits);
    }
    http::ResponseParser& parser = *connection->parser;
    try {
        if (has_body && !expect_continue && request.body && request.body->size() <= 64 * 1024) {
            head.append(*request.body);  // head and a small body in one write
            body_sent = true;
            co_await stream->write(std::move(head));
        } else {
            co_await stream->write(std::move(head));
            if (has_body && !expect_continue) {
                co_await send_body(context, stream);
                body_sent = true;
            }
        }
        context->phase = TimeoutPhase::wait_response;
        while (true) {
            if (!body_sent) {
                // Expecting 100 Continue. A server that ignores Expect never sends it: after a
                // while the body goes anyway (RFC 9110 §10.1.1).
                bool no_answer = false;
                try {
                    co_await with_timeout(continue_timeout,
                                          read_head(context, stream, parser, head_request));
                } catch (const TimeoutError&) {
                    no_answer = true;
                }
                if (no_answer) {
                    context->phase = TimeoutPhase::send_request;
                    co_await send_body(context, stream);
                    body_sent = true;
                    context->phase = TimeoutPhase::wait_response;
                    continue;
                }
            } else {
                co_await read_head(context, stream, parser, head_request);
            }
            int status = parser.head().status;
            if (status >= 200) {
                break;
            }
            if (status == 101) {
                throw HTTPProtocolError(
                    context->target.url_text,
                    "unexpected 101 Switching Protocols for " + context->target.url_text);
            }
            stream->consume(parser.head_size());  // 1xx: interim, skipped
            if (status == 100 && !body_sent) {
                context->phase = TimeoutPhase::send_request;
                co_await send_body(context, stream);
                body_sent = true;
                context->phase = TimeoutPhase::read_response;
            }
        }
        context->response.time_info.first_byte = IOLoop::current().time() - sent_at;
        bool reusable = co_await read_response(context, stream, &parser);
        // A final answer before `100 Continue` leaves the server expecting (or discarding)
        // a body it never got: that connection cannot carry another request.
        bool clean = body_sent && stream->buffered().empty() && !stream->closed();
        bool keep = reusable && clean;
        co_return keep;
    } catch (const StreamClosedError& error) {
        throw HTTPConnectionError(context->target.url_text,
                                  "connection to " + describe_peer(context->target) +
                                      " failed during " + to_string(context->phase) + " for " +
                                      context->target.url_text + ": " + error.what(),
                                  std::current_exception());
    } catch (const StreamBufferFullError& error) {
        throw HTTPProtocolError(context->target.url_text,
                                "response of " + context->target.url_text + ": " + error.what());
    }
}

}  // namespace gale::httpclient::detail
