#include <gale/ioloop/executor.hpp>
#include <gale/ioloop/resolver.hpp>

#include <netdb.h>

#include <cstring>

namespace gale {

std::optional<SocketAddress> numeric_address(const std::string& host, std::uint16_t port) {
    return SocketAddress::from_ip(host, port);
}

namespace {

struct AddressInfoDeleter {
    void operator()(addrinfo* info) const noexcept { ::freeaddrinfo(info); }
};

// Runs on a pool thread: getaddrinfo blocks.
std::vector<SocketAddress> lookup(const std::string& host, std::uint16_t port, int family) {
    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* raw = nullptr;
    std::string service = std::to_string(port);
    int result = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &raw);
    if (result == EAI_BADFLAGS || (result != 0 && hints.ai_flags != 0)) {
        // AI_ADDRCONFIG hides loopback-only families in some sandboxes; retry without it.
        hints.ai_flags = 0;
        result = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &raw);
    }
    if (result != 0) {
        throw ResolveError("cannot resolve '" + host + "': " + ::gai_strerror(result));
    }
    std::unique_ptr<addrinfo, AddressInfoDeleter> owned(raw);
    std::vector<SocketAddress> addresses;
    for (addrinfo* info = raw; info != nullptr; info = info->ai_next) {
        SocketAddress address(info->ai_addr, info->ai_addrlen);
        bool duplicate = false;
        for (const SocketAddress& seen : addresses) {
            duplicate |= seen.to_string() == address.to_string();
        }
        if (!duplicate) {
            addresses.push_back(address);
        }
    }
    if (addresses.empty()) {
        throw ResolveError("cannot resolve '" + host + "': no addresses");
    }
    return addresses;
}

}  // namespace

Task<std::vector<SocketAddress>> ThreadedResolver::resolve(std::string host, std::uint16_t port,
                                                           int family) {
    if (auto numeric = numeric_address(host, port)) {
        if (family != AF_UNSPEC && numeric->family() != family) {
            throw ResolveError("address '" + host + "' is not of the requested family");
        }
        co_return std::vector<SocketAddress>{*numeric};
    }
    if (host.empty() || host.size() > 253 || host.find('\0') != std::string::npos) {
        throw ResolveError("cannot resolve an invalid host name");
    }
    // The lambda is built outside the co_await expression: GCC 12 double-frees captures of
    // a closure created inside one (docs/pitfalls.md).
    auto work = [host, port, family] { return lookup(host, port, family); };
    co_return co_await run_in_executor(std::move(work));
}

OverrideResolver::OverrideResolver(std::shared_ptr<Resolver> fallback,
                                   std::map<std::string, Target> by_host)
    : fallback_(std::move(fallback)), by_host_(std::move(by_host)) {}

Task<std::vector<SocketAddress>> OverrideResolver::resolve(std::string host, std::uint16_t port,
                                                           int family) {
    auto found = by_host_.find(host + ":" + std::to_string(port));
    if (found == by_host_.end()) {
        found = by_host_.find(host);
    }
    if (found != by_host_.end()) {
        host = found->second.host;
        if (found->second.port != 0) {
            port = found->second.port;
        }
    }
    co_return co_await fallback_->resolve(std::move(host), port, family);
}

std::shared_ptr<Resolver> default_resolver() {
    // Stateless, so one instance serves every thread.
    static const std::shared_ptr<Resolver> resolver = std::make_shared<ThreadedResolver>();
    return resolver;
}

}  // namespace gale
