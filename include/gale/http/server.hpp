#pragma once
/// `HTTPServer`: HTTP/1.1 over gale's TCPServer, calling a handler coroutine per request.
///
/// ```
/// gale::http::HTTPServer server([](gale::http::HTTPRequest& request,
///                                  gale::http::HTTPResponse& response) -> gale::Task<void> {
///     response.headers().set("Content-Type", "text/plain");
///     response.write("Hello, World!");
///     co_return;
/// });
/// server.listen(8080, "127.0.0.1");
/// ```
///
/// Keep-alive (HTTP/1.1 by default, 1.0 on request), pipelining (requests already buffered
/// are answered in order and their responses leave in one write), chunked bodies both ways,
/// `Expect: 100-continue`, HEAD. Malformed requests get their status (400, 413, 414, 431,
/// 501, 505) and the connection is closed; a handler's exception becomes a 500. Timeouts: a
/// request head must arrive within `header_timeout` of its first byte (slow clients are cut
/// off with 408), an idle keep-alive connection is closed after `idle_timeout`, a body that
/// stalls for `body_timeout` ends the connection, and so does one that trickles in slower
/// than `min_body_rate` (the slow-POST form of slowloris).
///
/// The handler runs in a cancellation scope that is cancelled when the client disconnects, so
/// a long-polling handler waiting on a Condition learns at once.

#include <gale/http/parser.hpp>
#include <gale/http/request.hpp>
#include <gale/http/response.hpp>
#include <gale/ioloop/tcp_server.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace gale::http {

using HTTPHandler = std::function<Task<void>(HTTPRequest& request, HTTPResponse& response)>;

struct HTTPServerOptions {
    HTTPServerOptions() = default;  // not an aggregate: see docs/pitfalls.md (GCC 12)

    ParserLimits limits{};
    /// Largest request body (413 above it), unless a handler raises it for its request.
    std::uint64_t max_body_size = 64 * 1024 * 1024;
    IOLoop::Duration header_timeout = std::chrono::seconds(10);
    IOLoop::Duration idle_timeout = std::chrono::seconds(30);
    IOLoop::Duration body_timeout = std::chrono::seconds(60);
    /// Bytes per second a body must average over the time spent waiting for it, once that
    /// time passes `min_body_rate_grace` (time the handler spends not reading does not
    /// count); slower gets 408 and a close. 0: no minimum. Kestrel's defaults.
    std::uint64_t min_body_rate = 240;
    IOLoop::Duration min_body_rate_grace = std::chrono::seconds(5);
    /// Keep connections open between requests (false: `Connection: close` on every response).
    bool keep_alive = true;
    /// Take the client's address and scheme from X-Real-IP / X-Forwarded-For / X-Scheme /
    /// X-Forwarded-Proto (behind a proxy).
    bool xheaders = false;
    /// The proxies trusted for xheaders: the connection must come from one of them (if the
    /// list is not empty), and they are skipped when reading X-Forwarded-For from the right.
    std::vector<std::string> trusted_proxies{};
    /// gzip compressible responses of at least `compression_min_size` bytes.
    bool compress_response = false;
    std::size_t compression_min_size = 1024;
    int compression_level = 6;
    /// Decompress gzip/deflate request bodies (Content-Encoding) before handlers read them.
    bool decompress_request = false;
    /// The Server header value (empty: no Server header).
    std::string server_name = "gale";
    /// Connection limit, TLS, stream buffer sizes.
    TCPServerOptions tcp{};
};

class HTTPServer {
  public:
    explicit HTTPServer(HTTPHandler handler, HTTPServerOptions options = {});
    HTTPServer(const HTTPServer&) = delete;
    HTTPServer& operator=(const HTTPServer&) = delete;
    ~HTTPServer();

    std::vector<SocketAddress> listen(std::uint16_t port, const ListenOptions& options = {});
    void add_socket(int listening_fd);
    /// Stops accepting; open connections keep going.
    void stop() noexcept;
    /// Stops accepting, lets requests in progress finish for up to `grace` (idle keep-alive
    /// connections are closed at once), then cancels the rest.
    Task<void> shutdown(IOLoop::Duration grace);
    std::size_t connection_count() const noexcept;

    struct State;

  private:
    std::shared_ptr<State> state_;
    TCPServer tcp_;
};

}  // namespace gale::http
