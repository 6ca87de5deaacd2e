#pragma once
/// Name resolution that never blocks the loop.
///
/// `ThreadedResolver` runs getaddrinfo on the loop's thread pool; numeric addresses are
/// answered at once without it. `OverrideResolver` maps names to other names or addresses
/// (tests, the HTTP client's host mapping) and falls back to another resolver.

#include <gale/ioloop/errors.hpp>
#include <gale/ioloop/socket_address.hpp>
#include <gale/ioloop/task.hpp>

#include <sys/socket.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace gale {

/// The name could not be resolved; the message names the host and getaddrinfo's reason.
class ResolveError : public Error {
  public:
    using Error::Error;
};

class Resolver {
  public:
    virtual ~Resolver() = default;
    /// Addresses for `host`:`port`, in the order to try them. `family` is AF_UNSPEC, AF_INET
    /// or AF_INET6. Throws `ResolveError` when there are none.
    virtual Task<std::vector<SocketAddress>> resolve(std::string host, std::uint16_t port,
                                                     int family = AF_UNSPEC) = 0;
};

/// getaddrinfo on a thread pool (the current loop's default executor).
class ThreadedResolver final : public Resolver {
  public:
    Task<std::vector<SocketAddress>> resolve(std::string host, std::uint16_t port,
                                             int family = AF_UNSPEC) override;
};

/// Replaces hosts (or host:port pairs) before resolving with `fallback`.
class OverrideResolver final : public Resolver {
  public:
    struct Target {
        std::string host;
        std::uint16_t port = 0;  // 0: keep the requested port
    };

    OverrideResolver(std::shared_ptr<Resolver> fallback, std::map<std::string, Target> by_host);

    Task<std::vector<SocketAddress>> resolve(std::string host, std::uint16_t port,
                                             int family = AF_UNSPEC) override;

  private:
    std::shared_ptr<Resolver> fallback_;
    std::map<std::string, Target> by_host_;  // "host" or "host:port"
};

/// The resolver used when none is given (a shared ThreadedResolver).
std::shared_ptr<Resolver> default_resolver();

/// The numeric address for `host` if it is an IP literal ("127.0.0.1", "::1", "[::1]").
std::optional<SocketAddress> numeric_address(const std::string& host, std::uint16_t port);

}  // namespace gale
