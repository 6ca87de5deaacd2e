#pragma once
/// The WebSocket client: `websocket_connect(url, options)` for `ws://` and `wss://` URLs,
/// Tornado's `websocket_connect`, on the same frame code as the server (`Connection`).
///
/// ```
/// gale::websocket::ClientOptions options;
/// options.subprotocols = {"chat"};
/// options.compression = true;                       // offer permessage-deflate
/// auto socket = co_await gale::websocket::websocket_connect("ws://127.0.0.1:8888/ws", options);
/// co_await socket.write_message("hello");
/// std::optional<gale::websocket::Message> reply = co_await socket.read_message();
/// co_await socket.close();
/// ```
///
/// The connect timeout covers name resolution, TCP, TLS and the opening handshake. Reading is
/// pulled (`read_message`): nothing is read between calls, so pings are answered and the
/// server's close frame is seen only while the application reads (or closes).
///
/// Errors: `UrlError` (a malformed URL), `WebSocketError` (not ws/wss), `ResolveError`,
/// `ConnectError`, `TLSError`, `TimeoutError` (naming the URL), `UpgradeStatusError` when the
/// server answers with another status than 101 (404, 403 from an origin check... redirects are
/// not followed), `InvalidUpgradeResponse` when its 101 is not a valid WebSocket answer.

#include <gale/http/headers.hpp>
#include <gale/ioloop/resolver.hpp>
#include <gale/ioloop/tls.hpp>
#include <gale/websocket/connection.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gale::websocket {

/// The server answered the upgrade request with another status than 101.
class UpgradeStatusError : public InvalidUpgradeResponse {
  public:
    UpgradeStatusError(int status, const std::string& message, http::HTTPHeaders headers)
        : InvalidUpgradeResponse(message), status_(status), headers_(std::move(headers)) {}
    int status() const noexcept { return status_; }
    const http::HTTPHeaders& headers() const noexcept { return headers_; }

  private:
    int status_;
    http::HTTPHeaders headers_;
};

struct ClientOptions {
    ClientOptions() = default;  // not an aggregate: see docs/pitfalls.md (GCC 12)

    /// Extra request header fields (Origin, Cookie, Authorization...). A Host field here
    /// replaces the one made from the URL; the WebSocket fields are gale's.
    http::HTTPHeaders headers{};
    /// Subprotocols to offer, in order of preference.
    std::vector<std::string> subprotocols{};
    /// Offer permessage-deflate with `deflate` (what we ask of the server and our zlib
    /// settings); used only when the server accepts.
    bool compression = false;
    DeflateOptions deflate{};
    /// Resolution, TCP, TLS and the handshake together.
    IOLoop::Duration connect_timeout = std::chrono::seconds(20);
    /// For wss: the TLS context (default: `TLSContext::client()`, verifying the server).
    TLSContext tls{};
    /// Name resolution (default: the threaded resolver).
    std::shared_ptr<Resolver> resolver{};
    /// Largest message accepted from the server (10 MiB, as Tornado); larger → close 1009.
    std::uint64_t max_message_size = 10 * 1024 * 1024;
    IOLoop::Duration ping_interval{};
    IOLoop::Duration ping_timeout{};
    IOLoop::Duration close_timeout = std::chrono::seconds(5);
    /// Largest response head to the upgrade request.
    std::size_t max_response_head_size = 64 * 1024;
};

/// An open client connection: a cheap, copyable handle (copies share the connection).
class ClientConnection {
  public:
    ClientConnection() = default;

    /// The next message from the server; none once the connection is closed. One at a time.
    Task<std::optional<Message>> read_message();
    /// Sends a message (masked); waits while the server lags. `WebSocketClosedError` once
    /// closing.
    Task<void> write_message(std::string message, bool binary = false);
    void ping(std::string_view payload = {});
    /// Sends a close frame and completes when the closing handshake is over (or timed out):
    /// messages that arrive meanwhile are dropped. If another task is in `read_message`,
    /// that read sees the handshake through and this waits for it.
    Task<void> close(int code = 1000, std::string reason = {});

    bool is_open() const noexcept { return connection_ && connection_->is_open(); }
    /// See `Connection::close_code`.
    std::optional<int> close_code() const noexcept;
    const std::string& close_reason() const noexcept;
    /// The subprotocol the server chose (empty: none).
    const std::string& subprotocol() const noexcept { return subprotocol_; }
    /// The agreed permessage-deflate parameters, if compressing.
    const std::optional<DeflateParameters>& deflate() const noexcept;
    /// The header fields of the server's 101 response.
    const http::HTTPHeaders& response_headers() const noexcept { return response_headers_; }
    const std::shared_ptr<Connection>& connection() const noexcept { return connection_; }

  private:
    friend Task<ClientConnection> open_client(std::string url, ClientOptions options);
    std::shared_ptr<Connection> connection_;
    std::string subprotocol_;
    http::HTTPHeaders response_headers_;
};

/// Opens a WebSocket to `url` (ws:// or wss://) and completes once the handshake succeeded.
Task<ClientConnection> websocket_connect(std::string url, ClientOptions options = {});

}  // namespace gale::websocket
