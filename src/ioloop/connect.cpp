// Connecting sockets: one address (connect_to) and TCPClient's Happy Eyeballs.

#include <gale/ioloop/combinators.hpp>
#include <gale/ioloop/tcp_client.hpp>

#include "ioloop/loop_internals.hpp"

#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace gale {
namespace {

// Awaits one IORING_OP_CONNECT (or its epoll emulation). The operation lives in the
// awaiter, in the coroutine frame, which stays suspended until the final completion, also
// after a cancel: the kernel never reads a freed address.
struct ConnectAwaiter : CancellationCallback {
    struct Operation : detail::IoOperation {
        Operation() : IoOperation(detail::OperationKind::connect, &ConnectAwaiter::on_complete) {}
        ConnectAwaiter* owner = nullptr;
        sockaddr_storage address{};
    };

    ConnectAwaiter(int fd, const SocketAddress& address)
        : internals(IOLoop::current().internals()) {
        operation.owner = this;
        operation.fd = fd;
        std::memcpy(&operation.address, address.data(), address.size());
        operation.message.msg_name = &operation.address;
        operation.message.msg_namelen = address.size();
    }

    bool await_ready() const noexcept { return false; }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> caller) {
        if (!attach(detail::scope_of(caller), &ConnectAwaiter::on_cancel)) {
            result = -ECANCELED;
            return false;
        }
        waiter = caller;
        internals.poller->start(operation);
        return true;
    }

    static void on_complete(detail::IoOperation& operation, int result, bool) {
        ConnectAwaiter& self = *static_cast<Operation&>(operation).owner;
        self.result = result;
        self.detach();
        self.internals.post(self.waiter);
    }

    static void on_cancel(CancellationCallback& callback) noexcept {
        auto& self = static_cast<ConnectAwaiter&>(callback);
        self.internals.poller->cancel(self.operation);
    }

    int await_resume() noexcept { return result; }

    detail::LoopInternals& internals;
    Operation operation;
    std::coroutine_handle<> waiter;
    int result = 0;
};

// Closes the fd unless released: a failed or cancelled attempt leaves nothing open.
struct SocketGuard {
    int fd;
    ~SocketGuard() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
    int release() noexcept { return std::exchange(fd, -1); }
};

}  // namespace

Task<IOStream> connect_to(SocketAddress address, std::optional<SocketAddress> source,
                          IOStreamOptions options) {
    int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw system_error(errno, "socket for " + address.to_string());
    }
    SocketGuard guard{fd};
    if (source) {
        int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd, source->data(), source->size()) != 0) {
            throw system_error(errno, "binding the source address " + source->to_string());
        }
    }
    int result = co_await ConnectAwaiter(fd, address);
    if (result == -ECANCELED) {
        throw OperationCancelled();
    }
    if (result < 0) {
        throw ConnectError("cannot connect to " + address.to_string() + ": " +
                           std::error_code(-result, std::system_category()).message());
    }
    co_return IOStream(guard.release(), options);
}

namespace {

// The addresses of one family, tried one after another. With a delay, waits first, unless
// `skip_delay` is cancelled (the other family already failed).
Task<IOStream> try_in_turn(std::vector<SocketAddress> addresses, IOLoop::Duration delay,
                           CancellationScope* skip_delay, ConnectOptions options) {
    if (delay > IOLoop::Duration::zero()) {
        // The delay ends early when this task is cancelled or when `skip_delay` is.
        CancellationScope delay_scope(co_await current_scope());
        struct Link : CancellationCallback {
            CancellationScope* target = nullptr;
        } link;
        link.target = &delay_scope;
        if (!link.attach(skip_delay, [](CancellationCallback& callback) noexcept {
                static_cast<Link&>(callback).target->cancel();
            })) {
            delay_scope.cancel();
        }
        try {
            co_await with_scope(sleep(delay), delay_scope);
        } catch (const OperationCancelled&) {
            // Skipped: go on. Cancelled ourselves: the point below rethrows.
        }
        co_await cancellation_point();
    }
    std::exception_ptr last_error;
    for (const SocketAddress& address : addresses) {
        try {
            co_return co_await connect_to(address, options.source, options.stream_options);
        } catch (const ConnectError&) {
            last_error = std::current_exception();
        } catch (const SystemError&) {
            last_error = std::current_exception();
        }
    }
    std::rethrow_exception(last_error);
}

struct Race {
    std::optional<IOStream> winner;
    std::exception_ptr last_error;
    CancellationScope skip_delay;
    std::size_t failed = 0;
};

Task<void> attempt(Task<IOStream> connection, Race& race, TaskGroup& group) {
    try {
        IOStream stream = co_await std::move(connection);
        if (!race.winner) {
            race.winner.emplace(std::move(stream));
            group.cancel();  // the other family loses; its stream (if any) closes
        }
    } catch (const OperationCancelled&) {
        if (!race.winner) {
            throw;
        }
    } catch (...) {
        race.last_error = std::current_exception();
        ++race.failed;
        race.skip_delay.cancel();  // this family failed: start the other one now
    }
}

Task<IOStream> happy_eyeballs(std::vector<SocketAddress> addresses, ConnectOptions options) {
    std::vector<SocketAddress> primary;
    std::vector<SocketAddress> secondary;
    for (const SocketAddress& address : addresses) {
        (address.family() == addresses.front().family() ? primary : secondary).push_back(address);
    }
    if (secondary.empty()) {
        co_return co_await try_in_turn(std::move(primary), {}, nullptr, options);
    }
    Race race;
    {
        TaskGroup group;
        group.spawn(attempt(try_in_turn(std::move(primary), {}, nullptr, options), race, group));
        group.spawn(attempt(
            try_in_turn(std::move(secondary), options.fallback_delay, &race.skip_delay, options),
            race, group));
        co_await group.join();
    }
    if (race.winner) {
        co_return std::move(*race.winner);
    }
    std::rethrow_exception(race.last_error);
}

Task<IOStream> connect_all_steps(std::shared_ptr<Resolver> resolver, std::string host,
                                 std::uint16_t port, ConnectOptions options) {
    std::vector<SocketAddress> addresses = co_await resolver->resolve(host, port, options.family);
    IOStream stream;
    try {
        stream = co_await happy_eyeballs(std::move(addresses), options);
    } catch (const ConnectError& error) {
        throw ConnectError("cannot connect to " + host + ":" + std::to_string(port) + ": " +
                           error.what());
    }
    if (options.tls) {
        std::string name = options.server_hostname.empty() ? host : options.server_hostname;
        co_await stream.start_tls(options.tls, false, name);
    }
    co_return stream;
}

}  // namespace

TCPClient::TCPClient(std::shared_ptr<Resolver> resolver) : resolver_(std::move(resolver)) {}

Task<IOStream> TCPClient::connect(std::string host, std::uint16_t port, ConnectOptions options) {
    IOLoop::Duration timeout = options.timeout;
    return with_timeout(timeout,
                        connect_all_steps(resolver_, std::move(host), port, std::move(options)));
}

}  // namespace gale
