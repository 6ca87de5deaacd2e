#include <gale/ioloop/combinators.hpp>
#include <gale/ioloop/log.hpp>
#include <gale/ioloop/resolver.hpp>
#include <gale/ioloop/tcp_server.hpp>

#include "ioloop/loop_internals.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>

namespace gale {

// --- binding ---------------------------------------------------------------------------------

namespace {

void set_option(int fd, int level, int name, int value, const char* what) {
    if (::setsockopt(fd, level, name, &value, sizeof value) != 0) {
        throw system_error(errno, what);
    }
}

int bind_one(const SocketAddress& address, const ListenOptions& options) {
    int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw system_error(errno, "socket for " + address.to_string());
    }
    try {
        set_option(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
        if (options.reuse_port) {
            set_option(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
        }
        if (address.family() == AF_INET6) {
            set_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY");
        }
        if (::bind(fd, address.data(), address.size()) != 0) {
            throw system_error(errno, "bind " + address.to_string());
        }
        if (::listen(fd, options.backlog) != 0) {
            throw system_error(errno, "listen on " + address.to_string());
        }
    } catch (...) {
        ::close(fd);
        throw;
    }
    return fd;
}

std::vector<SocketAddress> listen_addresses(std::uint16_t port, const std::string& host) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* results = nullptr;
    std::string service = std::to_string(port);
    int status =
        ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &results);
    if (status != 0) {
        throw ResolveError("cannot resolve listen address '" + host +
                           "': " + ::gai_strerror(status));
    }
    std::vector<SocketAddress> addresses;
    for (addrinfo* info = results; info != nullptr; info = info->ai_next) {
        addresses.emplace_back(info->ai_addr, info->ai_addrlen);
    }
    ::freeaddrinfo(results);
    return addresses;
}

}  // namespace

std::vector<int> bind_sockets(std::uint16_t port, const ListenOptions& options) {
    std::vector<int> fds;
    try {
        for (SocketAddress address : listen_addresses(port, options.address)) {
            if (port == 0 && !fds.empty()) {
                // Every socket of this call gets the port the first one was given.
                std::uint16_t chosen = SocketAddress::local_of(fds.front()).port();
                address = *SocketAddress::from_ip(address.ip(), chosen);
            }
            try {
                fds.push_back(bind_one(address, options));
            } catch (const SystemError& error) {
                // "localhost" may yield ::1 where IPv6 is disabled (containers): skip it.
                if (error.code().value() != EADDRNOTAVAIL || address.family() != AF_INET6) {
                    throw;
                }
            }
        }
    } catch (...) {
        for (int fd : fds) {
            ::close(fd);
        }
        throw;
    }
    if (fds.empty()) {
        throw Error("no address to listen on for '" + options.address + "'");
    }
    return fds;
}

int bind_unix_socket(const std::string& path, int mode, int backlog) {
    struct stat existing {};
    if (::lstat(path.c_str(), &existing) == 0) {
        if (!S_ISSOCK(existing.st_mode)) {
            throw Error("refusing to replace '" + path + "': it exists and is not a socket");
        }
        ::unlink(path.c_str());
    }
    SocketAddress address = SocketAddress::from_unix_path(path);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw system_error(errno, "socket for " + path);
    }
    if (::bind(fd, address.data(), address.size()) != 0 || ::listen(fd, backlog) != 0) {
        int saved = errno;
        ::close(fd);
        throw system_error(saved, "listening on unix:" + path);
    }
    if (path.empty() || path[0] != '\0') {
        ::chmod(path.c_str(), static_cast<mode_t>(mode));
    }
    return fd;
}

// --- the server ------------------------------------------------------------------------------

struct TCPServer::State : std::enable_shared_from_this<TCPServer::State> {
    // One listening socket with its multishot accept. It keeps the server state alive while
    // its accept operation is in flight, and closes its fd once the operation has ended.
    struct Listener : detail::IoOperation {
        Listener(std::shared_ptr<State> owner, int listening_fd)
            : IoOperation(detail::OperationKind::accept, &Listener::on_complete),
              state(std::move(owner)) {
            fd = listening_fd;
        }
        static void on_complete(detail::IoOperation& operation, int result, bool more);
        std::shared_ptr<State> state;
        bool stopping = false;
    };

    State(Handler connection_handler, TCPServerOptions server_options)
        : handler(std::move(connection_handler)),
          options(std::move(server_options)),
          internals(IOLoop::current().internals()) {}

    void start(Listener& listener) { internals.poller->start(listener); }
    void accepted(int fd);
    void connection_finished();
    void pause_accepting();
    void resume_accepting();
    void stop() noexcept;

    Handler handler;
    TCPServerOptions options;
    detail::LoopInternals& internals;
    TaskGroup connections{TaskGroup::ErrorPolicy::log};
    std::vector<std::unique_ptr<Listener>> listeners;
    std::size_t connection_count = 0;
    bool paused = false;
    bool stopped = false;
};

namespace {

// Out of serve_connection, whose frame lives as long as the connection: GCC gives every
// local and temporary of a coroutine its own slot in the frame.
Task<void> tls_handshake(IOStream& stream, const TCPServerOptions& options) {
    co_await with_timeout(options.tls_handshake_timeout, stream.start_tls(options.tls, true));
}

void log_connection_end(const SocketAddress& peer, const std::exception_ptr& failure) {
    try {
        std::rethrow_exception(failure);
    } catch (const TimeoutError&) {
        log::debug("connection from {}: TLS handshake timed out", peer.to_string());
    } catch (const TLSError& error) {
        log::debug("connection from {}: {}", peer.to_string(), error.what());
    } catch (const StreamClosedError& error) {
        log::debug("connection from {} closed: {}", peer.to_string(), error.what());
    } catch (const std::exception& error) {
        log::error("error serving {}: {}", peer.to_string(), error.what());
    } catch (...) {
        log::error("error serving {}: a non-standard exception", peer.to_string());
    }
}

// The handler's by-value arguments are temporaries here, on the stack, not in the frame.
Task<void> start_handler(TCPServer::State& state, IOStream& stream, const SocketAddress& peer) {
    return state.handler(std::move(stream), peer);
}

Task<void> serve_connection(std::shared_ptr<TCPServer::State> state, int fd) {
    struct Finished {
        TCPServer::State& state;
        ~Finished() { state.connection_finished(); }
    } finished{*state};
    IOStream stream(fd, state->options.stream_options);
    SocketAddress peer = stream.peer_address();
    std::exception_ptr failure;
    try {
        if (state->options.tls) {
            co_await tls_handshake(stream, state->options);
        }
        co_await start_handler(*state, stream, peer);
    } catch (const OperationCancelled&) {
        throw;
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        log_connection_end(peer, failure);
    }
}

}  // namespace

void TCPServer::State::Listener::on_complete(detail::IoOperation& operation, int result,
                                             bool more) {
    auto& listener = static_cast<Listener&>(operation);
    if (result >= 0 && more) {
        listener.state->accepted(result);
        return;
    }
    if (more) {
        log::warning("accept on {}: {}", SocketAddress::local_of(listener.fd).to_string(),
                     std::error_code(-result, std::system_category()).message());
        return;
    }
    // Final completion: stopped, paused or failed.
    State& state = *listener.state;
    if (result >= 0) {
        state.accepted(result);
    }
    if (listener.stopping || state.stopped) {
        state.internals.poller->close(listener.fd);
        auto& owned = state.listeners;
        std::shared_ptr<State> keep = std::move(listener.state);
        std::erase_if(owned, [&](const auto& entry) { return entry.get() == &listener; });
        return;  // `listener` is gone; `keep` releases the state last
    }
    if (result < 0 && result != -ECANCELED) {
        log::error("accept on {} failed: {}", SocketAddress::local_of(listener.fd).to_string(),
                   std::error_code(-result, std::system_category()).message());
    }
    if (!state.paused) {
        state.start(listener);  // ended on its own: keep accepting
    }
}

void TCPServer::State::accepted(int fd) {
    if (stopped) {
        ::close(fd);
        return;
    }
    ++connection_count;
    try {
        connections.spawn(serve_connection(shared_from_this(), fd));
    } catch (const std::exception& error) {
        --connection_count;
        ::close(fd);
        log::error("cannot start a connection handler: {}", error.what());
        return;
    }
    if (options.max_connections != 0 && connection_count >= options.max_connections) {
        pause_accepting();
    }
}

void TCPServer::State::connection_finished() {
    --connection_count;
    if (paused && connection_count < options.max_connections) {
        resume_accepting();
    }
}

void TCPServer::State::pause_accepting() {
    paused = true;
    for (auto& listener : listeners) {
        internals.poller->cancel(*listener);
    }
}

void TCPServer::State::resume_accepting() {
    paused = false;
    for (auto& listener : listeners) {
        if (!listener->active) {
            start(*listener);
        }
    }
}

void TCPServer::State::stop() noexcept {
    stopped = true;
    for (auto it = listeners.begin(); it != listeners.end();) {
        Listener& listener = **it;
        listener.stopping = true;
        if (listener.active) {
            internals.poller->cancel(listener);  // closed on its final completion
            ++it;
        } else {
            internals.poller->close(listener.fd);
            it = listeners.erase(it);
        }
    }
}

TCPServer::TCPServer(Handler handler, TCPServerOptions options)
    : state_(std::make_shared<State>(std::move(handler), std::move(options))) {}

TCPServer::~TCPServer() {
    state_->stop();
    state_->connections.cancel();
}

std::vector<SocketAddress> TCPServer::listen(std::uint16_t port, const ListenOptions& options) {
    std::vector<SocketAddress> bound;
    for (int fd : bind_sockets(port, options)) {
        bound.push_back(SocketAddress::local_of(fd));
        add_socket(fd);
    }
    return bound;
}

void TCPServer::add_socket(int listening_fd) {
    if (state_->stopped) {
        ::close(listening_fd);
        throw Error("TCPServer::add_socket: the server is stopped");
    }
    auto listener = std::make_unique<State::Listener>(state_, listening_fd);
    State::Listener& added = *listener;
    state_->listeners.push_back(std::move(listener));
    if (!state_->paused) {
        state_->start(added);
    }
}

void TCPServer::stop() noexcept {
    state_->stop();
}

namespace {

Task<void> drain_connections(std::shared_ptr<TCPServer::State> state, IOLoop::Duration grace) {
    state->stop();
    // Reported by a timer of its own, due at the same moment as the timeout but scheduled first:
    // once the timeout fires, the cancelled connections unwind and the count is zero.
    TimerHandle report = IOLoop::current().call_later(grace, [state] {
        log::info("shutdown: cancelling {} connections still open after the grace period",
                  state->connection_count);
    });
    try {
        co_await with_timeout(grace, state->connections.join());
    } catch (const TimeoutError&) {
        // the connections still open are cancelled below
    }
    report.cancel();
    state->connections.cancel();
    co_await state->connections.join();
}

}  // namespace

Task<void> TCPServer::shutdown(IOLoop::Duration grace) {
    return drain_connections(state_, grace);
}

std::size_t TCPServer::connection_count() const noexcept {
    return state_->connection_count;
}

std::vector<SocketAddress> TCPServer::addresses() const {
    std::vector<SocketAddress> result;
    for (const auto& listener : state_->listeners) {
        result.push_back(SocketAddress::local_of(listener->fd));
    }
    return result;
}

}  // namespace gale
