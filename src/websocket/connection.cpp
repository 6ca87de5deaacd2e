#include <gale/ioloop/combinators.hpp>
#include <gale/ioloop/log.hpp>
#include <gale/websocket/close.hpp>
#include <gale/websocket/connection.hpp>
#include <gale/websocket/utf8.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <deque>

namespace gale::websocket {

namespace {

// Payloads up to this size are copied behind their header into the stream's write queue
// (which reuses its storage: no allocation per message); larger ones are handed over whole.
constexpr std::size_t copy_payload_limit = 16 * 1024;

constexpr int no_status_code = static_cast<int>(CloseCode::no_status);
constexpr int abnormal_code = static_cast<int>(CloseCode::abnormal);

ReaderOptions reader_options(const ConnectionOptions& options) {
    ReaderOptions reader;
    reader.role = options.role;
    reader.max_message_size = options.max_message_size;
    return reader;
}

// Reads and drops whatever the peer still sends until it closes its side. The caller keeps
// the connection (and so `stream`) alive until this completes.
Task<void> drain_until_end(IOStream& stream) {
    while (true) {
        stream.consume(stream.buffered().size());
        // Awaited into a local: with the co_await in the condition, GCC 12's build of this loop
        // hung (neither the peer's end of stream nor the timeout's cancellation resumed it).
        const bool more = co_await stream.wait_for_data();
        if (!more) {
            co_return;
        }
    }
}

}  // namespace

void ConnectionObserver::on_ping(std::string_view) {}
void ConnectionObserver::on_pong(std::string_view) {}

/// Broadcast frames waiting for a slow peer (made when a peer first falls behind).
struct Connection::Backlog {
    std::deque<SharedFrame> frames;
    std::size_t bytes = 0;
    bool pumping = false;
    Event drained;
};

std::shared_ptr<Connection> Connection::create(IOStream stream, ConnectionOptions options) {
    auto connection =
        std::make_shared<Connection>(Passkey{}, std::move(stream), std::move(options));
    if (connection->options_.ping_interval > IOLoop::Duration::zero()) {
        connection->schedule_keepalive(IOLoop::current().time() +
                                       connection->options_.ping_interval);
    }
    return connection;
}

Connection::Connection(Passkey, IOStream stream, ConnectionOptions options)
    : stream_(std::move(stream)),
      options_(std::move(options)),
      reader_(reader_options(options_), options_.deflate) {
    stream_.set_release_output_when_idle(true);  // many connections, mostly idle
    if (options_.deflate) {
        compressor_ = std::make_unique<MessageCompressor>(
            make_compressor(options_.role, *options_.deflate, options_.deflate_options));
    }
}

Connection::~Connection() = default;

std::size_t Connection::queued_bytes() const noexcept {
    return backlog_ ? backlog_->bytes : 0;
}

// --- reading ---------------------------------------------------------------------------------

namespace {

Message take_message(MessageReader& reader) {
    Message message;
    message.binary = reader.opcode() == Opcode::binary;
    message.data = reader.take_message();
    return message;
}

}  // namespace

// Its frame is what an idle connection keeps while it waits for data: the rare events are
// handled in handle_control_event, so that their temporaries take no room here.
Task<std::optional<Message>> Connection::read_message() {
    std::shared_ptr<Connection> self = shared_from_this();
    if (reading_) {
        throw WebSocketError("read_message: another read is already pending on this connection");
    }
    reading_ = true;
    struct ClearReading {
        bool& flag;
        ~ClearReading() { flag = false; }
    } clear_reading{reading_};

    bool peer_finished = false;  // the peer closed its side; what is buffered is all there is
    while (state_ != State::closed) {
        const ReadResult result = reader_.read(stream_.buffered());
        stream_.consume(result.consumed);
        if (result.event == ReadEvent::message) {
            if (state_ == State::open) {
                co_return take_message(reader_);
            }
            continue;  // this side is closing: data is dropped
        }
        if (result.event != ReadEvent::need_more) {
            co_await handle_control_event(result.event);
            continue;
        }
        bool more = false;
        if (!peer_finished) {
            try {
                more = co_await stream_.wait_for_data();
            } catch (const StreamClosedError&) {
            } catch (const StreamBufferFullError&) {
            }
        }
        if (!more) {
            if (!peer_finished && !stream_.closed() && !stream_.buffered().empty()) {
                peer_finished = true;  // read what came with the end once more
                continue;
            }
            mark_closed(abnormal_code, "the connection ended without a close frame");
            stream_.close();
        }
    }
    co_return std::nullopt;
}

Task<void> Connection::handle_control_event(ReadEvent event) {
    switch (event) {
        case ReadEvent::ping:
            co_await answer_ping();
            break;
        case ReadEvent::pong:
            awaiting_pong_ = false;
            if (observer_ != nullptr) {
                observer_->on_pong(reader_.control_payload());
            }
            break;
        case ReadEvent::close:
            co_await handle_close_frame();
            break;
        case ReadEvent::violation:
            co_await fail(reader_.violation());
            break;
        case ReadEvent::need_more:
        case ReadEvent::message:
            break;
    }
}

Task<void> Connection::answer_ping() {
    if (state_ == State::open) {
        std::string pong = pong_frame(options_.role, reader_.control_payload());
        try {
            co_await stream_.write(std::move(pong));  // waits while the peer does not read
        } catch (const StreamClosedError&) {
        }
    }
    if (observer_ != nullptr) {
        observer_->on_ping(reader_.control_payload());
    }
}

// The peer's close frame: answer it (unless we started), then end the TCP connection — a
// server first, a client once the server has (RFC 6455 §7.1.1).
Task<void> Connection::handle_close_frame() {
    const int code = static_cast<int>(reader_.close_code());
    std::string reason(reader_.close_reason());
    if (state_ == State::open) {
        send_close_frame(code, {});  // echo the code (RFC 6455 §5.5.1)
    }
    mark_closed(code, reason);
    co_await end_connection();
}

// Fails the connection (RFC 6455 §7.1.7): a close frame with the violation's code, then the
// end of the TCP connection.
Task<void> Connection::fail(Violation violation) {
    log::debug("websocket: failing the connection with {}: {}", static_cast<int>(violation.code),
               violation.reason);
    if (state_ == State::open) {
        send_close_frame(static_cast<int>(violation.code), truncate_close_reason(violation.reason));
    }
    mark_closed(static_cast<int>(violation.code), violation.reason);
    co_await end_connection();
}

// A lingering close: the server shuts its sending side down once the close frame is out, then
// reads (and drops) what the peer still sends until it closes its side, for at most the close
// timeout. Closing at once with unread input would make the kernel answer with a reset, which
// can destroy the close frame before the peer reads it. A client just waits for the server to
// close.
Task<void> Connection::end_connection() {
    std::shared_ptr<Connection> self = shared_from_this();
    try {
        co_await with_timeout(options_.close_timeout, stream_.flush());
        if (options_.role == Role::server && !stream_.is_tls() && !stream_.closed()) {
            ::shutdown(stream_.fd(), SHUT_WR);
        }
        co_await with_timeout(options_.close_timeout, drain_until_end(stream_));
    } catch (const TimeoutError&) {
    } catch (const StreamClosedError&) {
    } catch (const StreamBufferFullError&) {
    }
    stream_.close();
}

// --- writing ---------------------------------------------------------------------------------

WriteAwaitable Connection::write_frame_parts(std::string_view header, std::string payload) {
    // Both parts are queued at once, so no other frame can come between them.
    static_cast<void>(stream_.write(header));
    if (payload.size() <= copy_payload_limit) {
        return stream_.write(std::string_view(payload));
    }
    return stream_.write(std::move(payload));
}

Task<void> Connection::write_message(std::string message, bool binary) {
    std::shared_ptr<Connection> self = shared_from_this();
    if (state_ != State::open) {
        throw WebSocketClosedError("write_message: the WebSocket connection is closed");
    }
    if (!binary && !is_valid_utf8(message)) {
        throw WebSocketError("write_message: a text message must be valid UTF-8");
    }
    if (backlog_ && !backlog_->frames.empty()) {
        co_await wait_for_backlog();  // keep the order of broadcasts and own messages
        if (state_ != State::open) {
            throw WebSocketClosedError("write_message: the WebSocket connection is closed");
        }
    }
    FrameFields fields;
    fields.opcode = binary ? Opcode::binary : Opcode::text;
    fields.masked = options_.role == Role::client;
    if (fields.masked) {
        fields.mask_key = random_mask_key();
    }
    std::string payload;
    if (compressor_) {
        compressor_->compress(message, payload);
        fields.rsv1 = true;
    } else {
        payload = std::move(message);
    }
    fields.payload_length = payload.size();
    if (fields.masked) {
        apply_mask(std::span<char>(payload.data(), payload.size()), fields.mask_key);
    }
    char header[max_frame_header_size];
    const std::size_t header_size = write_frame_header(fields, header);
    try {
        WriteAwaitable queued =
            write_frame_parts(std::string_view(header, header_size), std::move(payload));
        co_await queued;  // backpressure: waits while the peer lags
    } catch (const StreamClosedError&) {
        throw WebSocketClosedError("write_message: the WebSocket connection was closed");
    }
}

void Connection::ping(std::string_view payload) {
    if (state_ != State::open) {
        throw WebSocketClosedError("ping: the WebSocket connection is closed");
    }
    std::string frame = ping_frame(options_.role, payload);  // throws over 125 bytes
    static_cast<void>(stream_.write(std::move(frame)));
}

void Connection::send_close_frame(int code, std::string_view reason) {
    std::string frame = code == no_status_code
                            ? close_frame(options_.role)
                            : close_frame(options_.role, static_cast<CloseCode>(code), reason);
    if (backlog_) {  // nothing may follow a close frame
        backlog_->frames.clear();
        backlog_->bytes = 0;
        backlog_->drained.set();
    }
    if (state_ == State::open) {
        state_ = State::closing;
    }
    try {
        static_cast<void>(stream_.write(std::move(frame)));
    } catch (const StreamClosedError&) {
    }
}

void Connection::close(int code, std::string_view reason) {
    if (code != no_status_code &&
        (code < 0 || code > 0xFFFF || !is_valid_close_code(static_cast<std::uint16_t>(code)))) {
        throw WebSocketError(fmt::format("close: {} is not a close code that may be sent", code));
    }
    if (code == no_status_code && !reason.empty()) {
        throw WebSocketError("close: a reason needs a close code");
    }
    static_cast<void>(close_payload(static_cast<CloseCode>(code == no_status_code ? 1000 : code),
                                    reason));  // throws for a reason that may not be sent
    if (state_ != State::open) {
        return;
    }
    send_close_frame(code, reason);
    start_close_timer();
}

void Connection::close_now(int code, std::string_view reason) noexcept {
    if (state_ == State::closed) {
        return;
    }
    if (state_ == State::open) {
        try {
            send_close_frame(code, truncate_close_reason(reason));
        } catch (const std::exception&) {
            // an invalid code or reason: close without a frame
        }
    }
    mark_closed(abnormal_code, "closed without waiting for the peer");
    stream_.close();
}

Task<void> Connection::wait_closed() {
    std::shared_ptr<Connection> self = shared_from_this();
    if (state_ == State::closed) {
        co_return;
    }
    if (!closed_event_) {
        closed_event_ = std::make_unique<Event>();
    }
    co_await closed_event_->wait();
}

void Connection::start_close_timer() {
    std::weak_ptr<Connection> weak = weak_from_this();
    close_timer_ = IOLoop::current().call_later(options_.close_timeout, [weak] {
        if (auto self = weak.lock()) {
            self->on_close_timeout();
        }
    });
}

void Connection::on_close_timeout() noexcept {
    if (state_ == State::closed) {
        return;
    }
    log::debug("websocket: no answer to the close frame within the close timeout");
    mark_closed(abnormal_code, "the closing handshake timed out");
    stream_.abort();
}

void Connection::mark_closed(int code, std::string_view reason) noexcept {
    if (!close_code_) {
        close_code_ = code;
        close_reason_.assign(reason);
    }
    if (state_ == State::closed) {
        return;
    }
    state_ = State::closed;
    close_timer_.cancel();
    keepalive_timer_.cancel();
    if (backlog_) {
        backlog_->frames.clear();
        backlog_->bytes = 0;
        backlog_->drained.set();
    }
    if (closed_event_) {
        closed_event_->set();
    }
}

// --- keepalive -------------------------------------------------------------------------------

void Connection::schedule_keepalive(IOLoop::TimePoint when) {
    std::weak_ptr<Connection> weak = weak_from_this();
    keepalive_timer_ = IOLoop::current().call_at(when, [weak] {
        if (auto self = weak.lock()) {
            self->on_keepalive();
        }
    });
}

// One ping outstanding at a time; a peer that has not answered it within the timeout is gone
// (no FIN or RST ever comes from a peer whose network vanished).
void Connection::on_keepalive() noexcept {
    if (state_ != State::open) {
        return;
    }
    const IOLoop::TimePoint now = IOLoop::current().time();
    const IOLoop::Duration interval = options_.ping_interval;
    const IOLoop::Duration timeout =
        options_.ping_timeout > IOLoop::Duration::zero() ? options_.ping_timeout : 3 * interval;
    if (awaiting_pong_ && now - ping_sent_ >= timeout) {
        log::info("websocket: no pong within {} ms, closing",
                  std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count());
        close_now(1000, "ping timed out");
        return;
    }
    if (!awaiting_pong_ && now - ping_sent_ >= interval) {
        try {
            static_cast<void>(stream_.write(ping_frame(options_.role)));
        } catch (const StreamClosedError&) {
        }
        awaiting_pong_ = true;
        ping_sent_ = now;
    }
    try {
        schedule_keepalive(now + std::min(interval, timeout));
    } catch (const std::exception&) {
        // out of memory for a timer: no more keepalive for this connection
    }
}

// --- broadcasts ------------------------------------------------------------------------------

bool Connection::send_prepared(const PreparedMessage& message) {
    if (state_ != State::open || options_.role != Role::server) {
        return false;
    }
    const PreparedMessage::Choice choice = message.frame_for(options_.deflate);
    if (choice.compressed && compressor_ && compressor_->settings().context_takeover) {
        compressor_->reset();  // the peer's window now holds a message ours never saw
    }
    const bool backlog_empty = !backlog_ || backlog_->frames.empty();
    if (backlog_empty && stream_.pending_output() <= options_.direct_write_limit) {
        try {
            static_cast<void>(stream_.write(choice.frame));
        } catch (const StreamClosedError&) {
            return false;
        }
        return true;
    }
    return enqueue_shared(choice.frame);
}

bool Connection::enqueue_shared(const SharedFrame& frame) {
    if (!backlog_) {
        backlog_ = std::make_unique<Backlog>();
    }
    Backlog& backlog = *backlog_;
    backlog.frames.push_back(frame);
    backlog.bytes += frame->size();
    backlog.drained.clear();
    while (backlog.bytes > options_.max_queued_bytes && !backlog.frames.empty()) {
        if (options_.slow_consumer_policy == SlowConsumerPolicy::disconnect) {
            log::info("websocket: closing a peer too slow for its broadcasts ({} bytes queued)",
                      backlog.bytes);
            close(static_cast<int>(CloseCode::policy_violation), "too slow to keep up");
            return false;
        }
        backlog.bytes -= backlog.frames.front()->size();
        backlog.frames.pop_front();
        ++dropped_broadcasts_;
    }
    if (backlog.frames.empty()) {  // the message alone exceeds the limit
        backlog.drained.set();
        return false;
    }
    if (!backlog.pumping) {
        backlog.pumping = true;
        spawn(pump_backlog(shared_from_this()));
    }
    return true;
}

// Moves backlogged broadcasts into the stream as it drains, a little at a time, so that the
// backlog — the part that can still be dropped — holds what the peer has not taken yet.
Task<void> Connection::pump_backlog(std::shared_ptr<Connection> self) {
    while (self->backlog_ && !self->backlog_->frames.empty() && self->state_ == State::open) {
        try {
            co_await self->stream_.flush();
        } catch (const StreamClosedError&) {
            break;
        }
        Backlog& backlog = *self->backlog_;
        while (!backlog.frames.empty() &&
               self->stream_.pending_output() <= self->options_.direct_write_limit &&
               self->state_ == State::open) {
            SharedFrame frame = std::move(backlog.frames.front());
            backlog.frames.pop_front();
            backlog.bytes -= frame->size();
            try {
                static_cast<void>(self->stream_.write(std::move(frame)));
            } catch (const StreamClosedError&) {
                break;
            }
        }
    }
    if (self->backlog_) {
        self->backlog_->pumping = false;
        self->backlog_->drained.set();
    }
}

Task<void> Connection::wait_for_backlog() {
    while (backlog_ && !backlog_->frames.empty() && state_ == State::open) {
        co_await backlog_->drained.wait();
    }
}

}  // namespace gale::websocket
