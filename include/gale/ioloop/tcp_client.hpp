#pragma once
/// `TCPClient`: opens connections, with name resolution, Happy Eyeballs and TLS.
///
/// ```
/// gale::TCPClient client;
/// gale::IOStream stream = co_await client.connect("example.com", 443,
///     {.tls = gale::TLSContext::client()});
/// ```
///
/// Happy Eyeballs (RFC 6555): addresses of the first family are tried one after another;
/// if none has connected after 300 ms (or all failed), the other family starts in parallel.
/// The first connection wins and the others are closed. The timeout covers resolution,
/// connection and the TLS handshake; when it passes, every attempt is cancelled and
/// `TimeoutError` is thrown.

#include <gale/ioloop/iostream.hpp>
#include <gale/ioloop/resolver.hpp>
#include <gale/ioloop/tls.hpp>

#include <memory>
#include <optional>
#include <string>

namespace gale {

/// Connecting failed; the message names the host, port and the last attempt's error.
class ConnectError : public Error {
  public:
    using Error::Error;
};

struct ConnectOptions {
    ConnectOptions() = default;  // not an aggregate: see docs/pitfalls.md (GCC 12)
    IOLoop::Duration timeout = std::chrono::seconds(20);
    /// TLS: perform a client handshake after connecting (empty: plain TCP).
    TLSContext tls{};
    /// Name to verify and send as SNI (default: the host connected to).
    std::string server_hostname{};
    /// AF_UNSPEC, AF_INET or AF_INET6.
    int family = AF_UNSPEC;
    /// Bind the local end first (source address and/or port).
    std::optional<SocketAddress> source{};
    IOStreamOptions stream_options{};
    /// Delay before the second address family starts (Happy Eyeballs).
    IOLoop::Duration fallback_delay = std::chrono::milliseconds(300);
};

class TCPClient {
  public:
    explicit TCPClient(std::shared_ptr<Resolver> resolver = default_resolver());

    Task<IOStream> connect(std::string host, std::uint16_t port, ConnectOptions options = {});

  private:
    std::shared_ptr<Resolver> resolver_;
};

/// Connects to one address (no resolution, no TLS); cancellable.
Task<IOStream> connect_to(SocketAddress address, std::optional<SocketAddress> source = std::nullopt,
                          IOStreamOptions options = {});

}  // namespace gale
