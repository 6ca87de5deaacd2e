#pragma once
/// `WebSocketHandler`: a WebSocket endpoint in the web layer, Tornado's shape.
///
/// ```
/// class EchoSocket : public gale::web::WebSocketHandler {
///   public:
///     gale::Task<void> on_message(std::string message, bool binary) override {
///         co_await write_message(std::move(message), binary);   // waits while the peer lags
///     }
/// };
/// gale::web::Application app({gale::web::route<EchoSocket>("/ws")});
/// ```
///
/// The handshake (RFC 6455 §4.2): a GET with `Upgrade: websocket`, `Connection: upgrade`, a
/// valid `Sec-WebSocket-Key` and `Sec-WebSocket-Version: 13`. Otherwise: another method or a
/// bad or missing header → 400, another version → 426 with `Sec-WebSocket-Version: 13`, an
/// `Origin` that `check_origin` refuses → 403. `prepare()` runs before it (it may set headers
/// and cookies, which travel with the 101, or answer with an error instead).
///
/// The HTTP request ends with the 101: `on_finish` runs then (Tornado's order), and the server
/// frees what it kept for the exchange, so that an idle WebSocket costs under 4 KB. The
/// handler keeps its own copy of the request's head — `request()` still answers method, path,
/// query, headers and addresses (not the body), and arguments and cookies still work — while
/// the response methods (`set_header`, `write`, …) throw. The connection still counts
/// against the server's `max_connections`, and server shutdown waits for it.
///
/// After the 101: `open()` (with `path_args()`/`path_kwargs()`), then `on_message` for each
/// message in order — the next one is not read until the previous `on_message` has finished,
/// so a slow handler slows the peer down (TCP backpressure) — and `on_close()` exactly once at
/// the end, whichever side closed (`close_code()`, `close_reason()`). Pings are answered
/// automatically (then `on_ping`); `on_pong` reports pongs. An exception escaping `open` or
/// `on_message` is logged and the connection closed with 1011. Protocol violations by the peer
/// are answered with a close frame carrying the code (1002, 1007, 1009) and end the connection.
///
/// While `on_message` runs nothing is read, pongs included: a handler that blocks for longer
/// than the ping timeout has its connection taken for dead.
///
/// Shutdown: `Application::shutdown` closes every open WebSocket of the application with 1001
/// (`close_all_websockets`), and they finish their closing handshakes while the servers drain.

#include <gale/web/request_handler.hpp>
#include <gale/websocket/connection.hpp>
#include <gale/websocket/extensions.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gale::web {

struct WebSocketOptions {
    WebSocketOptions() = default;  // not an aggregate: see docs/pitfalls.md (GCC 12)

    /// Largest message, as received and after decompression (Tornado's default); larger →
    /// close 1009.
    std::size_t max_message_size = 10 * 1024 * 1024;
    /// Keepalive: a ping every `ping_interval` (zero: none); no pong within `ping_timeout`
    /// (zero: 3 x `ping_interval`) → the connection is closed (`close_code()` 1006).
    IOLoop::Duration ping_interval{};
    IOLoop::Duration ping_timeout{};
    /// How long `close()` waits for the peer's close frame before aborting the connection.
    IOLoop::Duration close_timeout = std::chrono::seconds(5);
    /// permessage-deflate (RFC 7692) when the client offers it.
    bool compression = false;
    /// What the server imposes when compressing (`server_no_context_takeover` saves about
    /// 256 KiB per connection, `client_no_context_takeover` about 40 KiB; windows 8..15) and
    /// its zlib settings (`compression_level`, `memory_level`).
    websocket::DeflateOptions deflate{};
    /// Broadcasts (`websocket::Broadcaster`) waiting for a slow client: at most this many
    /// bytes, then `slow_consumer_policy` applies.
    std::size_t max_queued_bytes = 1024 * 1024;
    websocket::SlowConsumerPolicy slow_consumer_policy = websocket::SlowConsumerPolicy::drop_oldest;
};

class WebSocketHandler : public RequestHandler, private websocket::ConnectionObserver {
  public:
    /// Every method reaches the handler, so that non-GET requests get 400 (RFC 6455 §4.2.1).
    static constexpr bool handles_all_methods = true;

    WebSocketHandler();
    ~WebSocketHandler() override;

    // --- what subclasses override -----------------------------------------------------
    /// The options of this connection (called once, before the handshake). Default:
    /// `WebSocketOptions()`.
    virtual WebSocketOptions websocket_options();
    /// The connection is open; messages are read once it returns.
    virtual Task<void> open();
    /// A text (`binary` false; valid UTF-8) or binary message.
    virtual Task<void> on_message(std::string message, bool binary);
    void on_ping(std::string_view data) override;
    void on_pong(std::string_view data) override;
    /// The connection is closed (called exactly once, if `open` was reached).
    virtual void on_close();
    /// Picks one of the subprotocols the client offers (called once, also with none offered);
    /// none: no Sec-WebSocket-Protocol in the answer. Returning one not offered is a 500.
    virtual std::optional<std::string> select_subprotocol(const std::vector<std::string>& offered);
    /// Whether to accept a request with this `Origin` (requests without one are accepted).
    /// Default: same origin — the Origin's host (and port) must equal the Host header; 403
    /// otherwise.
    virtual bool check_origin(std::string_view origin);

    // --- talking to the client ------------------------------------------------------------
    /// Sends a message; completes once it is queued and the client is not too far behind.
    /// Throws `websocket::WebSocketClosedError` when the connection is closing or closed.
    Task<void> write_message(std::string message, bool binary = false);
    /// Sends a ping (at most 125 bytes).
    void ping(std::string data = {});
    /// Starts the closing handshake; returns at once. 1005: a close frame without a code.
    void close(int code = 1000, std::string reason = {});

    /// After the close: the peer's code (1005: its close frame had none), or the code this
    /// side failed the connection with, or 1006 without a close frame. None while open.
    std::optional<int> close_code() const;
    const std::string& close_reason() const;
    /// True once the closing handshake started (either side) or the connection ended.
    bool ws_closed() const;
    /// The subprotocol chosen by `select_subprotocol` (empty: none).
    const std::string& selected_subprotocol() const noexcept { return subprotocol_; }
    /// The agreed permessage-deflate parameters, when compressing.
    const std::optional<websocket::DeflateParameters>& deflate_parameters() const;
    /// The connection (for a `websocket::Broadcaster`); null before the handshake.
    const std::shared_ptr<websocket::Connection>& connection() const noexcept {
        return connection_;
    }

    /// Handshake, then the message loop. Other methods answer 400.
    Task<void> get() final;
    Task<void> head() final;
    Task<void> post() final;
    Task<void> put() final;
    Task<void> patch() final;
    Task<void> delete_() final;
    Task<void> options() final;

  private:
    Task<void> serve_upgraded(std::unique_ptr<RequestHandler> self) override;
    void accept_handshake(const WebSocketOptions& options);
    Task<void> serve_messages();
    Task<void> run_user_code(Task<void> code);
    void register_open() noexcept;
    void unregister() noexcept;
    // For ~Application: the handlers still linked (an application destroyed without shutdown)
    // forget it, so that they never unlink themselves from a destroyed list.
    static void unlink_all(WebSocketHandler* first) noexcept;
    friend class Application;

    std::shared_ptr<websocket::Connection> connection_;
    std::string subprotocol_;
    std::optional<websocket::DeflateParameters> agreed_deflate_;
    // Links in the application's list of open WebSockets (Application::open_websockets_).
    WebSocketHandler* previous_open_ = nullptr;
    WebSocketHandler* next_open_ = nullptr;
    bool registered_ = false;

    friend std::size_t close_all_websockets(const Application& application, int code,
                                            std::string_view reason);
};

/// Starts the closing handshake of every open WebSocket of `application`, with
/// `code` (default 1001, going away); returns how many. `Application::shutdown` calls it.
std::size_t close_all_websockets(const Application& application, int code = 1001,
                                 std::string_view reason = "server shutting down");

}  // namespace gale::web
