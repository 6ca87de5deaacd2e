#include "http/connection.hpp"
#include "http/lowercase_literal.hpp"

#include <gale/ioloop/periodic_callback.hpp>

#include <gale/http/date.hpp>
#include <gale/http/status.hpp>
#include <gale/http/writer.hpp>
#include <gale/ioloop/combinators.hpp>
#include <gale/ioloop/log.hpp>

#include <algorithm>
#include <charconv>
#include <exception>

namespace gale::http::detail {
namespace {

// A body left unread after the response is drained (to keep the connection) up to this much.
constexpr std::uint64_t max_drained_body = 64 * 1024;

Task<void> wait_for_write(WriteAwaitable written) {
    co_await std::move(written);
}

Task<void> failed_task(std::exception_ptr error) {
    std::rethrow_exception(error);
    co_return;
}

// Content-Length and Transfer-Encoding: the connection frames every response itself.
bool is_framing_field(std::string_view name) {
    return equals_lowercase(name, "content-length") || equals_lowercase(name, "transfer-encoding");
}

// Whether the request these bytes begin (after the empty lines RFC 9112 §2.2 lets a server
// skip) is a HEAD.
bool starts_with_head_method(std::string_view bytes) {
    std::size_t start = bytes.find_first_not_of("\r\n");
    return start != std::string_view::npos && bytes.substr(start).starts_with("HEAD ");
}

// Whether the parameters after a coding ("; q=0.5") give it a weight of zero, which means
// "not acceptable" (RFC 9110 §12.4.2): "0", "0.", "0.0", "0.00" or "0.000". A malformed
// weight counts as not zero, as if absent.
bool has_zero_weight(std::string_view parameters) {
    while (!parameters.empty()) {
        std::size_t semicolon = parameters.find(';');
        std::string_view parameter = trim_whitespace(parameters.substr(0, semicolon));
        parameters.remove_prefix(semicolon == std::string_view::npos ? parameters.size()
                                                                     : semicolon + 1);
        if (parameter.size() < 2 || (parameter[0] != 'q' && parameter[0] != 'Q') ||
            parameter[1] != '=') {
            continue;
        }
        std::string_view weight = trim_whitespace(parameter.substr(2));
        if (weight.empty() || weight[0] != '0' || weight.size() > 5) {
            return false;
        }
        if (weight.size() == 1) {
            return true;
        }
        return weight[1] == '.' && weight.find_first_not_of('0', 2) == std::string_view::npos;
    }
    return false;
}

// Whether the client takes gzip (RFC 9110 §12.5.3): "gzip" (or its old alias "x-gzip")
// with a weight above zero decides; failing that, "*" does; an Accept-Encoding that names
// neither means no.
bool accepts_gzip(const HeaderFields& headers) {
    auto accept = headers.get("accept-encoding");
    if (!accept) {
        return false;
    }
    std::optional<bool> star;
    std::string_view list = *accept;
    while (!list.empty()) {
        std::size_t comma = list.find(',');
        std::string_view element = list.substr(0, comma);
        list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
        std::size_t semicolon = element.find(';');
        std::string_view coding = trim_whitespace(element.substr(0, semicolon));
        std::string_view parameters =
            semicolon == std::string_view::npos ? "" : element.substr(semicolon + 1);
        if (equals_lowercase(coding, "gzip") || equals_lowercase(coding, "x-gzip")) {
            return !has_zero_weight(parameters);
        }
        if (coding == "*") {
            star = !has_zero_weight(parameters);
        }
    }
    return star.value_or(false);
}

// Rebases a view of `from` onto the same offset in `to`; views elsewhere stay as they are.
std::string_view rebase(std::string_view view, std::string_view from, const std::string& to) {
    if (view.data() < from.data() || view.data() > from.data() + from.size()) {
        return view;  // a literal, e.g. the "/" of an absolute-form target without a path
    }
    return std::string_view(to.data() + (view.data() - from.data()), view.size());
}

}  // namespace

void OwnedHead::assign(const RequestHead& parsed, std::string_view raw) {
    storage.assign(raw);
    head = parsed;
    head.method = rebase(head.method, raw, storage);
    head.target = rebase(head.target, raw, storage);
    head.path = rebase(head.path, raw, storage);
    head.query = rebase(head.query, raw, storage);
    head.authority = rebase(head.authority, raw, storage);
    fields.clear();
    fields.reserve(parsed.headers.size());
    for (const HeaderField& field : parsed.headers) {
        fields.push_back({rebase(field.name, raw, storage), rebase(field.value, raw, storage)});
    }
    head.headers = HeaderFields(fields);
}

Connection::Connection(std::shared_ptr<HTTPServer::State> state, IOStream connection_stream,
                       SocketAddress peer)
    : state_(std::move(state)),
      stream_(std::move(connection_stream)),
      peer_(peer),
      peer_ip_(peer.ip()),
      parser_(state_->options.limits),
      chunked_(state_->options.limits) {
    state_->link(*this);
}

Connection::~Connection() {
    state_->unlink(*this);
}

void Connection::set_deadline(IOLoop::Duration timeout) noexcept {
    deadline_ = IOLoop::current().time() + timeout;
}

// --- the connection loop ------------------------------------------------------------------

Task<void> Connection::run() {
    try {
        while (!state_->shutting_down) {
            // A head already buffered (pipelining) is taken without a coroutine of its own.
            start_head();
            ParseStatus status = parse_buffered_head();
            if (status != ParseStatus::complete) {
                // Awaited into a local, not in the condition: docs/pitfalls.md §7.
                bool complete = co_await read_head(status);
                if (!complete) {
                    break;
                }
            }
            if (co_await serve_request() == Outcome::close) {
                break;
            }
        }
    } catch (const StreamClosedError&) {
        // The client went away, or a timeout closed the stream: nothing more to send.
    }
    if (!detached_) {
        stream_.close();
    }
}

void Connection::start_head() noexcept {
    // The previous response's state goes now, not when the handler starts: an error in the
    // next head must find no response "already sent" (a pipelined bad request still gets
    // its status).
    reset_response();
    phase_ = Phase::idle;
    set_deadline(state_->options.idle_timeout);
    parser_.reset();
}

// Parses what the stream has buffered; a complete head is adopted and consumed.
ParseStatus Connection::parse_buffered_head() {
    std::string_view buffered = stream_.buffered();
    if (!buffered.empty() && phase_ == Phase::idle) {
        phase_ = Phase::head;  // the clock for a slow head starts at its first byte
        set_deadline(state_->options.header_timeout);
    }
    ParseStatus status = parser_.parse(buffered);
    if (status == ParseStatus::complete) {
        adopt_head(buffered);
        stream_.consume(parser_.head_size());
    }
    return status;
}

// Waits for the rest of a request head (`buffered_status`: what the buffered bytes gave).
// False when the connection should end (the client closed between requests, or a malformed
// head was answered with an error).
Task<bool> Connection::read_head(ParseStatus buffered_status) {
    // No loop condition before the first suspension: docs/pitfalls.md §7 (GCC 12).
    ParseStatus status = buffered_status;
    if (status == ParseStatus::incomplete) {
        do {
            const bool more = co_await stream_.wait_for_data();
            if (!more) {
                if (!stream_.buffered().empty()) {
                    log::debug("{}: connection closed in the middle of a request head", peer_ip_);
                }
                co_return false;
            }
            status = parse_buffered_head();
        } while (status == ParseStatus::incomplete);
    }
    if (status == ParseStatus::error) {
        close_after_ = true;  // what follows a head we could not take cannot be framed
        // Nothing of this head is adopted, but the answer to a HEAD has no body, even an
        // error's (RFC 9110 §9.3.2): the method is read off the raw bytes.
        request_.head = RequestHead{};
        if (starts_with_head_method(stream_.buffered())) {
            request_.head.method = "HEAD";
        }
        co_await send_error(parser_.error().status, parser_.error().reason);
        co_return false;
    }
    co_return true;
}

// Copies the head out of the stream buffer, which keeps receiving.
void Connection::adopt_head(std::string_view buffered) {
    request_.assign(parser_.head(), buffered.substr(0, parser_.head_size()));
}

void Connection::prepare_request() {
    const HTTPServerOptions& options = state_->options;
    body_read_ = 0;
    body_wait_ = {};
    max_body_size_ = options.max_body_size;
    body_remaining_ =
        request_.head.framing == BodyFraming::content_length ? request_.head.content_length : 0;
    body_done_ = request_.head.framing == BodyFraming::none;
    continue_sent_ = false;
    chunked_.reset();
    request_decompressor_.reset();
    decompressed_pending_.clear();
    if (options.decompress_request && !body_done_) {
        auto encoding = request_.head.headers.get("content-encoding");
        if (encoding && (equals_ignoring_case(*encoding, "gzip") ||
                         equals_ignoring_case(*encoding, "deflate"))) {
            request_decompressor_.emplace(static_cast<std::size_t>(options.max_body_size));
        }
    }
    remote_ip_ = peer_ip_;
    protocol_ = stream_.is_tls() ? "https" : "http";
    bool trusted = options.trusted_proxies.empty() ||
                   std::find(options.trusted_proxies.begin(), options.trusted_proxies.end(),
                             peer_ip_) != options.trusted_proxies.end();
    if (!options.xheaders || !trusted) {
        return;
    }
    // Tornado's rule: the rightmost X-Forwarded-For address that is not a trusted proxy,
    // overridden by X-Real-IP; used only when it is a valid IP.
    std::string candidate = peer_ip_;
    if (auto forwarded = request_.head.headers.get("x-forwarded-for")) {
        std::string_view list = *forwarded;
        while (!list.empty()) {
            std::size_t comma = list.rfind(',');
            std::string_view hop = comma == std::string_view::npos ? list : list.substr(comma + 1);
            while (!hop.empty() && hop.front() == ' ')
                hop.remove_prefix(1);
            while (!hop.empty() && hop.back() == ' ')
                hop.remove_suffix(1);
            candidate = hop;
            if (std::find(options.trusted_proxies.begin(), options.trusted_proxies.end(), hop) ==
                options.trusted_proxies.end()) {
                break;
            }
            list = comma == std::string_view::npos ? std::string_view() : list.substr(0, comma);
        }
    }
    if (auto real_ip = request_.head.headers.get("x-real-ip")) {
        candidate = *real_ip;
    }
    if (is_valid_ip(candidate)) {
        forwarded_ip_ = std::move(candidate);
        remote_ip_ = forwarded_ip_;
    }
    auto scheme = request_.head.headers.get("x-scheme");
    if (!scheme) {
        scheme = request_.head.headers.get("x-forwarded-proto");
    }
    if (scheme) {
        std::string_view last = scheme->substr(
            scheme->rfind(',') == std::string_view::npos ? 0 : scheme->rfind(',') + 1);
        while (!last.empty() && last.front() == ' ')
            last.remove_prefix(1);
        if (last == "http" || last == "https") {
            protocol_ = last == "http" ? "http" : "https";  // a literal: the field goes away
        }
    }
}

Task<Connection::Outcome> Connection::serve_request() {
    prepare_request();
    if (request_.head.framing == BodyFraming::content_length &&
        request_.head.content_length > max_body_size_) {
        co_await send_error(413, "request body of " + std::to_string(request_.head.content_length) +
                                     " bytes exceeds the limit of " +
                                     std::to_string(max_body_size_));
        co_return Outcome::close;
    }
    // Failures are answered after the handler's scope: no co_await inside a handler block.
    std::optional<std::pair<int, std::string>> failure;
    CancellationScope* connection_scope = co_await current_scope();
    {
        phase_ = Phase::handler;
        deadline_ = IOLoop::TimePoint::max();
        HTTPRequest request(*this);
        HTTPResponse response(*this);
        // The handler runs in its own scope, cancelled if the client disconnects meanwhile.
        CancellationScope handler_scope(connection_scope);
        stream_.set_close_scope(&handler_scope);
        struct ClearScope {
            IOStream& stream;
            ~ClearScope() {
                if (stream) {
                    stream.set_close_scope(nullptr);
                }
            }
        } clear{stream_};
        try {
            co_await with_scope(state_->handler(request, response), handler_scope);
        } catch (const HTTPError& error) {
            if (head_sent_) {
                throw StreamClosedError("handler failed after the response started: " +
                                        std::string(error.what()));
            }
            close_after_ = close_after_ || error.status() == 413 || error.status() == 400;
            failure.emplace(error.status(), error.reason());
        } catch (const OperationCancelled&) {
            if (stream_.closed()) {
                throw StreamClosedError("client disconnected");
            }
            throw;
        } catch (const StreamClosedError&) {
            throw;
        } catch (const std::exception& error) {
            log::error("{} {} from {}: handler failed: {}", request_.head.method,
                       request_.head.target, remote_ip_, error.what());
            if (head_sent_) {
                throw StreamClosedError("handler failed after the response started");
            }
            failure.emplace(500, std::string());
        }
    }
    if (failure) {
        co_await send_error(failure->first, std::move(failure->second));
    }
    if (detached_) {
        co_return Outcome::close;
    }
    if (!finished_) {
        bool refused = false;
        try {
            co_await finish();
        } catch (const InvalidResponseHeader&) {
            refused = true;
        }
        if (refused) {
            log::error("{} {}: invalid response header (header injection refused)",
                       request_.head.method, request_.head.target);
            co_await send_error(500, {});
        }
    }
    if (!body_done_ && !close_after_) {
        if (can_skip_unread_body()) {
            phase_ = Phase::body;
            set_deadline(state_->options.body_timeout);
            while (!body_done_) {
                co_await read_body_piece(64 * 1024);
            }
        } else {
            close_after_ = true;  // announced when finish() wrote the head, unless streamed
        }
    }
    if (close_after_ || !request_.head.keep_alive || !state_->options.keep_alive ||
        state_->shutting_down) {
        co_return Outcome::close;
    }
    co_return Outcome::next_request;
}

// Answers with an error status and a short text body. Errors found while reading a request
// (and 413, 500 after a failed handler) end the connection.
Task<void> Connection::send_error(int status, std::string reason) {
    if (head_sent_) {
        co_return;
    }
    bool ends_connection = status == 400 || status == 408 || status == 413 || status == 414 ||
                           status == 431 || status == 501 || status == 505 || !body_done_;
    close_after_ = close_after_ || ends_connection;
    reset_response();
    status_ = status;
    response_headers_.set("Content-Type", "text/plain; charset=utf-8");
    if (close_after_) {
        response_headers_.set("Connection", "close");
    }
    std::string text = std::to_string(status) + " " + std::string(reason_phrase(status));
    if (!reason.empty() && status < 500) {
        text += ": " + reason;  // our own parser's words, never the request's bytes
    }
    write(text + "\n");
    if (!reason.empty()) {
        log::debug("{}: answering {} ({})", peer_ip_, status, reason);
    }
    co_await finish();
    if (close_after_) {
        stream_.close();
    }
}

// --- request bodies -------------------------------------------------------------------------

void Connection::send_continue_if_expected() {
    if (request_.head.expect_continue && !continue_sent_ && !head_sent_) {
        continue_sent_ = true;
        // A client that did not wait has sent the body already: no 100 for it (RFC 9110
        // §10.1.1 lets the server omit it then), which also keeps the first status line the
        // final answer for clients that read only one.
        if (stream_.buffered().empty()) {
            (void)stream_.write(std::string_view("HTTP/1.1 100 Continue\r\n\r\n"));
        }
    }
}

void Connection::account_body(std::size_t bytes) {
    body_read_ += bytes;
    if (body_read_ > max_body_size_) {
        close_after_ = true;
        throw HTTPError(
            413, "request body exceeds the limit of " + std::to_string(max_body_size_) + " bytes");
    }
}

// The next piece of the body as sent (before any decompression).
Task<std::string> Connection::read_body_piece(std::size_t max_bytes) {
    while (!body_done_) {
        std::string_view buffered = stream_.buffered();
        if (request_.head.framing == BodyFraming::content_length && !buffered.empty()) {
            std::size_t take = static_cast<std::size_t>(
                std::min<std::uint64_t>({body_remaining_, buffered.size(), max_bytes}));
            std::string piece(buffered.substr(0, take));
            stream_.consume(take);
            body_remaining_ -= take;
            body_done_ = body_remaining_ == 0;
            account_body(take);
            co_return piece;
        }
        if (request_.head.framing == BodyFraming::chunked) {
            auto result =
                chunked_.decode(buffered.substr(0, std::min(buffered.size(), max_bytes + 4096)));
            if (result.status == ChunkedDecoder::Status::error) {
                close_after_ = true;
                throw HTTPError(chunked_.error().status, chunked_.error().reason);
            }
            if (result.status == ChunkedDecoder::Status::data) {
                std::string piece(result.data);
                stream_.consume(result.consumed);
                account_body(piece.size());
                co_return piece;
            }
            stream_.consume(result.consumed);
            if (result.status == ChunkedDecoder::Status::done) {
                body_done_ = true;
                break;
            }
        }
        set_deadline(state_->options.body_timeout);
        const IOLoop::TimePoint waiting_since = IOLoop::Clock::now();
        if (!co_await stream_.wait_for_data()) {
            close_after_ = true;
            throw StreamClosedError("the client closed the connection in the middle of the body");
        }
        body_wait_ += IOLoop::Clock::now() - waiting_since;
        check_body_rate();
    }
    co_return std::string();
}

// A body that keeps arriving, but slower than the minimum rate, holds a connection as long
// as it likes without ever stalling: cut off, once the grace period of waiting is over.
void Connection::check_body_rate() {
    const HTTPServerOptions& options = state_->options;
    if (options.min_body_rate == 0 || body_wait_ <= options.min_body_rate_grace) {
        return;
    }
    const double seconds = std::chrono::duration<double>(body_wait_).count();
    if (static_cast<double>(body_read_ + stream_.buffered().size()) <
        seconds * static_cast<double>(options.min_body_rate)) {
        close_after_ = true;
        throw HTTPError(408, "request body arriving slower than " +
                                 std::to_string(options.min_body_rate) + " bytes/s");
    }
}

Task<std::string> Connection::read_body_chunk(std::size_t max_bytes) {
    send_continue_if_expected();
    Phase phase_before = phase_;
    phase_ = Phase::body;
    struct RestorePhase {
        Connection& connection;
        Phase phase;
        ~RestorePhase() {
            connection.phase_ = phase;
            connection.deadline_ = IOLoop::TimePoint::max();
        }
    } restore{*this, phase_before};
    if (!request_decompressor_) {
        co_return co_await read_body_piece(max_bytes);
    }
    // Decompressed: return what the decompressor produced, reading more until it produces.
    while (decompressed_pending_.empty() && !body_done_) {
        std::string piece = co_await read_body_piece(max_bytes);
        try {
            request_decompressor_->decompress(piece, decompressed_pending_);
        } catch (const DecompressedTooLarge& error) {
            close_after_ = true;
            throw HTTPError(413, error.what());
        } catch (const DecompressionError& error) {
            close_after_ = true;
            throw HTTPError(400, error.what());
        }
    }
    std::string result =
        decompressed_pending_.substr(0, std::min(max_bytes, decompressed_pending_.size()));
    decompressed_pending_.erase(0, result.size());
    co_return result;
}

Task<std::string> Connection::read_body() {
    std::string body;
    while (true) {
        std::string piece = co_await read_body_chunk(256 * 1024);
        if (piece.empty()) {
            break;
        }
        if (body.empty()) {
            body = std::move(piece);
        } else {
            body += piece;
        }
    }
    co_return body;
}

IOStream Connection::detach_stream() {
    if (status_ != 101 || !finished_) {
        throw Error("detach_stream: finish a 101 Switching Protocols response first");
    }
    detached_ = true;
    stream_.set_close_scope(nullptr);  // the new owner decides what a close means
    return std::move(stream_);
}

std::unique_ptr<DetachedRequest> Connection::detached_copy() const {
    if (!detached_) {
        throw Error("detached_copy: detach the stream first");
    }
    auto copy = std::make_unique<DetachedRequest>();
    copy->request.assign(request_.head, request_.storage);
    copy->protocol = protocol_;
    copy->remote_ip = remote_ip_;
    copy->peer = peer_;
    return copy;
}

void Connection::continue_with(Task<void> task) {
    if (!detached_) {
        throw Error("continue_with: detach the stream first");
    }
    continuation_ = std::move(task);
}

// --- responses ------------------------------------------------------------------------------

void Connection::reset_response() noexcept {
    status_ = 200;
    response_headers_.clear();
    checked_headers_version_ = response_headers_.version();  // no field is a valid set
    body_.clear();
    head_sent_ = false;
    finished_ = false;
    chunked_response_ = false;
    declared_length_.reset();
    body_bytes_sent_ = 0;
    compressor_.reset();
}

std::optional<std::uint64_t> Connection::declared_content_length() const noexcept {
    auto value = response_headers_.get("content-length");
    if (!value || value->empty() || value->size() > 18) {
        return std::nullopt;
    }
    std::uint64_t length = 0;
    for (char c : *value) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        length = length * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return length;
}

void Connection::set_status(int status) {
    if (!is_valid_status(status)) {
        throw Error("invalid HTTP status " + std::to_string(status));
    }
    if (head_sent_) {
        throw Error("set_status after the response head was sent");
    }
    status_ = status;
}

void Connection::write(std::string_view data) {
    if (finished_) {
        throw Error("write after the response was finished");
    }
    body_.append(data);
}

// A body the handler left unread is skipped to keep the connection only when it is small and
// of known length; otherwise the connection ends, which the response must say (RFC 9112 §9.6).
bool Connection::can_skip_unread_body() const noexcept {
    return body_done_ || (request_.head.framing == BodyFraming::content_length &&
                          body_remaining_ <= max_drained_body);
}

bool Connection::sends_body() const noexcept {
    return request_.head.method != "HEAD" && status_allows_body(status_);
}

void Connection::decide_compression() {
    const HTTPServerOptions& options = state_->options;
    // A 304 gets the Vary its 200 would have had (RFC 9110 §15.4.5), and nothing else here.
    if (!options.compress_response || (!status_allows_body(status_) && status_ != 304)) {
        return;
    }
    // One pass over the fields for the three this needs.
    std::optional<std::string_view> content_type;
    std::optional<std::string_view> vary;
    for (const auto& [name, value] : response_headers_) {
        if (equals_lowercase(name, "content-encoding")) {
            return;  // already encoded by the handler
        }
        if (!content_type && equals_lowercase(name, "content-type")) {
            content_type = value;
        } else if (!vary && equals_lowercase(name, "vary")) {
            vary = value;
        }
    }
    if (!content_type || !is_compressible(*content_type)) {
        return;
    }
    // The representation depends on Accept-Encoding whether or not this client gets gzip.
    if (!vary) {
        response_headers_.add("Vary", "Accept-Encoding");
    } else if (!list_contains_token(*vary, "accept-encoding")) {
        response_headers_.set("Vary", std::string(*vary) + ", Accept-Encoding");
    }
    if (status_ == 206) {
        return;  // its Content-Range counts bytes of the identity body: never compressed
    }
    if (status_ == 304) {
        // The ETag its 200 would have had: gzip, had it been big enough (its size is gone).
        if (accepts_gzip(request_.head.headers)) {
            weaken_etag();
        }
        return;
    }
    // A HEAD handler may declare the length of a body it does not write: that length counts,
    // so that HEAD gets the fields GET would (RFC 9110 §9.3.2).
    const std::uint64_t length =
        std::max<std::uint64_t>(body_.size(), declared_length_.value_or(0));
    bool big_enough = head_sent_ || chunked_response_ || length >= options.compression_min_size;
    if (big_enough && accepts_gzip(request_.head.headers)) {
        compressor_.emplace(options.compression_level);
        response_headers_.set("Content-Encoding", "gzip");
        weaken_etag();
    }
}

// The gzip body is another representation, which a strong validator of the identity body
// does not describe (RFC 9110 §8.8.1). Weakened, as nginx does, it still matches the
// identity body's tag under the weak comparison If-None-Match uses, so 304s keep working.
void Connection::weaken_etag() {
    std::optional<std::string_view> etag = response_headers_.get("etag");
    if (etag && etag->starts_with('"')) {
        response_headers_.set("ETag", "W/" + std::string(*etag));
    }
}

// A 304 describes the representation the client already has: it keeps the validators and
// Vary but not the representation's own metadata (RFC 9110 §15.4.5).
void Connection::remove_representation_fields() noexcept {
    for (std::string_view name : {"Content-Type", "Content-Encoding", "Content-Language"}) {
        response_headers_.remove(name);
    }
}

void Connection::check_headers() {
    if (response_headers_.version() == checked_headers_version_) {
        return;  // every change since the last check was checked as it was made
    }
    for (const auto& [name, value] : response_headers_) {
        if (!is_valid_field_name(name) || !is_valid_field_value(value)) {
            throw InvalidResponseHeader();
        }
    }
    checked_headers_version_ = response_headers_.version();
}

void Connection::set_checked_header(std::string_view name, std::string_view value, bool replace) {
    if (!is_valid_field_name(name) || !is_valid_field_value(value)) {
        throw Error("unsafe header: '" + std::string(name) +
                    "' (CR, LF or NUL in a value, or a bad name)");
    }
    const bool all_checked = response_headers_.version() == checked_headers_version_;
    if (replace) {
        response_headers_.set(name, value);
    } else {
        response_headers_.add(name, value);
    }
    if (all_checked) {
        checked_headers_version_ = response_headers_.version();
    }
}

// Serialises the status line and fields into out_. With `chunked`, the body follows as chunks
// (or, for HTTP/1.0, until the connection closes); otherwise Content-Length is body_'s size.
// Every response comes here: the head is written with one size check, names are compared
// only when their length matches.
void Connection::append_head(bool chunked, bool length_unknown) {
    // Which defaults the handler's fields override (flush and finish validated them).
    bool has_server = false;
    bool has_date = false;
    bool has_connection = false;
    bool handler_closes = false;  // its Connection says close: we close after it (RFC 9112 §9.6)
    bool has_framing = false;
    for (const auto& [name, value] : response_headers_) {
        switch (name.size()) {
            case 4:
                has_date = has_date || equals_lowercase(name, "date");
                break;
            case 6:
                has_server = has_server || equals_lowercase(name, "server");
                break;
            case 10:
                if (equals_lowercase(name, "connection")) {
                    has_connection = true;
                    handler_closes = handler_closes || list_contains_token(value, "close");
                }
                break;
            case 14:
            case 17:
                has_framing = has_framing || is_framing_field(name);
                break;
            default:
                break;
        }
    }
    const bool http_1_0 = request_.head.version == Version::http_1_0;
    const bool keep_alive = request_.head.keep_alive && state_->options.keep_alive &&
                            !close_after_ && !state_->shutting_down && !handler_closes &&
                            !(chunked && http_1_0 && !declared_length_);
    const std::string_view reason = reason_phrase(status_);
    // Our Server and Date, as one block unless the handler set either.
    const bool default_fields = !has_server && !has_date;
    const std::string_view server_and_date =
        default_fields ? state_->server_and_date_lines() : std::string_view();
    const std::string_view server = default_fields || has_server
                                        ? std::string_view()
                                        : std::string_view(state_->options.server_name);
    const std::string_view date = default_fields || has_date ? std::string_view() : http_date_now();
    // Status line, Server, Date, the fields, the framing field, Connection, the blank line.
    const std::size_t bound = (15 + reason.size()) + server_and_date.size() + (10 + server.size()) +
                              (8 + date.size()) + response_headers_.lines().size() + 38 + 24 + 2;
    const std::size_t start = out_.size();
    out_.resize(start + bound);
    char* at = out_.data() + start;
    auto put = [&at](std::string_view text) { at = std::copy(text.begin(), text.end(), at); };
    auto put_field = [&put](std::string_view name, std::string_view value) {
        put(name);
        put(": ");
        put(value);
        put("\r\n");
    };
    auto put_content_length = [&](std::uint64_t length) {
        put("Content-Length: ");
        at = std::to_chars(at, at + 20, length).ptr;
        put("\r\n");
    };

    // Our own version, whatever the request's: a server sends the highest version it
    // conforms to below the request's major version (RFC 9110 §2.5). What an HTTP/1.0 client
    // cannot take (chunked, keep-alive by default) is decided from its version, above.
    if (status_ == 200) {
        put("HTTP/1.1 200 OK\r\n");
    } else {
        put("HTTP/1.1 ");
        at = std::to_chars(at, at + 3, status_).ptr;
        put(" ");
        put(reason);
        put("\r\n");
    }
    put(server_and_date);
    if (!server.empty()) {
        put_field("Server", server);
    }
    if (!date.empty()) {
        put_field("Date", date);
    }
    // The fields are stored as their lines: one copy, or one per run between framing fields,
    // which are the connection's to decide, whatever the handler set.
    const std::string_view lines = response_headers_.lines();
    if (!has_framing) {
        put(lines);
    } else {
        const char* run = lines.data();
        for (const auto& [name, value] : response_headers_) {
            if (is_framing_field(name)) {
                put(std::string_view(run, name.data()));
                run = value.data() + value.size() + 2;
            }
        }
        put(std::string_view(run, lines.data() + lines.size()));
    }
    if (status_allows_body(status_) && !length_unknown) {
        if (declared_length_) {
            put_content_length(*declared_length_);  // a length the handler vouches for
        } else if (chunked && !http_1_0) {
            put_field("Transfer-Encoding", "chunked");
        } else if (!chunked) {
            put_content_length(body_.size());
        }
    }
    if (status_ != 101) {
        if (!keep_alive && !has_connection) {
            put_field("Connection", "close");
        } else if (keep_alive && http_1_0) {
            put_field("Connection", "keep-alive");
        }
    }
    put("\r\n");
    out_.resize(static_cast<std::size_t>(at - out_.data()));
    if (!keep_alive) {
        close_after_ = true;
    }
    chunked_response_ = chunked && !http_1_0 && !declared_length_;
    head_sent_ = true;
}

Task<void> Connection::flush() {
    if (finished_) {
        throw Error("flush after the response was finished");
    }
    out_.clear();
    if (!head_sent_) {
        check_headers();
        declared_length_ = declared_content_length();
        chunked_response_ = true;  // for decide_compression: streaming bodies always qualify
        decide_compression();
        if (compressor_) {
            declared_length_.reset();  // compressed, the body is no longer the declared length
        }
        append_head(true);
    }
    if (sends_body() && !body_.empty()) {
        std::string compressed;
        if (compressor_) {
            compressor_->compress(body_, compressed, false);
        }
        std::string_view payload =
            compressor_ ? std::string_view(compressed) : std::string_view(body_);
        if (chunked_response_) {
            append_chunk(out_, payload);
        } else {
            out_.append(payload);  // a declared length, or HTTP/1.0 ending with the connection
        }
        body_bytes_sent_ += payload.size();
    }
    body_.clear();
    auto written = stream_.write(std::string_view(out_));
    co_await std::move(written);
}

// Not a coroutine: a response whose write does not have to wait (nearly all) costs no frame.
// Errors still reach the caller at its co_await, as from a coroutine.
Task<void> Connection::finish() {
    if (finished_) {
        return {};
    }
    try {
        write_final_output();
        WriteAwaitable written = stream_.write(std::string_view(out_));
        if (!written.await_ready()) {
            return wait_for_write(std::move(written));
        }
        written.await_resume();
        return {};
    } catch (...) {
        return failed_task(std::current_exception());
    }
}

// Serialises what is left of the response into out_: the head, unless flush() sent it, and
// the body.
void Connection::write_final_output() {
    out_.clear();
    if (!head_sent_) {
        check_headers();
        bool head_request = request_.head.method == "HEAD";
        // The body written decides the length, unless a HEAD handler declared one.
        declared_length_ = head_request ? declared_content_length() : std::nullopt;
        decide_compression();
        if (status_ == 304) {
            remove_representation_fields();
        }
        bool length_unknown = false;
        if (compressor_) {
            // A HEAD handler that only declared its length: what the compressed body would
            // measure is not known, and the length may be left out (RFC 9110 §8.6).
            length_unknown = head_request && declared_length_ && body_.empty();
            std::string compressed;
            compressor_->compress(body_, compressed, true);
            body_ = std::move(compressed);
            declared_length_.reset();
        }
        if (!can_skip_unread_body()) {
            close_after_ = true;
        }
        if (!sends_body() && head_request && status_allows_body(status_)) {
            // HEAD: the Content-Length a GET would have had, no body
            append_head(false, length_unknown);
        } else {
            if (!status_allows_body(status_)) {
                body_.clear();
            }
            append_head(false);
            out_.append(body_);
        }
    } else {
        if (sends_body()) {
            std::string compressed;
            if (compressor_) {
                compressor_->compress(body_, compressed, true);
            }
            std::string_view payload =
                compressor_ ? std::string_view(compressed) : std::string_view(body_);
            body_bytes_sent_ += payload.size();
            if (chunked_response_) {
                append_chunk(out_, payload);
                append_last_chunk(out_);
            } else if (declared_length_) {
                out_.append(payload);
                if (body_bytes_sent_ != *declared_length_) {
                    log::error("{} {}: sent {} bytes for a Content-Length of {}",
                               request_.head.method, request_.head.target, body_bytes_sent_,
                               *declared_length_);
                    close_after_ = true;  // the client cannot tell where the body ends
                }
            } else {
                out_.append(payload);
                close_after_ = true;
            }
        }
    }
    body_.clear();
    finished_ = true;
}

// --- timeouts ---------------------------------------------------------------------------------

void Connection::expire() noexcept {
    deadline_ = IOLoop::TimePoint::max();
    switch (phase_) {
        case Phase::idle:
            stream_.close();
            return;
        case Phase::head:
        case Phase::body:
            if (!head_sent_ && !stream_.closed()) {
                try {
                    // Written at once (no coroutine can run from the sweep); like every
                    // response, with Date (RFC 9110 §6.6.1) and Server.
                    std::string timeout = "HTTP/1.1 408 Request Timeout\r\nServer: ";
                    timeout.append(state_->options.server_name)
                        .append("\r\nDate: ")
                        .append(http_date_now())
                        .append("\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
                    (void)stream_.write(std::string_view(timeout));
                } catch (const std::exception&) {
                }
            }
            log::debug("{}: request timed out", peer_ip_);
            phase_ = Phase::closing;
            stream_.close();
            return;
        case Phase::handler:
        case Phase::closing:
            return;
    }
}

void Connection::close_if_idle() noexcept {
    if (phase_ == Phase::idle && stream_ && stream_.buffered().empty()) {
        stream_.close();
    }
}

}  // namespace gale::http::detail
