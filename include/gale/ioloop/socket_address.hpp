#pragma once
/// `SocketAddress`: an IPv4, IPv6 or Unix socket address as a value.

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gale {

class SocketAddress {
  public:
    SocketAddress() noexcept = default;
    SocketAddress(const sockaddr* address, socklen_t length) noexcept;

    /// A numeric IPv4 or IPv6 address (no name lookup); nullopt when `ip` is not one.
    static std::optional<SocketAddress> from_ip(std::string_view ip, std::uint16_t port);
    /// A Unix socket path; a leading '\0' selects the Linux abstract namespace.
    static SocketAddress from_unix_path(std::string_view path);
    /// The local or remote address of a socket.
    static SocketAddress local_of(int fd);
    static SocketAddress peer_of(int fd);

    int family() const noexcept { return storage_.ss_family; }
    bool empty() const noexcept { return length_ == 0; }
    std::uint16_t port() const noexcept;
    /// The numeric IP ("127.0.0.1", "::1"), or the path of a Unix socket.
    std::string ip() const;
    /// "127.0.0.1:80", "[::1]:80" or "unix:/path".
    std::string to_string() const;
    bool is_loopback() const noexcept;

    const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
    socklen_t size() const noexcept { return length_; }

  private:
    sockaddr_storage storage_{};
    socklen_t length_ = 0;
};

/// True when `text` is a numeric IPv4 or IPv6 address (Tornado's `is_valid_ip`): no names,
/// no whitespace, no embedded NUL.
bool is_valid_ip(std::string_view text) noexcept;

}  // namespace gale
