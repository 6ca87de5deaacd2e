#pragma once
/// `IOLoop`: the per-thread event loop every gale object runs on.
///
/// The loop is completion-based: operations are started ("receive on this socket", "wake me
/// at this time") and the loop resumes the waiting coroutine with the result. Two backends
/// implement it, chosen when the loop is built: io_uring when the kernel offers the needed
/// operations, otherwise epoll. `GALE_IO_BACKEND=epoll|io_uring` or `IOLoopOptions::backend`
/// overrides the choice.
///
/// One loop per thread; tasks never move between threads. `add_callback` is the only method
/// that may be called from another thread.
///
/// ```
/// gale::IOLoop loop;
/// loop.call_later(std::chrono::milliseconds(10), [&] { loop.stop(); });
/// loop.run();
/// int value = loop.run_sync(compute());  // runs the loop until the task finishes
/// ```

#include <gale/ioloop/callback.hpp>
#include <gale/ioloop/errors.hpp>
#include <gale/ioloop/task.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

namespace gale {

namespace detail {
class Poller;
class LoopInternals;
struct LoopAccess;
}  // namespace detail

/// Which kernel interface the loop uses.
enum class IOBackend { automatic, io_uring, epoll };

std::string_view to_string(IOBackend backend) noexcept;

struct IOLoopOptions {
    /// `automatic` picks io_uring when available; the `GALE_IO_BACKEND` environment
    /// variable (`io_uring` or `epoll`) overrides `automatic` but not an explicit choice.
    IOBackend backend = IOBackend::automatic;
    /// Submission queue size (io_uring).
    unsigned ring_entries = 1024;
    /// Receive buffers shared by all connections of the loop (io_uring provided buffers; the
    /// epoll backend uses one buffer of `receive_buffer_size`). Idle connections hold none.
    unsigned receive_buffer_count = 128;
    std::size_t receive_buffer_size = 8 * 1024;
    /// Log the backend in use when the loop starts.
    bool log_backend = true;
};

/// Readiness events for raw file descriptor handlers (Tornado's READ/WRITE/ERROR).
enum Events : std::uint32_t { none = 0, read = 1, write = 4, error = 8 };

class IOLoop;

/// A timer scheduled with `call_later`/`call_at`. A plain value: copying it copies the
/// reference to the timer. `cancel()` is safe after the timer fired or was cancelled, but not
/// after the loop was destroyed.
class TimerHandle {
  public:
    TimerHandle() noexcept = default;
    /// Stops the timer if it has not fired; returns true when it was still pending.
    bool cancel() noexcept;
    bool pending() const noexcept;

  private:
    friend class IOLoop;
    TimerHandle(IOLoop* loop, std::uint32_t slot, std::uint32_t generation) noexcept
        : loop_(loop), slot_(slot), generation_(generation) {}
    IOLoop* loop_ = nullptr;
    std::uint32_t slot_ = 0;
    std::uint32_t generation_ = 0;
};

class IOLoop {
  public:
    using Clock = std::chrono::steady_clock;
    using TimePoint = Clock::time_point;
    using Duration = Clock::duration;
    using Handler = std::function<void(int fd, std::uint32_t events)>;

    /// Builds a loop and makes it the current loop of this thread if there is none.
    explicit IOLoop(IOLoopOptions options = {});
    IOLoop(const IOLoop&) = delete;
    IOLoop& operator=(const IOLoop&) = delete;
    /// Cancels every task spawned on the loop, lets them unwind, and releases the kernel
    /// resources.
    ~IOLoop();

    /// The loop of the calling thread; one is created (and owned by the thread) if needed.
    static IOLoop& current();
    /// The loop of the calling thread, or null.
    static IOLoop* current_or_null() noexcept;
    /// Makes this loop the calling thread's current loop.
    void make_current() noexcept;

    IOBackend backend() const noexcept;

    /// Runs until `stop()`. Throws `Error` when the loop is already running.
    void run();
    /// Makes `run()` return after the current iteration. May be called from any thread.
    void stop();
    bool running() const noexcept { return running_; }

    /// Runs the loop until `task` finishes and returns its result (or rethrows its error).
    /// With a timeout, a task still running at the deadline is cancelled, allowed to unwind,
    /// and `TimeoutError` is thrown.
    template <class T>
    T run_sync(Task<T> task, std::optional<Duration> timeout = std::nullopt);

    /// Schedules `callback` for the next iteration. The one thread-safe entry to the loop:
    /// from another thread it wakes the loop at once.
    void add_callback(Callback callback);

    /// Runs `callback` after `delay` / at `when` (on the monotonic clock).
    TimerHandle call_later(Duration delay, Callback callback);
    TimerHandle call_at(TimePoint when, Callback callback);
    /// The loop's clock: monotonic, cached once per iteration.
    TimePoint time() const noexcept { return now_; }

    /// Calls `handler(fd, events)` whenever `fd` is ready for `events` (level-triggered, as
    /// Tornado's and asyncio's readers and writers). One handler per fd: adding a second
    /// throws. Removing an unknown fd does nothing. The fd stays owned by the caller.
    void add_handler(int fd, Handler handler, std::uint32_t events);
    void update_handler(int fd, std::uint32_t events);
    void remove_handler(int fd) noexcept;

    /// Calls `callback` on this loop when the process receives `signal_number` (SIGINT,
    /// SIGTERM, ...). The signal is blocked for the calling thread and delivered through a
    /// signalfd; threads created afterwards inherit the block. Replaces an earlier handler.
    void add_signal_handler(int signal_number, Callback callback);
    void remove_signal_handler(int signal_number) noexcept;

    /// For the library's own I/O objects; not part of the stable API.
    detail::LoopInternals& internals() noexcept { return *internals_; }

  private:
    friend class TimerHandle;
    friend struct detail::LoopAccess;

    void run_ready_callbacks();
    void run_due_timers();
    std::optional<Duration> time_to_next_timer() const noexcept;
    void cancel_roots_and_drain();

    std::unique_ptr<detail::LoopInternals> internals_;
    TimePoint now_;
    bool running_ = false;
    bool stopping_ = false;
};

/// Starts `task` on the current loop at the next iteration, detached: nothing awaits it. It
/// runs in its own cancellation scope; an exception other than `OperationCancelled` is
/// logged. Tasks still running when the loop is destroyed are cancelled and unwound.
void spawn(Task<void> task);

/// Completes after `delay` (cancellable).
Task<void> sleep(IOLoop::Duration delay);
/// Completes at `deadline` (cancellable).
Task<void> sleep_until(IOLoop::TimePoint deadline);

namespace detail {

/// Runs a root task on a loop: the frame of `run_root` owns the task, the task's scope and
/// the flag the loop polls.
struct RootState {
    CancellationScope scope;
    IOLoop* loop = nullptr;
    bool finished = false;
};

/// Runs `task` in `state.scope` and sets `state.finished` when it ends, however it ends.
Task<void> run_root(Task<void> task, RootState& state);

enum class RunOutcome { finished, timed_out, stopped };

/// Runs `loop` until the root finishes. When the timeout passes or the loop is stopped
/// first, cancels the root and keeps running until it has unwound.
RunOutcome run_until(IOLoop& loop, RootState& state, std::optional<IOLoop::Duration> timeout);

template <class T>
Task<void> capture_result(Task<T> task, std::optional<T>& result) {
    result.emplace(co_await std::move(task));
}

inline Task<void> capture_result(Task<void> task, std::optional<bool>& result) {
    co_await std::move(task);
    result = true;
}

}  // namespace detail

template <class T>
T IOLoop::run_sync(Task<T> task, std::optional<Duration> timeout) {
    using Slot = std::conditional_t<std::is_void_v<T>, bool, T>;
    std::optional<Slot> result;
    detail::RootState state;
    Task<void> root = detail::run_root(detail::capture_result(std::move(task), result), state);
    auto handle = root.handle();
    add_callback([handle] { handle.resume(); });
    detail::RunOutcome outcome = detail::run_until(*this, state, timeout);
    try {
        handle.promise().take_result();
    } catch (const OperationCancelled&) {
        if (outcome == detail::RunOutcome::timed_out) {
            throw TimeoutError("run_sync: the task did not finish before the timeout");
        }
        if (outcome == detail::RunOutcome::stopped) {
            throw Error("run_sync: the loop was stopped before the task finished");
        }
        throw;
    }
    if constexpr (!std::is_void_v<T>) {
        return std::move(*result);
    }
}

}  // namespace gale
