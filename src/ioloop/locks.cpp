#include <gale/ioloop/locks.hpp>
#include <gale/ioloop/log.hpp>

#include "ioloop/loop_internals.hpp"

#include <string>

namespace gale {
namespace detail {

// ----------------------------------------------------------------------------------------
// Waiter: one suspended wait. Its state moves pending -> woken | timed_out | cancelled |
// abandoned; while pending it is in its queue's waiting list, while woken (and not resumed)
// in the woken list, otherwise in no list.

Waiter::~Waiter() {
    // Only reached while listed if the frame is destroyed without resuming; stay safe.
    if (queue_ != nullptr) {
        queue_->unlink(*this);
    }
    timer_.cancel();
}

bool Waiter::suspend(WaitQueue& queue, std::coroutine_handle<> caller, CancellationScope* scope,
                     std::optional<IOLoop::TimePoint> deadline) {
    if (!attach(scope, &Waiter::on_cancel)) {
        outcome_ = Outcome::cancelled;
        return false;
    }
    if (deadline && *deadline <= IOLoop::Clock::now()) {
        detach();
        outcome_ = Outcome::timed_out;
        return false;
    }
    coroutine_ = caller;
    loop_ = &IOLoop::current();
    if (deadline) {
        timer_ = loop_->call_at(*deadline, [this] { on_deadline(); });
    }
    outcome_ = Outcome::pending;
    queue.waiting_.push_back(*this);
    queue_ = &queue;
    return true;
}

Waiter::Outcome Waiter::finish() noexcept {
    detach();
    if (queue_ != nullptr) {
        queue_->unlink(*this);
        queue_ = nullptr;
    }
    timer_.cancel();
    return outcome_;
}

void Waiter::throw_failure(Outcome outcome, const char* operation) {
    switch (outcome) {
        case Outcome::timed_out:
            throw TimeoutError(std::string(operation) + " timed out");
        case Outcome::abandoned:
            throw OperationCancelled(std::string(operation) +
                                     ": the object waited on was destroyed");
        case Outcome::cancelled:
        case Outcome::pending:
        case Outcome::woken:
            break;
    }
    throw OperationCancelled();
}

// The deadline passed while still waiting (a grant cancels the timer). Timers run from the
// loop, so the waiter resumes here.
void Waiter::on_deadline() noexcept {
    timer_ = TimerHandle();
    queue_->unlink(*this);
    queue_ = nullptr;
    detach();
    outcome_ = Outcome::timed_out;
    coroutine_.resume();
}

void Waiter::on_cancel(CancellationCallback& callback) noexcept {
    auto& self = static_cast<Waiter&>(callback);
    switch (self.outcome_) {
        case Outcome::pending:
            self.queue_->unlink(self);
            self.queue_ = nullptr;
            self.timer_.cancel();
            self.outcome_ = Outcome::cancelled;
            self.resume_soon();
            break;
        case Outcome::woken:
            // Granted but not resumed yet: its resumption is already queued. Pass the grant
            // on unless the object is gone (then the grant stands).
            if (self.queue_ != nullptr && self.revoke_(self)) {
                self.queue_->unlink(self);
                self.queue_ = nullptr;
                self.outcome_ = Outcome::cancelled;
            }
            break;
        case Outcome::timed_out:
        case Outcome::cancelled:
        case Outcome::abandoned:
            break;
    }
}

void Waiter::resume_soon() noexcept {
    loop_->internals().post(coroutine_);
}

// ----------------------------------------------------------------------------------------
// WaitQueue

void WaitQueue::List::push_back(Waiter& waiter) noexcept {
    waiter.previous_ = tail;
    waiter.next_ = nullptr;
    if (tail != nullptr) {
        tail->next_ = &waiter;
    } else {
        head = &waiter;
    }
    tail = &waiter;
    ++size;
}

void WaitQueue::List::remove(Waiter& waiter) noexcept {
    if (waiter.previous_ != nullptr) {
        waiter.previous_->next_ = waiter.next_;
    } else {
        head = waiter.next_;
    }
    if (waiter.next_ != nullptr) {
        waiter.next_->previous_ = waiter.previous_;
    } else {
        tail = waiter.previous_;
    }
    waiter.previous_ = waiter.next_ = nullptr;
    --size;
}

WaitQueue::List& WaitQueue::list_of(const Waiter& waiter) noexcept {
    return waiter.outcome_ == Waiter::Outcome::pending ? waiting_ : woken_;
}

void WaitQueue::unlink(Waiter& waiter) noexcept {
    list_of(waiter).remove(waiter);
}

WaitQueue::~WaitQueue() {
    while (waiting_.head != nullptr) {
        Waiter& waiter = *waiting_.head;
        waiting_.remove(waiter);
        waiter.queue_ = nullptr;
        waiter.timer_.cancel();
        waiter.outcome_ = Waiter::Outcome::abandoned;
        waiter.resume_soon();
    }
    // Woken waiters keep their grant; they no longer refer to this queue.
    while (woken_.head != nullptr) {
        Waiter& waiter = *woken_.head;
        woken_.remove(waiter);
        waiter.queue_ = nullptr;
    }
}

void WaitQueue::wake_front() noexcept {
    Waiter& waiter = *waiting_.head;
    waiting_.remove(waiter);
    waiter.timer_.cancel();
    waiter.outcome_ = Waiter::Outcome::woken;
    woken_.push_back(waiter);
    waiter.resume_soon();
}

void WaitQueue::wake_all() noexcept {
    while (!empty()) {
        wake_front();
    }
}

}  // namespace detail

// ----------------------------------------------------------------------------------------
// Condition

struct Condition::Waiting final : detail::Waiter {
    Waiting(Condition& owner, std::optional<IOLoop::TimePoint> until) noexcept
        : Waiter(&Waiting::revoke), condition(owner), deadline(until) {}

    bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> caller) {
        return suspend_in(condition.waiters_, caller, deadline);
    }
    bool await_resume() {
        Outcome result = finish();
        if (result == Outcome::woken) {
            return true;
        }
        if (result == Outcome::timed_out) {
            return false;
        }
        throw_failure(result, "Condition::wait");
    }

    // The notification this waiter received goes to the next waiter.
    static bool revoke(Waiter& waiter) noexcept {
        static_cast<Waiting&>(waiter).condition.notify(1);
        return true;
    }

    Condition& condition;
    std::optional<IOLoop::TimePoint> deadline;
};

Task<bool> Condition::wait_until(std::optional<IOLoop::TimePoint> deadline) {
    Waiting waiting(*this, deadline);
    co_return co_await waiting;
}

Task<bool> Condition::wait() {
    return wait_until(std::nullopt);
}

Task<bool> Condition::wait(IOLoop::Duration timeout) {
    return wait_until(IOLoop::Clock::now() + timeout);
}

Task<bool> Condition::wait(IOLoop::TimePoint deadline) {
    return wait_until(deadline);
}

void Condition::notify(std::size_t count) noexcept {
    for (; count > 0 && !waiters_.empty(); --count) {
        waiters_.wake_front();
    }
}

void Condition::notify_all() noexcept {
    waiters_.wake_all();
}

// ----------------------------------------------------------------------------------------
// Event

struct Event::Waiting final : detail::Waiter {
    Waiting(Event& owner, std::optional<IOLoop::TimePoint> until, const char* name) noexcept
        : Waiter(&Waiting::revoke), event(owner), deadline(until), operation(name) {}

    bool await_ready() const noexcept { return event.set_; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> caller) {
        return suspend_in(event.waiters_, caller, deadline);
    }
    void await_resume() {
        Outcome result = finish();
        if (result != Outcome::woken && result != Outcome::pending) {
            throw_failure(result, operation);
        }
    }

    // Nothing to pass on: every waiter was woken.
    static bool revoke(Waiter&) noexcept { return true; }

    Event& event;
    std::optional<IOLoop::TimePoint> deadline;
    const char* operation;
};

void Event::set() noexcept {
    set_ = true;
    waiters_.wake_all();
}

Task<void> Event::wait_until(std::optional<IOLoop::TimePoint> deadline, const char* operation) {
    Waiting waiting(*this, deadline, operation);
    co_await waiting;
}

Task<void> Event::wait() {
    return wait_until(std::nullopt, "Event::wait");
}

Task<void> Event::wait(IOLoop::Duration timeout) {
    return wait_until(IOLoop::Clock::now() + timeout, "Event::wait");
}

Task<void> Event::wait(IOLoop::TimePoint deadline) {
    return wait_until(deadline, "Event::wait");
}

// ----------------------------------------------------------------------------------------
// Semaphore

namespace {

std::size_t checked_initial_value(std::ptrdiff_t value, const char* type) {
    if (value < 0) {
        throw Error(std::string(type) + ": the initial value must not be negative, got " +
                    std::to_string(value));
    }
    return static_cast<std::size_t>(value);
}

}  // namespace

struct Semaphore::Acquiring final : detail::Waiter {
    Acquiring(Semaphore& owner, std::optional<IOLoop::TimePoint> until, const char* name) noexcept
        : Waiter(&Acquiring::revoke), semaphore(owner), deadline(until), operation(name) {}

    // A free unit is only taken when nobody waits (release hands units to waiters directly).
    bool await_ready() noexcept {
        if (semaphore.value_ > 0) {
            --semaphore.value_;
            return true;
        }
        return false;
    }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> caller) {
        return suspend_in(semaphore.waiters_, caller, deadline);
    }
    void await_resume() {
        Outcome result = finish();
        if (result != Outcome::woken && result != Outcome::pending) {
            throw_failure(result, operation);
        }
    }

    // The unit handed to this waiter goes to the next waiter, or back to the counter.
    static bool revoke(Waiter& waiter) noexcept {
        static_cast<Acquiring&>(waiter).semaphore.give_unit();
        return true;
    }

    Semaphore& semaphore;
    std::optional<IOLoop::TimePoint> deadline;
    const char* operation;
};

Semaphore::Semaphore(std::ptrdiff_t value) : value_(checked_initial_value(value, "Semaphore")) {}

Semaphore::Semaphore(std::ptrdiff_t value, bool bounded)
    : value_(checked_initial_value(value, bounded ? "BoundedSemaphore" : "Semaphore")) {
    if (bounded) {
        bound_ = value_;
    }
}

Task<void> Semaphore::acquire_until(std::optional<IOLoop::TimePoint> deadline,
                                    const char* operation) {
    Acquiring acquiring(*this, deadline, operation);
    co_await acquiring;
}

Task<Semaphore::Guard> Semaphore::acquire_guarded_until(std::optional<IOLoop::TimePoint> deadline) {
    Acquiring acquiring(*this, deadline, "Semaphore::acquire");
    co_await acquiring;
    co_return Guard(*this);
}

Task<Semaphore::Guard> Semaphore::acquire() {
    return acquire_guarded_until(std::nullopt);
}

Task<Semaphore::Guard> Semaphore::acquire(IOLoop::Duration timeout) {
    return acquire_guarded_until(IOLoop::Clock::now() + timeout);
}

Task<Semaphore::Guard> Semaphore::acquire(IOLoop::TimePoint deadline) {
    return acquire_guarded_until(deadline);
}

Task<void> Semaphore::acquire_unguarded() {
    return acquire_until(std::nullopt, "Semaphore::acquire");
}

Task<void> Semaphore::acquire_unguarded(IOLoop::Duration timeout) {
    return acquire_until(IOLoop::Clock::now() + timeout, "Semaphore::acquire");
}

Task<void> Semaphore::acquire_unguarded(IOLoop::TimePoint deadline) {
    return acquire_until(deadline, "Semaphore::acquire");
}

bool Semaphore::at_bound() const noexcept {
    return bound_ && value_ >= *bound_;
}

void Semaphore::give_unit() noexcept {
    if (!waiters_.empty()) {
        waiters_.wake_front();  // the unit passes straight to the waiter: no barging
    } else {
        ++value_;
    }
}

void Semaphore::release() {
    if (at_bound()) {
        throw Error("BoundedSemaphore::release: released more often than acquired (initial value " +
                    std::to_string(*bound_) + ")");
    }
    give_unit();
}

void Semaphore::release_from_guard() noexcept {
    if (at_bound()) {
        // The unit was already given back by hand; a destructor must not throw.
        log::error("BoundedSemaphore: a guard released a semaphore already at its initial value {}",
                   *bound_);
        return;
    }
    give_unit();
}

// ----------------------------------------------------------------------------------------
// Lock

Task<Lock::Guard> Lock::acquire_guarded_until(std::optional<IOLoop::TimePoint> deadline) {
    Semaphore::Acquiring acquiring(semaphore_, deadline, "Lock::acquire");
    co_await acquiring;
    co_return Guard(*this);
}

Task<Lock::Guard> Lock::acquire() {
    return acquire_guarded_until(std::nullopt);
}

Task<Lock::Guard> Lock::acquire(IOLoop::Duration timeout) {
    return acquire_guarded_until(IOLoop::Clock::now() + timeout);
}

Task<Lock::Guard> Lock::acquire(IOLoop::TimePoint deadline) {
    return acquire_guarded_until(deadline);
}

Task<void> Lock::acquire_unguarded() {
    return semaphore_.acquire_until(std::nullopt, "Lock::acquire");
}

Task<void> Lock::acquire_unguarded(IOLoop::Duration timeout) {
    return semaphore_.acquire_until(IOLoop::Clock::now() + timeout, "Lock::acquire");
}

Task<void> Lock::acquire_unguarded(IOLoop::TimePoint deadline) {
    return semaphore_.acquire_until(deadline, "Lock::acquire");
}

void Lock::release() {
    if (!locked()) {
        throw Error("Lock::release: the lock is not locked");
    }
    semaphore_.give_unit();
}

void Lock::release_from_guard() noexcept {
    if (!locked()) {
        log::error("Lock: a guard released a lock that was already released by hand");
        return;
    }
    semaphore_.give_unit();
}

}  // namespace gale
