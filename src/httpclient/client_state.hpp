#pragma once
// The client's private state: the connection pool, the `max_clients` slots, and what one
// fetch carries from hop to hop. Shared by client.cpp, pool.cpp, connect.cpp and exchange.cpp.

#include <gale/http/parser.hpp>
#include <gale/httpclient/client.hpp>
#include <gale/ioloop/iostream.hpp>
#include <gale/web/url.hpp>

#include "httpclient/wait_queue.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace gale::httpclient::detail {

/// A connection to one (scheme, host, port, proxy, TLS settings).
struct PooledConnection {
    IOStream stream;
    std::unique_ptr<http::ResponseParser> parser;  // made on first use, kept with the connection
    IOLoop::TimePoint idle_since{};
    std::uint64_t requests = 0;  // responses it served
};

/// What a waiter for a busy host is handed: a connection to reuse, or (empty) the right to
/// open a new one because a connection was closed.
struct Grant {
    std::optional<PooledConnection> connection;
};

struct HostPool {
    std::vector<PooledConnection> idle;  // the most recently used at the back
    std::size_t active = 0;              // handed out, or being opened
    WaitQueue<Grant> waiters;
};

struct Slot {};

struct ClientState : std::enable_shared_from_this<ClientState> {
    explicit ClientState(ClientOptions client_options) : options(std::move(client_options)) {}
    ~ClientState();

    ClientOptions options;
    std::unordered_map<std::string, std::unique_ptr<HostPool>> hosts;
    std::size_t idle_count = 0;
    TimerHandle sweep_timer;
    bool sweep_scheduled = false;

    std::size_t running = 0;  // fetches holding one of the max_clients slots
    WaitQueue<Slot> slot_waiters;

    std::map<std::string, TLSContext, std::less<>> tls_contexts;  // by their settings
    ClientStats counters;
    bool closed = false;

    void close_idle() noexcept;
    void schedule_sweep();
    void sweep() noexcept;
};

/// Holds one of the `max_clients` slots; gives it to the next waiter when destroyed.
class SlotGuard {
  public:
    explicit SlotGuard(ClientState* state) noexcept : state_(state) {}
    SlotGuard(const SlotGuard&) = delete;
    SlotGuard& operator=(const SlotGuard&) = delete;
    ~SlotGuard();

  private:
    ClientState* state_;
};

/// Waits for a `max_clients` slot (FIFO).
Task<void> acquire_slot(ClientState* state);

/// A connection taken from the pool (or the right to open one). Given back with `release`;
/// destroyed unreleased (an error, a cancellation), it closes the connection.
class ConnectionLease {
  public:
    ConnectionLease() = default;
    ConnectionLease(ClientState* state, HostPool* host) noexcept : state_(state), host_(host) {}
    ConnectionLease(ConnectionLease&& other) noexcept;
    ConnectionLease& operator=(ConnectionLease&& other) noexcept;
    ~ConnectionLease() { release(false); }

    /// Returns the connection to the pool when `reusable` (and it is still open), otherwise
    /// closes it; either way the host's next waiter gets it or the freed place.
    void release(bool reusable) noexcept;

    PooledConnection connection;
    bool reused = false;  // an idle pooled connection (not a new one)

  private:
    ClientState* state_ = nullptr;
    HostPool* host_ = nullptr;
};

/// Takes an idle connection to `key` or the right to open one (then `connection.stream` is
/// empty), waiting while the host is at `max_connections_per_host`. With `fresh`, idle
/// connections are closed instead of reused (a retry after a stale one).
Task<ConnectionLease> acquire_connection(ClientState* state, std::string key, bool fresh);

/// Where one hop of a fetch goes.
struct Target {
    web::Url url;
    std::string url_text;  // for messages and effective_url
    bool tls = false;
    std::string host;  // without brackets
    std::uint16_t port = 0;
    // An HTTP proxy (empty host: none).
    std::string proxy_host;
    std::uint16_t proxy_port = 0;
    std::string proxy_authorization;  // "Basic ..." or empty
    std::string pool_key;
};

/// One fetch, from `fetch` to its final response; lives in the fetch's coroutine frame.
struct FetchContext {
    ClientState* state = nullptr;
    std::shared_ptr<const HTTPRequest> request;
    Target target;
    std::string method;              // may become GET after a 301/302/303
    bool send_body = true;           // false after such a rewrite
    bool strip_credentials = false;  // after a cross-origin redirect
    bool final_hop = true;           // the response will not be followed as a redirect
    int redirects_left = 0;
    TimeoutPhase phase = TimeoutPhase::queue;
    IOLoop::TimePoint started{};
    std::optional<IOLoop::TimePoint> deadline;  // of the whole fetch
    TLSContext tls_context;
    std::uint64_t max_body_size = 0;
    bool received_any = false;  // a byte of the current response arrived
    bool producer_called = false;
    HTTPResponse response;
};

/// Opens the connection for `context->target`: resolves, connects (to the proxy if any),
/// opens a CONNECT tunnel for https through a proxy, and does the TLS handshake. Records the
/// connect and TLS times. Throws the client's typed errors.
Task<IOStream> open_connection(FetchContext* context);

/// The TLS context for the request's settings (cached per client).
TLSContext tls_context_for(ClientState& state, const HTTPRequest& request, const std::string& url);

/// Sends the request of the current hop over `stream` and reads the response into
/// `context->response`: the body is delivered to the request's streaming callback when this
/// is the final hop, drained otherwise. Returns whether the connection can be reused.
/// `context` and `connection` belong to the awaiting frame.
Task<bool> exchange(FetchContext* context, PooledConnection* connection);

/// "Basic base64(user:password)".
std::string basic_authorization(std::string_view user, std::string_view password);

}  // namespace gale::httpclient::detail
