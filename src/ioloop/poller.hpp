#pragma once
// The kernel interface behind IOLoop: one completion-based contract, two implementations.
//
// An IoOperation is started with Poller::start and finishes with a final call of its
// `complete` function (`more == false`). Multishot operations (accept, receive, poll) call
// `complete` with `more == true` for every result while they stay armed. The owner must keep
// the operation alive and unmoved while it is active; to stop early it calls Poller::cancel
// and waits for the final completion, which may still carry a normal result when it raced
// the cancel. `complete` runs from inside Poller::wait (or, for send and connect on epoll,
// possibly from inside start) and must not run user code: it records the result and queues
// coroutine resumptions on the loop.

#include <gale/ioloop/ioloop.hpp>

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <optional>

namespace gale::detail {

enum class OperationKind : std::uint8_t {
    accept,   // multishot: result is a new fd (SOCK_NONBLOCK | SOCK_CLOEXEC)
    receive,  // multishot: result is a byte count (0 = end of stream), bytes in `data`
    send,     // one shot: result is the count of bytes sent from `message.msg_iov`
    connect,  // one shot: result is 0 or -errno
    poll,     // multishot, level-triggered: result is the ready Events mask
};

struct IoOperation {
    using CompleteFunction = void (*)(IoOperation& operation, int result, bool more);

    IoOperation(OperationKind operation_kind, CompleteFunction function) noexcept
        : complete(function), kind(operation_kind) {}
    IoOperation(const IoOperation&) = delete;
    IoOperation& operator=(const IoOperation&) = delete;

    CompleteFunction complete;
    OperationKind kind;
    bool active = false;            // started and its final completion not yet delivered
    bool cancel_requested = false;  // Poller::cancel was called for this run
    bool rearm_requested = false;   // io_uring poll: re-armed with new events after removal
    int fd = -1;

    const char* data = nullptr;  // receive: the received bytes, valid during `complete`
    // send: the iovecs to gather from; connect: the peer's address (msg_name, msg_namelen),
    // which the operation's owner keeps (not here: every stream has two operations).
    msghdr message{};
    std::uint32_t poll_events = 0;  // poll: Events mask to watch
};

class Poller {
  public:
    virtual ~Poller() = default;

    virtual IOBackend backend() const noexcept = 0;

    /// Arms `operation`. It must be inactive; it becomes active until its final completion.
    virtual void start(IoOperation& operation) = 0;

    /// Asks an active operation to stop. Its final completion follows from a later `wait`,
    /// never from inside this call.
    virtual void cancel(IoOperation& operation) noexcept = 0;

    /// Changes the events a poll operation watches.
    virtual void update_poll(IoOperation& operation, std::uint32_t events) = 0;

    /// Closes `fd` once no operation on it is active.
    virtual void close(int fd) noexcept = 0;

    /// Submits what was queued, waits up to `timeout` (forever when empty) for completions
    /// or a wake-up, and dispatches them.
    virtual void wait(std::optional<IOLoop::Duration> timeout) = 0;

    /// Interrupts a blocking `wait` from any thread.
    virtual void wake() noexcept = 0;

    /// Operations started and not yet finally completed (the loop drains them on exit).
    std::size_t in_flight() const noexcept { return in_flight_; }

  protected:
    void count_start() noexcept { ++in_flight_; }
    void count_finish() noexcept { --in_flight_; }

  private:
    std::size_t in_flight_ = 0;
};

struct PollerOptions {
    unsigned ring_entries;
    unsigned receive_buffer_count;
    std::size_t receive_buffer_size;
};

/// Builds the io_uring poller, or returns null (with the reason in `why`) when the kernel
/// or the sandbox refuses it.
std::unique_ptr<Poller> make_uring_poller(const PollerOptions& options, std::string& why);
std::unique_ptr<Poller> make_epoll_poller(const PollerOptions& options);

}  // namespace gale::detail
