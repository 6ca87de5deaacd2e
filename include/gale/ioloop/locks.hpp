#pragma once
/// Synchronisation between the tasks of one loop: `Condition`, `Event`, `Semaphore`,
/// `BoundedSemaphore` and `Lock` (Tornado's `tornado.locks`).
///
/// These coordinate coroutines, not threads: every task that uses one object must run on
/// the same loop, and no mutex is involved. Waiting is fair (first come, first served) and
/// every wait:
///
/// - resumes at the next loop iteration after it is granted, never inside the call that
///   granted it (`notify`, `set`, `release`);
/// - takes an optional timeout, either a relative `IOLoop::Duration` or an absolute
///   `IOLoop::TimePoint` (Tornado's deadlines). A deadline that has already passed makes the
///   wait give up at once when it cannot be granted at once;
/// - is cancellable: cancelling the waiting task resumes it with `OperationCancelled`. A
///   waiter that timed out or was cancelled leaves the queue at once, so `notify`, `release`
///   and `set` only ever count live waiters. When a waiter is cancelled after it was granted
///   but before it resumed, what it was granted (a permit, a notification) passes to the next
///   waiter: cancellation never loses a grant;
/// - allocates nothing beyond the coroutine frame: waiters are list nodes in their frame.
///
/// Destroying an object while tasks wait on it resumes them with `OperationCancelled`.
///
/// ```
/// gale::Semaphore slots(10);  // at most 10 fetches at a time
/// gale::Task<void> fetch_one(std::string url) {
///     auto slot = co_await slots.acquire();  // released when `slot` goes away
///     co_await fetch(url);
/// }
/// ```

#include <gale/ioloop/ioloop.hpp>

#include <cstddef>
#include <optional>
#include <utility>

namespace gale {

namespace detail {

class WaitQueue;

/// One suspended wait on a lock or a queue: an intrusive list node that lives in the waiting
/// coroutine's frame, with an optional deadline and a cancellation registration. Awaiters of
/// the primitives derive from it.
class Waiter : public CancellationCallback {
  public:
    enum class Outcome : unsigned char {
        pending,    // not suspended yet, or still waiting
        woken,      // granted; resumes at the next iteration
        timed_out,  // the deadline passed first
        cancelled,  // the waiting task was cancelled
        abandoned,  // the object waited on was destroyed
    };

    /// Called when the waiting task is cancelled after the waiter was woken and before it
    /// resumed. Returns true when it passed the grant on (the waiter then reports
    /// `OperationCancelled`), false when the grant stands (the waiter completes normally).
    using Revoke = bool (*)(Waiter&) noexcept;

    explicit Waiter(Revoke revoke) noexcept : revoke_(revoke) {}
    Waiter(const Waiter&) = delete;
    Waiter& operator=(const Waiter&) = delete;
    ~Waiter();

    Outcome outcome() const noexcept { return outcome_; }

  protected:
    /// Suspends `caller` at the back of `queue` until woken, the deadline, or cancellation.
    /// Returns false, without suspending, when the caller's scope is already cancelled or
    /// the deadline has already passed.
    template <class Promise>
    bool suspend_in(WaitQueue& queue, std::coroutine_handle<Promise> caller,
                    std::optional<IOLoop::TimePoint> deadline) {
        return suspend(queue, caller, detail::scope_of(caller), deadline);
    }

    /// Leaves every list and registration; call first in await_resume. Returns the outcome.
    Outcome finish() noexcept;

    /// Throws what a failed `outcome` means for `operation` (e.g. "Queue::get"): a
    /// `TimeoutError` or an `OperationCancelled`.
    [[noreturn]] static void throw_failure(Outcome outcome, const char* operation);

  private:
    friend class WaitQueue;

    bool suspend(WaitQueue& queue, std::coroutine_handle<> caller, CancellationScope* scope,
                 std::optional<IOLoop::TimePoint> deadline);
    static void on_cancel(CancellationCallback& callback) noexcept;
    void on_deadline() noexcept;
    void resume_soon() noexcept;

    Revoke revoke_;
    WaitQueue* queue_ = nullptr;  // the queue whose list holds this waiter, if any
    Waiter* previous_ = nullptr;
    Waiter* next_ = nullptr;
    std::coroutine_handle<> coroutine_;
    IOLoop* loop_ = nullptr;
    TimerHandle timer_;
    Outcome outcome_ = Outcome::pending;
};

/// The waiters of one primitive, first come first served, and those woken but not yet
/// resumed (so that a late cancellation can pass their grant on).
class WaitQueue {
  public:
    WaitQueue() noexcept = default;
    WaitQueue(const WaitQueue&) = delete;
    WaitQueue& operator=(const WaitQueue&) = delete;
    /// Resumes the waiters still waiting with `OperationCancelled`.
    ~WaitQueue();

    /// True when no waiter is waiting.
    bool empty() const noexcept { return waiting_.head == nullptr; }
    /// The number of waiters waiting (not counting those already woken).
    std::size_t size() const noexcept { return waiting_.size; }
    /// The longest-waiting waiter; the queue must not be empty.
    Waiter& front() const noexcept { return *waiting_.head; }

    /// Grants the longest-waiting waiter: it resumes at the next loop iteration.
    void wake_front() noexcept;
    /// Grants every waiting waiter.
    void wake_all() noexcept;

  private:
    friend class Waiter;

    struct List {
        Waiter* head = nullptr;
        Waiter* tail = nullptr;
        std::size_t size = 0;
        void push_back(Waiter& waiter) noexcept;
        void remove(Waiter& waiter) noexcept;
    };

    List& list_of(const Waiter& waiter) noexcept;
    void unlink(Waiter& waiter) noexcept;

    List waiting_;
    List woken_;
};

}  // namespace detail

/// Holds one acquisition of a `Semaphore` or `Lock` and releases it when destroyed (or at
/// `release()`). Movable, not copyable. The object it came from must outlive it.
template <class Owner>
class [[nodiscard]] ReleaseGuard {
  public:
    ReleaseGuard() noexcept = default;
    explicit ReleaseGuard(Owner& owner) noexcept : owner_(&owner) {}
    ReleaseGuard(ReleaseGuard&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
    ReleaseGuard& operator=(ReleaseGuard&& other) noexcept {
        if (this != &other) {
            reset();
            owner_ = std::exchange(other.owner_, nullptr);
        }
        return *this;
    }
    ReleaseGuard(const ReleaseGuard&) = delete;
    ReleaseGuard& operator=(const ReleaseGuard&) = delete;
    ~ReleaseGuard() { reset(); }

    /// Releases now instead of at the end of the scope; does nothing the second time.
    void release() noexcept { reset(); }
    /// True while the guard still holds its acquisition.
    bool owns() const noexcept { return owner_ != nullptr; }

  private:
    void reset() noexcept {
        if (owner_ != nullptr) {
            std::exchange(owner_, nullptr)->release_from_guard();
        }
    }

    Owner* owner_ = nullptr;
};

/// Lets tasks wait until another task notifies them (Tornado's `Condition`; no lock is
/// involved). A notification reaches only the tasks waiting when it is made: it is not
/// remembered for later waiters (use `Event` for a state that stays).
class Condition {
  public:
    Condition() noexcept = default;
    Condition(const Condition&) = delete;
    Condition& operator=(const Condition&) = delete;

    /// Waits for a notification. Completes with true when notified (at the loop iteration
    /// after the notify), with false when the timeout passes first. Throws
    /// `OperationCancelled` when the waiting task is cancelled.
    Task<bool> wait();
    Task<bool> wait(IOLoop::Duration timeout);
    Task<bool> wait(IOLoop::TimePoint deadline);

    /// Wakes the `count` longest-waiting tasks (fewer if fewer are waiting).
    void notify(std::size_t count = 1) noexcept;
    /// Wakes every waiting task.
    void notify_all() noexcept;

    /// The number of tasks waiting.
    std::size_t waiter_count() const noexcept { return waiters_.size(); }

  private:
    struct Waiting;
    Task<bool> wait_until(std::optional<IOLoop::TimePoint> deadline);

    detail::WaitQueue waiters_;
};

namespace detail {
class QueueBase;
}

/// A flag tasks can wait for (Tornado's `Event`): false at first; `set()` makes it true and
/// wakes every waiter; `clear()` makes it false again.
class Event {
  public:
    Event() noexcept = default;
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;

    bool is_set() const noexcept { return set_; }
    /// Sets the flag and wakes every waiting task (at the next loop iteration).
    void set() noexcept;
    /// Clears the flag; tasks that were already woken still complete.
    void clear() noexcept { set_ = false; }

    /// Completes at once when the flag is set, otherwise when it is next set. Throws
    /// `TimeoutError` when the timeout passes first, `OperationCancelled` when the waiting
    /// task is cancelled.
    Task<void> wait();
    Task<void> wait(IOLoop::Duration timeout);
    Task<void> wait(IOLoop::TimePoint deadline);

    /// The number of tasks waiting.
    std::size_t waiter_count() const noexcept { return waiters_.size(); }

  private:
    friend class detail::QueueBase;
    struct Waiting;
    Task<void> wait_until(std::optional<IOLoop::TimePoint> deadline, const char* operation);

    detail::WaitQueue waiters_;
    bool set_ = false;
};

/// A counting semaphore (Tornado's `Semaphore`): `acquire()` takes one unit, waiting while
/// there is none; `release()` gives one back, to the longest-waiting task if any.
///
/// ```
/// auto guard = co_await semaphore.acquire();     // released when `guard` is destroyed
/// co_await semaphore.acquire_unguarded();        // or by hand:
/// semaphore.release();
/// ```
class Semaphore {
  public:
    using Guard = ReleaseGuard<Semaphore>;

    /// Throws `Error` when `value` is negative.
    explicit Semaphore(std::ptrdiff_t value = 1);
    Semaphore(const Semaphore&) = delete;
    Semaphore& operator=(const Semaphore&) = delete;

    /// Takes one unit and returns a guard that gives it back. Completes at once when a unit
    /// is free, otherwise when one is released to this task (at the next loop iteration).
    /// Throws `TimeoutError` when the timeout passes first (nothing is taken), and
    /// `OperationCancelled` when the waiting task is cancelled.
    Task<Guard> acquire();
    Task<Guard> acquire(IOLoop::Duration timeout);
    Task<Guard> acquire(IOLoop::TimePoint deadline);

    /// Like `acquire`, without a guard: the caller calls `release()`.
    Task<void> acquire_unguarded();
    Task<void> acquire_unguarded(IOLoop::Duration timeout);
    Task<void> acquire_unguarded(IOLoop::TimePoint deadline);

    /// Gives one unit back: to the longest-waiting task, or to the counter. A plain
    /// semaphore may be released more often than acquired (the counter grows); a
    /// `BoundedSemaphore` throws `Error` when the counter would exceed its initial value.
    void release();

    /// Units free now.
    std::size_t value() const noexcept { return value_; }
    /// The number of tasks waiting.
    std::size_t waiter_count() const noexcept { return waiters_.size(); }

  protected:
    Semaphore(std::ptrdiff_t value, bool bounded);

  private:
    friend class ReleaseGuard<Semaphore>;
    friend class Lock;
    struct Acquiring;

    Task<void> acquire_until(std::optional<IOLoop::TimePoint> deadline, const char* operation);
    Task<Guard> acquire_guarded_until(std::optional<IOLoop::TimePoint> deadline);
    bool at_bound() const noexcept;
    void give_unit() noexcept;
    void release_from_guard() noexcept;

    std::size_t value_;
    std::optional<std::size_t> bound_;
    detail::WaitQueue waiters_;
};

/// A semaphore that may not be released more often than it was acquired (Tornado's
/// `BoundedSemaphore`; Tornado raises ValueError where this throws `Error`).
class BoundedSemaphore : public Semaphore {
  public:
    /// Throws `Error` when `value` is negative.
    explicit BoundedSemaphore(std::ptrdiff_t value = 1) : Semaphore(value, true) {}
};

/// A mutual-exclusion lock for coroutines (Tornado's `Lock`): one holder at a time, the
/// others wait in arrival order. Not reentrant.
///
/// ```
/// auto held = co_await lock.acquire();  // released when `held` is destroyed
/// ```
class Lock {
  public:
    using Guard = ReleaseGuard<Lock>;

    Lock() = default;
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;

    /// Takes the lock and returns a guard that releases it. Completes at once when the lock
    /// is free, otherwise when it is handed to this task (at the next loop iteration).
    /// Throws `TimeoutError` when the timeout passes first, `OperationCancelled` when the
    /// waiting task is cancelled.
    Task<Guard> acquire();
    Task<Guard> acquire(IOLoop::Duration timeout);
    Task<Guard> acquire(IOLoop::TimePoint deadline);

    /// Like `acquire`, without a guard: the caller calls `release()`.
    Task<void> acquire_unguarded();
    Task<void> acquire_unguarded(IOLoop::Duration timeout);
    Task<void> acquire_unguarded(IOLoop::TimePoint deadline);

    /// Releases the lock, handing it to the longest-waiting task if any. Throws `Error`
    /// when the lock is not held (Tornado raises RuntimeError).
    void release();

    /// True while some task holds the lock (or it was handed to a task about to resume).
    bool locked() const noexcept { return semaphore_.value() == 0; }
    /// The number of tasks waiting.
    std::size_t waiter_count() const noexcept { return semaphore_.waiter_count(); }

  private:
    friend class ReleaseGuard<Lock>;
    Task<Guard> acquire_guarded_until(std::optional<IOLoop::TimePoint> deadline);
    void release_from_guard() noexcept;

    BoundedSemaphore semaphore_{1};
};

}  // namespace gale
