#pragma once
/// `Connection`: one open WebSocket (RFC 6455) over an `IOStream`, after the opening
/// handshake; the same code runs the server's and the client's side.
///
/// Reading is pulled: `read_message()` reads frames until a whole text or binary message is
/// there and answers everything else on the way — a ping with a pong, a close frame with the
/// closing handshake, a protocol violation with a close frame carrying the right code (1002,
/// 1007, 1009...). Nothing is read while nobody calls it, so a slow consumer slows the peer
/// down (TCP backpressure) instead of growing memory.
///
/// Writing: `write_message` encodes (and compresses, with permessage-deflate) a message and
/// queues it on the stream at once; awaiting it suspends while the peer is behind (the
/// stream's high-water mark). Messages queued from several tasks never interleave.
///
/// Closing: `close(code, reason)` sends a close frame; the handshake completes when the
/// peer's close frame arrives (read by `read_message`), or the stream is aborted after
/// `close_timeout`. A server closes the TCP connection first; a client waits for it.
///
/// Broadcasting: `send_prepared` writes a message encoded once for many connections
/// (`Broadcaster` does this), through a bounded backlog with a policy for slow peers.
///
/// Connections are shared (`std::shared_ptr`): timers, the broadcast pump and broadcasters
/// hold references. Everything runs on the loop that owns the stream.

#include <gale/ioloop/iostream.hpp>
#include <gale/ioloop/locks.hpp>
#include <gale/websocket/errors.hpp>
#include <gale/websocket/extensions.hpp>
#include <gale/websocket/reader.hpp>
#include <gale/websocket/writer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace gale::websocket {

/// A message was written to (or a ping sent on) a connection that is closing or closed.
class WebSocketClosedError : public WebSocketError {
  public:
    using WebSocketError::WebSocketError;
};

/// What a connection does with a broadcast when its backlog of unsent broadcasts is full.
enum class SlowConsumerPolicy {
    /// Drop the oldest queued broadcasts until the new one fits (the peer misses messages).
    drop_oldest,
    /// Close the connection with 1008 ("too slow"), dropping the backlog.
    disconnect,
};

struct ConnectionOptions {
    ConnectionOptions() = default;  // not an aggregate: see docs/pitfalls.md (GCC 12)

    /// Which end this is: a server reads masked frames and writes unmasked ones.
    Role role = Role::server;
    /// Largest message, as received and after decompression; larger → close 1009.
    std::uint64_t max_message_size = 10 * 1024 * 1024;
    /// Send a ping every `ping_interval` (zero: never); a peer that has not answered one
    /// within `ping_timeout` (zero: 3 x `ping_interval`) is taken for dead: the connection is
    /// closed and `close_code()` is 1006.
    IOLoop::Duration ping_interval{};
    IOLoop::Duration ping_timeout{};
    /// How long to wait for the peer's part of the closing handshake before aborting.
    IOLoop::Duration close_timeout = std::chrono::seconds(5);
    /// The agreed permessage-deflate parameters; none: uncompressed.
    std::optional<DeflateParameters> deflate{};
    /// zlib settings of this side's compressor (level, memory level).
    DeflateOptions deflate_options{};
    /// Broadcasts (`send_prepared`) go straight to the stream while it holds at most
    /// `direct_write_limit` unsent bytes; beyond that they wait in a backlog of at most
    /// `max_queued_bytes`, handled by `slow_consumer_policy` when full.
    std::size_t direct_write_limit = 64 * 1024;
    std::size_t max_queued_bytes = 1024 * 1024;
    SlowConsumerPolicy slow_consumer_policy = SlowConsumerPolicy::drop_oldest;
};

/// A text or binary message.
struct Message {
    std::string data;
    bool binary = false;
};

/// Notified of control frames as `read_message` reads them (after the automatic pong).
class ConnectionObserver {
  public:
    virtual void on_ping(std::string_view payload);
    virtual void on_pong(std::string_view payload);

  protected:
    ~ConnectionObserver() = default;
};

class Connection : public std::enable_shared_from_this<Connection> {
    struct Passkey {};

  public:
    /// Takes over `stream` after a successful opening handshake; bytes already buffered in it
    /// are the first frames. Starts the keepalive timer when `options.ping_interval` is set.
    /// Throws `WebSocketError` for invalid deflate settings.
    static std::shared_ptr<Connection> create(IOStream stream, ConnectionOptions options);
    Connection(Passkey, IOStream stream, ConnectionOptions options);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    /// The next text or binary message; none once the connection is closed (by either side,
    /// after a violation, or when the TCP connection ended), and from then on. Completes the
    /// closing handshake when the peer's close frame arrives. One call at a time. Data
    /// messages arriving after this side sent its close frame are discarded (RFC 6455 §1.4).
    /// Throws only `OperationCancelled`.
    Task<std::optional<Message>> read_message();

    /// Sends a text (UTF-8, checked: `WebSocketError` otherwise) or binary message; completes
    /// once it is queued and the stream is below its high-water mark. Throws
    /// `WebSocketClosedError` when the connection is closing or closed.
    Task<void> write_message(std::string message, bool binary = false);
    /// Sends a ping (payload at most 125 bytes, else `WebSocketError`); `WebSocketClosedError`
    /// when closing or closed.
    void ping(std::string_view payload = {});
    /// Starts the closing handshake with `code` (1000, 1001, 3000-4999...; 1005: a close frame
    /// without a code) and `reason` (UTF-8, at most 123 bytes), unless it already started.
    /// Returns at once; `read_message` completes the handshake, and after `close_timeout` the
    /// stream is aborted. Throws `WebSocketError` for a code or reason that may not be sent.
    void close(int code = 1000, std::string_view reason = {});
    /// Closes at once: queues a close frame (unless one was sent) and closes the stream
    /// without waiting for the peer's answer. For shutdowns and dead peers.
    void close_now(int code = 1001, std::string_view reason = {}) noexcept;
    /// Completes when the connection is closed.
    Task<void> wait_closed();

    /// Writes a broadcast message encoded once (see the file comment). Returns false when the
    /// connection is closing or closed, or the slow-consumer policy refused the message.
    bool send_prepared(const PreparedMessage& message);

    /// Open: neither side has started closing.
    bool is_open() const noexcept { return state_ == State::open; }
    /// Closed: the TCP connection is over (or being closed); `close_code()` is final.
    bool closed() const noexcept { return state_ == State::closed; }
    /// Once closed: the code of the peer's close frame (1005 when it had none), the code this
    /// side failed the connection with after a protocol violation, or 1006 when the connection
    /// ended without a close frame (including a failed keepalive). None while open or closing.
    std::optional<int> close_code() const noexcept { return close_code_; }
    const std::string& close_reason() const noexcept { return close_reason_; }

    Role role() const noexcept { return options_.role; }
    const std::optional<DeflateParameters>& deflate() const noexcept { return options_.deflate; }
    const ConnectionOptions& options() const noexcept { return options_; }
    /// Broadcasts dropped by the `drop_oldest` policy so far.
    std::uint64_t dropped_broadcasts() const noexcept { return dropped_broadcasts_; }
    /// Broadcast bytes waiting in the backlog (not yet handed to the stream).
    std::size_t queued_bytes() const noexcept;
    IOStream& stream() noexcept { return stream_; }
    /// A `read_message` is in progress.
    bool read_pending() const noexcept { return reading_; }

    /// Receives control-frame notifications; null for none. Not owned.
    void set_observer(ConnectionObserver* observer) noexcept { observer_ = observer; }

  private:
    enum class State { open, closing, closed };
    struct Backlog;

    Task<void> handle_control_event(ReadEvent event);
    Task<void> handle_close_frame();
    Task<void> fail(Violation violation);
    Task<void> answer_ping();
    Task<void> end_connection();
    Task<void> wait_for_backlog();
    static Task<void> pump_backlog(std::shared_ptr<Connection> self);
    void send_close_frame(int code, std::string_view reason);
    void start_close_timer();
    void on_close_timeout() noexcept;
    void schedule_keepalive(IOLoop::TimePoint when);
    void on_keepalive() noexcept;
    void mark_closed(int code, std::string_view reason) noexcept;
    WriteAwaitable write_frame_parts(std::string_view header, std::string payload);
    bool enqueue_shared(const SharedFrame& frame);

    IOStream stream_;
    ConnectionOptions options_;
    MessageReader reader_;
    std::unique_ptr<MessageCompressor> compressor_;
    std::unique_ptr<Backlog> backlog_;
    std::unique_ptr<Event> closed_event_;  // made when someone waits
    ConnectionObserver* observer_ = nullptr;
    State state_ = State::open;
    std::optional<int> close_code_;
    std::string close_reason_;
    TimerHandle close_timer_;
    TimerHandle keepalive_timer_;
    IOLoop::TimePoint ping_sent_{};
    bool awaiting_pong_ = false;
    bool reading_ = false;
    std::uint64_t dropped_broadcasts_ = 0;
};

}  // namespace gale::websocket
