#pragma once
/// `AsyncHTTPClient`: an asynchronous HTTP/1.1 client with a keep-alive connection pool,
/// redirects, gzip, TLS, HTTP proxies (CONNECT tunnels for https) and an optional cookie jar.
///
/// ```
/// gale::httpclient::AsyncHTTPClient client;
/// auto response = co_await client.fetch("https://example.com/");
/// std::cout << response.code << " " << response.body.size() << " bytes\n";
/// ```
///
/// Concurrency: at most `max_clients` fetches run at once; further calls wait in a FIFO
/// queue (the time spent there counts toward their `request_timeout`). Following a redirect
/// keeps the slot.
///
/// Connections are pooled per (scheme, host, port, proxy, TLS settings): a connection whose
/// response ended cleanly and that the server did not close goes back to the pool and serves
/// the next request to the same place. At most `max_connections_per_host` exist per place
/// (further requests wait for one to come back); idle ones are closed after `idle_timeout`.
/// A connection the server closed while it was idle is noticed and never handed out; if a
/// reused connection fails before any byte of the response arrived (the server closed it
/// while the request was on its way), an idempotent request is retried once on a new
/// connection.
///
/// The client object may be destroyed while fetches run: they keep what they need alive.
/// One client belongs to one loop (thread).

#include <gale/httpclient/cookie_jar.hpp>
#include <gale/httpclient/errors.hpp>
#include <gale/httpclient/request.hpp>
#include <gale/httpclient/response.hpp>
#include <gale/ioloop/resolver.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace gale::httpclient {

struct ClientOptions {
    ClientOptions() = default;  // not an aggregate: see docs/pitfalls.md (GCC 12)

    /// Fetches running at once; more wait in a FIFO queue.
    std::size_t max_clients = 10;
    /// Connections per (scheme, host, port); 0: only `max_clients` limits them.
    std::size_t max_connections_per_host = 0;
    /// Idle connections kept in the pool overall; a connection coming back beyond this is
    /// closed.
    std::size_t max_idle_connections = 1024;
    /// An idle pooled connection is closed after this long.
    IOLoop::Duration idle_timeout = std::chrono::seconds(30);
    /// Default for requests that do not set their own `max_body_size`.
    std::uint64_t max_body_size = 100 * 1024 * 1024;
    /// Largest response head (status line and fields); larger: `HTTPProtocolError`.
    std::size_t max_header_size = 64 * 1024;
    /// Sent when the request has no `user_agent` of its own.
    std::string user_agent = "gale/0.1";
    /// Name resolution (an `OverrideResolver` maps names to test servers).
    std::shared_ptr<Resolver> resolver = default_resolver();
    /// When set, cookies from responses are stored and sent back (off by default).
    std::shared_ptr<CookieJar> cookie_jar{};
    /// A proxy for every request that does not name one.
    std::string proxy_host{};
    std::uint16_t proxy_port = 0;
    std::string proxy_username{};
    std::string proxy_password{};
};

/// Counters of a client, for tests, benchmarks and monitoring.
struct ClientStats {
    /// Requests sent (each redirect hop and retry counts).
    std::uint64_t requests = 0;
    /// Connections opened, and requests that went over a reused connection.
    std::uint64_t connections_opened = 0;
    std::uint64_t connections_reused = 0;
    /// Reused connections that turned out closed and were retried on a new one.
    std::uint64_t retries = 0;
    /// Right now: connections in use, idle in the pool, fetches waiting for a slot.
    std::size_t active_connections = 0;
    std::size_t idle_connections = 0;
    std::size_t queued = 0;
};

namespace detail {
struct ClientState;
}

class AsyncHTTPClient {
  public:
    explicit AsyncHTTPClient(ClientOptions options = {});
    AsyncHTTPClient(const AsyncHTTPClient&) = delete;
    AsyncHTTPClient& operator=(const AsyncHTTPClient&) = delete;
    AsyncHTTPClient(AsyncHTTPClient&&) noexcept = default;
    AsyncHTTPClient& operator=(AsyncHTTPClient&&) noexcept = default;
    /// Closes the idle connections; running fetches finish on their own.
    ~AsyncHTTPClient();

    /// Fetches `request`; completes when the final response (after redirects) is complete.
    ///
    /// Throws (see errors.hpp): `HTTPStatusError` for a non-2xx final response when
    /// `raise_error` (otherwise the response is returned), `TooManyRedirectsError`,
    /// `HTTPTimeoutError`, `HTTPConnectionError`, `HTTPProxyError`, `HTTPTLSError`,
    /// `HTTPProtocolError`, `HTTPBodyTooLargeError`, `InvalidRequestError`. Cancelling the
    /// awaiting task stops the fetch (`OperationCancelled`) and closes its connection.
    Task<HTTPResponse> fetch(HTTPRequest request, bool raise_error = true);
    /// A GET of `url` with the default fields.
    Task<HTTPResponse> fetch(std::string url, bool raise_error = true);

    /// Closes the idle connections and refuses new fetches (`HTTPClientError`).
    void close() noexcept;

    ClientStats stats() const noexcept;
    const ClientOptions& options() const noexcept;

  private:
    std::shared_ptr<detail::ClientState> state_;
};

}  // namespace gale::httpclient
