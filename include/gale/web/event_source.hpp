#pragma once
/// Server-sent events (`text/event-stream`, WHATWG HTML §9.2): `EventSource` streams events
/// from a request handler; `format_event` and `format_comment` frame them; `EventStreamParser`
/// reads such a stream back (what a browser's `EventSource` does), for clients and tests.
///
/// ```
/// class TickerHandler : public gale::web::RequestHandler {
///   public:
///     gale::Task<void> get() override {
///         gale::web::EventSource events(*this);
///         co_await events.start(std::chrono::seconds(3));  // clients reconnect after 3 s
///         std::string cursor = events.last_event_id().value_or("");  // resume after it
///         while (true) {
///             auto fresh = co_await buffer.wait_since(cursor, std::chrono::seconds(15));
///             if (fresh.empty()) {
///                 co_await events.send_comment("heartbeat");  // keeps proxies from timing out
///             }
///             for (const auto& entry : fresh) {
///                 gale::web::ServerSentEvent event;
///                 event.id = entry.id;
///                 event.data = *entry.message;
///                 co_await events.send(std::move(event));
///                 cursor = entry.id;
///             }
///         }
///     }
/// };
/// ```
///
/// The stream ends when the handler returns. When the client goes away the waiting operation
/// (a send, or a wait on a lock, queue or `MessageBuffer`) throws `OperationCancelled` and the
/// handler's `on_connection_close()` runs, so no waiter outlives its client.

#include <gale/ioloop/errors.hpp>
#include <gale/ioloop/task.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gale::web {

class RequestHandler;

/// An event that cannot be framed (a name or id with a line break), or a stream the parser
/// refuses (an event larger than its limit). The message names the field or the limit.
class EventStreamError : public Error {
  public:
    using Error::Error;
};

/// One event of a `text/event-stream`.
struct ServerSentEvent {
    ServerSentEvent() = default;  // not an aggregate: see docs/pitfalls.md (GCC 12)

    /// The payload. Line breaks (LF, CR or CRLF) split it into several `data:` lines; the
    /// client joins them with LF.
    std::string data{};
    /// The event type (`addEventListener(type)` in a browser); empty means "message".
    std::string event{};
    /// The id the client remembers and sends back as `Last-Event-ID` when it reconnects. An
    /// empty string resets it; nullopt leaves it unchanged.
    std::optional<std::string> id{};
    /// How long the client waits before reconnecting after the stream breaks.
    std::optional<std::chrono::milliseconds> retry{};
};

/// The wire form of `event`, ending with the blank line that dispatches it. Throws
/// `EventStreamError` when the event type or id contains CR or LF (they would end the field
/// and inject others) or the id contains NUL (clients ignore such ids).
std::string format_event(const ServerSentEvent& event);
/// Appends the wire form of `event` to `out` (no allocation when `out` has room).
void append_event(std::string& out, const ServerSentEvent& event);

/// A comment (`: text`): ignored by clients, it keeps idle connections alive through proxies.
/// Every line of `text` becomes a comment line.
std::string format_comment(std::string_view text);

/// Streams server-sent events as the response of `handler` (which must outlive it).
///
/// `start()` sends the head: `Content-Type: text/event-stream`, `Cache-Control: no-cache` and
/// `X-Accel-Buffering: no` (so proxies do not buffer the stream). Each `send` writes one event
/// and flushes it; it completes once the event is handed to the connection, and waits while the
/// client reads slower than events are produced (backpressure). A send throws
/// `OperationCancelled` or `StreamClosedError` when the client has gone away.
class EventSource {
  public:
    explicit EventSource(RequestHandler& handler) noexcept : handler_(handler) {}
    EventSource(const EventSource&) = delete;
    EventSource& operator=(const EventSource&) = delete;

    /// The id of the last event the client received before it reconnected (its
    /// `Last-Event-ID` header), or nullopt on a first connection.
    std::optional<std::string> last_event_id() const;

    /// Sends the head and, when given, the reconnection delay. Called by the first `send` if
    /// not before; a second call does nothing.
    Task<void> start(std::optional<std::chrono::milliseconds> retry = std::nullopt);
    /// Sends one event.
    Task<void> send(ServerSentEvent event);
    /// Sends a `message` event with `data` (and `id` when not empty).
    Task<void> send_data(std::string data, std::string id = {});
    /// Sends a comment: a heartbeat that keeps the connection alive.
    Task<void> send_comment(std::string text);

    bool started() const noexcept { return started_; }
    /// Events sent so far (comments not counted).
    std::size_t events_sent() const noexcept { return events_sent_; }

  private:
    Task<void> write_and_flush(std::string text);

    RequestHandler& handler_;
    bool started_ = false;
    std::size_t events_sent_ = 0;
};

/// Reads a `text/event-stream` as a browser does (WHATWG HTML §9.2.6): LF, CR or CRLF line
/// ends, a leading BOM skipped, comments counted and ignored, unknown fields ignored, `retry`
/// taken only when all digits, ids containing NUL ignored, an event dispatched at each blank
/// line when its data is not empty.
class EventStreamParser {
  public:
    /// Refuses (with `EventStreamError`) an event, or a single line, larger than
    /// `max_event_size` bytes, so a hostile stream cannot exhaust memory.
    explicit EventStreamParser(std::size_t max_event_size = 1024 * 1024) noexcept
        : max_event_size_(max_event_size) {}

    /// Parses `bytes` (any split of the stream) and returns the events they complete, in
    /// order. Each event's `id` is the last event id in force when it was dispatched (nullopt
    /// when empty); `retry` is left unset (see `reconnection_time`).
    std::vector<ServerSentEvent> feed(std::string_view bytes);

    /// The last event id seen (what a reconnecting browser sends as Last-Event-ID).
    const std::string& last_event_id() const noexcept { return last_event_id_; }
    /// The last valid `retry` value, if any.
    std::optional<std::chrono::milliseconds> reconnection_time() const noexcept {
        return reconnection_time_;
    }
    /// Comment lines seen (heartbeats).
    std::size_t comments_seen() const noexcept { return comments_seen_; }

  private:
    void process_line(std::string_view line, std::vector<ServerSentEvent>& events);
    void process_field(std::string_view name, std::string_view value);
    void dispatch(std::vector<ServerSentEvent>& events);
    void check_size(std::size_t pending) const;

    std::size_t max_event_size_;
    std::string line_;
    std::string data_;
    std::string event_type_;
    std::string last_event_id_;
    std::optional<std::chrono::milliseconds> reconnection_time_;
    std::size_t comments_seen_ = 0;
    bool at_stream_start_ = true;
    bool after_cr_ = false;  // the previous chunk ended with CR: a following LF belongs to it
};

}  // namespace gale::web
