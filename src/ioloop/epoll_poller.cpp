// The epoll backend: emulates completions on top of readiness.
//
// Sockets are registered once, edge-triggered, for both directions. An operation first tries
// its system call; when the kernel says EAGAIN it waits for the next edge and retries. Raw fd
// handlers (add_handler) get a level-triggered registration of their own, as Tornado's do.

#include "ioloop/poller.hpp"

#include <gale/ioloop/log.hpp>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <deque>
#include <vector>

namespace gale::detail {
namespace {

constexpr int max_events = 256;
constexpr int max_reads_per_event = 16;    // fairness: then the fd goes to the back of the line
constexpr int max_accepts_per_event = 64;  // Tornado accepts at most 128 per event
constexpr std::uint64_t wake_tag = ~std::uint64_t{0};

std::uint32_t to_epoll(std::uint32_t events) {
    std::uint32_t mask = 0;
    if (events & Events::read) {
        mask |= EPOLLIN | EPOLLRDHUP;
    }
    if (events & Events::write) {
        mask |= EPOLLOUT;
    }
    return mask;
}

std::uint32_t from_epoll(std::uint32_t mask) {
    std::uint32_t events = 0;
    if (mask & (EPOLLIN | EPOLLRDHUP)) {
        events |= Events::read;
    }
    if (mask & EPOLLOUT) {
        events |= Events::write;
    }
    if (mask & (EPOLLERR | EPOLLHUP)) {
        events |= Events::error;
    }
    return events;
}

class EpollPoller final : public Poller {
  public:
    explicit EpollPoller(const PollerOptions& options)
        : buffer_size_(options.receive_buffer_size),
          buffer_(new char[options.receive_buffer_size]) {
        epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
        if (epoll_fd_ < 0) {
            throw system_error(errno, "epoll_create1");
        }
        wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (wake_fd_ < 0) {
            int saved = errno;
            ::close(epoll_fd_);
            throw system_error(saved, "eventfd");
        }
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.u64 = wake_tag;
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event);
    }

    ~EpollPoller() override {
        ::close(wake_fd_);
        ::close(epoll_fd_);
    }

    IOBackend backend() const noexcept override { return IOBackend::epoll; }

    void start(IoOperation& operation) override;
    void cancel(IoOperation& operation) noexcept override;
    void update_poll(IoOperation& operation, std::uint32_t events) override;
    void close(int fd) noexcept override;
    void wait(std::optional<IOLoop::Duration> timeout) override;
    void wake() noexcept override {
        std::uint64_t one = 1;
        [[maybe_unused]] ssize_t written = ::write(wake_fd_, &one, sizeof one);
    }

  private:
    struct FdState {
        IoOperation* reader = nullptr;  // accept, receive or a level-triggered poll
        IoOperation* writer = nullptr;  // send or connect
        std::uint32_t generation = 0;
        bool registered = false;
        bool level_triggered = false;
        bool readable = false;
        bool writable = false;
        bool hung_up = false;  // the peer's FIN (or an error) was reported: read until recv says so
    };

    FdState& state_of(int fd) {
        if (static_cast<std::size_t>(fd) >= fds_.size()) {
            fds_.resize(static_cast<std::size_t>(fd) + 64);
        }
        return fds_[static_cast<std::size_t>(fd)];
    }
    std::uint64_t tag_of(int fd) const {
        return static_cast<std::uint32_t>(fd) |
               (std::uint64_t{fds_[static_cast<std::size_t>(fd)].generation} << 32);
    }

    void register_edge_triggered(int fd, FdState& state);
    void dispatch(std::uint64_t tag, std::uint32_t mask);
    void handle_readable(int fd);
    void handle_writable(int fd);
    void read_into(int fd, IoOperation& operation);
    void accept_from(int fd, IoOperation& operation);
    void finish(IoOperation& operation, int result);
    bool try_send(IoOperation& operation);

    int epoll_fd_ = -1;
    int wake_fd_ = -1;
    std::size_t buffer_size_;
    std::unique_ptr<char[]> buffer_;
    std::deque<FdState> fds_;              // by fd; a deque so growing keeps references valid
    std::vector<IoOperation*> cancelled_;  // final completions owed for cancel()
    std::vector<int> retry_;               // fds with more to read after a fairness cut
    bool has_pwait2_ = true;  // false on kernels before 5.11 and seccomp profiles without it
};

void EpollPoller::register_edge_triggered(int fd, FdState& state) {
    if (state.registered) {
        return;
    }
    epoll_event event{};
    event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    event.data.u64 = tag_of(fd);
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
        throw system_error(errno, "epoll_ctl(ADD) for fd " + std::to_string(fd));
    }
    state.registered = true;
    state.level_triggered = false;
}

void EpollPoller::finish(IoOperation& operation, int result) {
    count_finish();
    operation.active = false;
    operation.complete(operation, result, false);
}

void EpollPoller::start(IoOperation& operation) {
    count_start();
    operation.active = true;
    operation.cancel_requested = false;
    const int fd = operation.fd;
    FdState& state = state_of(fd);
    switch (operation.kind) {
        case OperationKind::accept:
        case OperationKind::receive:
            state.reader = &operation;
            register_edge_triggered(fd, state);
            if (state.readable) {
                retry_.push_back(fd);  // an edge may already have passed; read from wait()
            }
            return;
        case OperationKind::send:
            if (state.writer == nullptr && try_send(operation)) {
                return;
            }
            state.writer = &operation;
            register_edge_triggered(fd, state);
            return;
        case OperationKind::connect: {
            int result = ::connect(fd, static_cast<const sockaddr*>(operation.message.msg_name),
                                   operation.message.msg_namelen);
            if (result == 0 || errno != EINPROGRESS) {
                finish(operation, result == 0 ? 0 : -errno);
                return;
            }
            state.writer = &operation;
            state.writable = false;
            register_edge_triggered(fd, state);
            return;
        }
        case OperationKind::poll: {
            epoll_event event{};
            event.events = to_epoll(operation.poll_events);
            event.data.u64 = tag_of(fd);
            if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
                count_finish();
                operation.active = false;
                throw system_error(errno, "epoll_ctl(ADD) for handler fd " + std::to_string(fd));
            }
            state.registered = true;
            state.level_triggered = true;
            state.reader = &operation;
            return;
        }
    }
}

// Sends what it can. Returns true when the operation finished (fully or partly sent, or
// failed), false when the socket is full and the operation must wait for writability.
// One buffer (a response head and body are usually joined) goes through send(), which spares
// the kernel copying in a message header and an iovec array.
bool EpollPoller::try_send(IoOperation& operation) {
    constexpr int flags = MSG_NOSIGNAL | MSG_DONTWAIT;
    const msghdr& message = operation.message;
    ssize_t sent = message.msg_iovlen == 1 ? ::send(operation.fd, message.msg_iov[0].iov_base,
                                                    message.msg_iov[0].iov_len, flags)
                                           : ::sendmsg(operation.fd, &message, flags);
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        state_of(operation.fd).writable = false;
        return false;
    }
    finish(operation, sent >= 0 ? static_cast<int>(sent) : -errno);
    return true;
}

void EpollPoller::cancel(IoOperation& operation) noexcept {
    if (!operation.active || operation.cancel_requested) {
        return;
    }
    operation.cancel_requested = true;
    FdState& state = fds_[static_cast<std::size_t>(operation.fd)];
    if (state.reader == &operation) {
        state.reader = nullptr;
        if (state.level_triggered) {
            ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, operation.fd, nullptr);
            state.registered = false;
            state.level_triggered = false;
            ++state.generation;
        }
    }
    if (state.writer == &operation) {
        state.writer = nullptr;
    }
    cancelled_.push_back(&operation);
}

void EpollPoller::update_poll(IoOperation& operation, std::uint32_t events) {
    operation.poll_events = events;
    if (!operation.active || operation.cancel_requested) {
        return;
    }
    epoll_event event{};
    event.events = to_epoll(events);
    event.data.u64 = tag_of(operation.fd);
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, operation.fd, &event) != 0) {
        throw system_error(errno, "epoll_ctl(MOD) for handler fd " + std::to_string(operation.fd));
    }
}

void EpollPoller::close(int fd) noexcept {
    if (fd < 0) {
        return;
    }
    if (static_cast<std::size_t>(fd) < fds_.size()) {
        FdState& state = fds_[static_cast<std::size_t>(fd)];
        if (state.registered) {
            ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
        }
        std::uint32_t generation = state.generation + 1;
        state = FdState{};
        state.generation = generation;
    }
    ::close(fd);
}

void EpollPoller::wait(std::optional<IOLoop::Duration> timeout) {
    if (!cancelled_.empty() || !retry_.empty()) {
        timeout = IOLoop::Duration::zero();
    }
    timespec wait_time{};
    timespec* wait_pointer = nullptr;
    if (timeout) {
        auto nanoseconds = std::chrono::duration_cast<std::chrono::nanoseconds>(*timeout).count();
        wait_time.tv_sec = static_cast<time_t>(nanoseconds / 1'000'000'000);
        wait_time.tv_nsec = static_cast<long>(nanoseconds % 1'000'000'000);
        wait_pointer = &wait_time;
    }
    epoll_event events[max_events];
    int count = -1;
    if (has_pwait2_) {
        count = ::epoll_pwait2(epoll_fd_, events, max_events, wait_pointer, nullptr);
        // Older kernels (ENOSYS) and container seccomp profiles (EPERM) lack it: fall back to
        // epoll_wait, whose timeout is in milliseconds (rounded up, so that timers never fire
        // early).
        has_pwait2_ = !(count < 0 && (errno == ENOSYS || errno == EPERM));
    }
    if (!has_pwait2_) {
        int milliseconds = -1;
        if (timeout) {
            auto rounded_up = std::chrono::ceil<std::chrono::milliseconds>(*timeout).count();
            milliseconds =
                static_cast<int>(std::clamp<long long>(rounded_up, 0, 24LL * 3600 * 1000));
        }
        count = ::epoll_wait(epoll_fd_, events, max_events, milliseconds);
    }
    if (count < 0 && errno != EINTR) {
        throw system_error(errno, has_pwait2_ ? "epoll_pwait2" : "epoll_wait");
    }

    std::vector<IoOperation*> cancelled;
    cancelled.swap(cancelled_);
    for (IoOperation* operation : cancelled) {
        finish(*operation, -ECANCELED);
    }
    std::vector<int> retry;
    retry.swap(retry_);
    for (int i = 0; i < count; ++i) {
        dispatch(events[i].data.u64, events[i].events);
    }
    for (int fd : retry) {
        handle_readable(fd);
    }
}

void EpollPoller::dispatch(std::uint64_t tag, std::uint32_t mask) {
    if (tag == wake_tag) {
        std::uint64_t value;
        [[maybe_unused]] ssize_t got = ::read(wake_fd_, &value, sizeof value);
        return;
    }
    const int fd = static_cast<int>(tag & 0xffffffffu);
    if (static_cast<std::size_t>(fd) >= fds_.size() || tag != tag_of(fd)) {
        return;  // the fd was closed (and maybe reused) after the event was queued
    }
    FdState& state = fds_[static_cast<std::size_t>(fd)];
    if (state.level_triggered) {
        if (state.reader != nullptr) {
            state.reader->complete(*state.reader, static_cast<int>(from_epoll(mask)), true);
        }
        return;
    }
    if (mask & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        state.readable = true;
        state.hung_up = state.hung_up || (mask & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
        handle_readable(fd);
    }
    if (mask & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
        fds_[static_cast<std::size_t>(fd)].writable = true;
        handle_writable(fd);
    }
}

void EpollPoller::handle_readable(int fd) {
    if (static_cast<std::size_t>(fd) >= fds_.size()) {
        return;
    }
    IoOperation* reader = fds_[static_cast<std::size_t>(fd)].reader;
    if (reader == nullptr || fds_[static_cast<std::size_t>(fd)].level_triggered) {
        return;
    }
    if (reader->kind == OperationKind::accept) {
        accept_from(fd, *reader);
    } else {
        read_into(fd, *reader);
    }
}

void EpollPoller::read_into(int fd, IoOperation& operation) {
    for (int reads = 0; reads < max_reads_per_event; ++reads) {
        ssize_t received = ::recv(fd, buffer_.get(), buffer_size_, 0);
        if (received > 0) {
            operation.data = buffer_.get();
            operation.complete(operation, static_cast<int>(received), true);
            if (fds_[static_cast<std::size_t>(fd)].reader != &operation) {
                return;  // cancelled from the completion
            }
            if (static_cast<std::size_t>(received) < buffer_size_ &&
                !fds_[static_cast<std::size_t>(fd)].hung_up) {
                return;  // drained for now; new data brings a new edge
            }
            // A FIN that came with this edge brings no other: read on until recv returns 0.
            continue;
        }
        if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            fds_[static_cast<std::size_t>(fd)].readable = false;
            return;
        }
        if (received < 0 && errno == EINTR) {
            continue;
        }
        fds_[static_cast<std::size_t>(fd)].reader = nullptr;
        finish(operation, received == 0 ? 0 : -errno);
        return;
    }
    retry_.push_back(fd);
}

void EpollPoller::accept_from(int fd, IoOperation& operation) {
    for (int accepted = 0; accepted < max_accepts_per_event; ++accepted) {
        int client = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (client < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                fds_[static_cast<std::size_t>(fd)].readable = false;
                return;
            }
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            operation.complete(operation, -errno, true);  // EMFILE and friends: reported, kept
            return;
        }
        operation.complete(operation, client, true);
        if (fds_[static_cast<std::size_t>(fd)].reader != &operation) {
            return;
        }
    }
    retry_.push_back(fd);
}

void EpollPoller::handle_writable(int fd) {
    FdState& state = fds_[static_cast<std::size_t>(fd)];
    IoOperation* writer = state.writer;
    if (writer == nullptr) {
        return;
    }
    if (writer->kind == OperationKind::connect) {
        int error = 0;
        socklen_t length = sizeof error;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
        state.writer = nullptr;
        finish(*writer, -error);
        return;
    }
    state.writer = nullptr;
    if (!try_send(*writer)) {
        fds_[static_cast<std::size_t>(fd)].writer = writer;
    }
}

}  // namespace

std::unique_ptr<Poller> make_epoll_poller(const PollerOptions& options) {
    return std::make_unique<EpollPoller>(options);
}

}  // namespace gale::detail
