#pragma once
/// `TCPServer`: accepts connections and runs a coroutine per connection.
///
/// ```
/// gale::TCPServer server([](gale::IOStream stream, gale::SocketAddress peer) -> gale::Task<void> {
///     while (true) co_await stream.write(co_await stream.read_some());
/// });
/// server.listen(8888);
/// ```
///
/// Each connection's coroutine owns its stream (it is passed by value) and runs in the
/// server's task group: `shutdown(grace)` stops accepting, lets connections finish for up to
/// `grace`, then cancels the rest and waits for them to unwind. A handler's exception is
/// logged and ends only its own connection. With TLS, the handshake completes (within
/// `tls_handshake_timeout`) before the handler runs.

#include <gale/ioloop/iostream.hpp>
#include <gale/ioloop/socket_address.hpp>
#include <gale/ioloop/tls.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace gale {

struct TCPServerOptions {
    TCPServerOptions() = default;  // not an aggregate: see docs/pitfalls.md (GCC 12)
    /// Most connections served at once (0: no limit). At the limit the server stops
    /// accepting until one closes; the kernel's backlog holds the newcomers meanwhile.
    std::size_t max_connections = 0;
    /// Serve TLS with this context (empty: plain TCP).
    TLSContext tls{};
    IOLoop::Duration tls_handshake_timeout = std::chrono::seconds(10);
    IOStreamOptions stream_options{};
};

struct ListenOptions {
    ListenOptions() = default;  // not an aggregate: see docs/pitfalls.md (GCC 12)
    /// Shorthand for the common case: bind `address` with the defaults.
    ListenOptions(std::string bind_address) : address(std::move(bind_address)) {}  // NOLINT
    ListenOptions(const char* bind_address) : address(bind_address) {}             // NOLINT
    /// Address to bind: empty for every interface (IPv4 and IPv6), a numeric IP, or a name
    /// such as "localhost" (resolved once, at listen time).
    std::string address{};
    int backlog = 4096;
    /// SO_REUSEPORT: several sockets (threads, processes) share the port; the kernel
    /// spreads connections over them.
    bool reuse_port = false;
};

/// Listening sockets for `port` on every address `options.address` resolves to (Tornado's
/// `bind_sockets`): SO_REUSEADDR, IPv6 sockets IPv6-only, and with port 0 every socket
/// gets the same ephemeral port. Blocking (call at start-up). The caller owns the fds.
std::vector<int> bind_sockets(std::uint16_t port, const ListenOptions& options = {});

/// A listening Unix socket at `path`; a stale socket file is replaced, other files are not.
int bind_unix_socket(const std::string& path, int mode = 0600, int backlog = 4096);

class TCPServer {
  public:
    using Handler = std::function<Task<void>(IOStream stream, SocketAddress peer)>;

    explicit TCPServer(Handler handler, TCPServerOptions options = {});
    TCPServer(const TCPServer&) = delete;
    TCPServer& operator=(const TCPServer&) = delete;
    /// Stops accepting and cancels the connections still running.
    ~TCPServer();

    /// Binds and starts accepting on the current loop; returns the bound addresses.
    std::vector<SocketAddress> listen(std::uint16_t port, const ListenOptions& options = {});
    /// Starts accepting on a listening socket, taking ownership of it.
    void add_socket(int listening_fd);

    /// Stops accepting and closes the listening sockets; connections keep running.
    void stop() noexcept;
    /// Stops accepting, waits up to `grace` for the connections to finish, then cancels the
    /// rest and waits until they have unwound.
    Task<void> shutdown(IOLoop::Duration grace);

    std::size_t connection_count() const noexcept;
    std::vector<SocketAddress> addresses() const;

    struct State;

  private:
    std::shared_ptr<State> state_;
};

}  // namespace gale
