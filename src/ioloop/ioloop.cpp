#include <gale/ioloop/executor.hpp>
#include <gale/ioloop/ioloop.hpp>
#include <gale/ioloop/log.hpp>

#include "ioloop/detached_task.hpp"
#include "ioloop/loop_internals.hpp"

#include <cstdlib>
#include <string>

namespace gale {
namespace {

thread_local IOLoop* current_loop = nullptr;
// The loop `IOLoop::current()` made for a thread that had none; destroyed with the thread.
thread_local std::unique_ptr<IOLoop> implicit_loop;

IOBackend backend_from_environment(IOBackend requested) {
    if (requested != IOBackend::automatic) {
        return requested;
    }
    const char* value = std::getenv("GALE_IO_BACKEND");
    if (value == nullptr || *value == '\0') {
        return IOBackend::automatic;
    }
    std::string_view name(value);
    if (name == "io_uring" || name == "uring") {
        return IOBackend::io_uring;
    }
    if (name == "epoll") {
        return IOBackend::epoll;
    }
    throw Error("GALE_IO_BACKEND must be 'io_uring' or 'epoll', not '" + std::string(name) + "'");
}

std::unique_ptr<detail::Poller> select_poller(const IOLoopOptions& options) {
    detail::PollerOptions poller_options{options.ring_entries, options.receive_buffer_count,
                                         options.receive_buffer_size};
    IOBackend wanted = backend_from_environment(options.backend);
    std::unique_ptr<detail::Poller> poller;
    if (wanted != IOBackend::epoll) {
        std::string why;
        poller = detail::make_uring_poller(poller_options, why);
        if (!poller) {
            if (wanted == IOBackend::io_uring) {
                throw Error("io_uring backend requested but unavailable: " + why);
            }
            log::info("io_uring unavailable ({}); using epoll", why);
        }
    }
    if (!poller) {
        poller = detail::make_epoll_poller(poller_options);
    }
    if (options.log_backend) {
        log::info("IOLoop backend: {}", to_string(poller->backend()));
    }
    return poller;
}

}  // namespace

std::string_view to_string(IOBackend backend) noexcept {
    switch (backend) {
        case IOBackend::io_uring:
            return "io_uring";
        case IOBackend::epoll:
            return "epoll";
        case IOBackend::automatic:
            break;
    }
    return "automatic";
}

// ----------------------------------------------------------------------------------------
// LoopInternals

namespace detail {

LoopInternals::LoopInternals(IOLoop& owner, std::unique_ptr<Poller> selected_poller)
    : loop(owner), poller(std::move(selected_poller)), owner_thread(std::this_thread::get_id()) {}

LoopInternals::~LoopInternals() = default;

void LoopInternals::take_incoming() {
    std::vector<Callback> taken;
    {
        std::lock_guard lock(incoming_mutex);
        taken.swap(incoming);
        has_incoming.store(false, std::memory_order_relaxed);
    }
    for (Callback& callback : taken) {
        ready.push_back(std::move(callback));
    }
}

void LoopInternals::flush_all() {
    // A flush may complete synchronously and queue more output; loop until quiet.
    // The two vectors trade places and keep their capacity: no allocation per iteration.
    while (!flush_targets.empty()) {
        flushing.swap(flush_targets);
        for (FlushTarget* target : flushing) {
            target->flush_pending_output();
        }
        flushing.clear();
    }
}

void LoopInternals::link_root(RootNode& node) noexcept {
    node.previous = nullptr;
    node.next = roots;
    if (roots != nullptr) {
        roots->previous = &node;
    }
    roots = &node;
}

void LoopInternals::unlink_root(RootNode& node) noexcept {
    if (node.previous != nullptr) {
        node.previous->next = node.next;
    } else if (roots == &node) {
        roots = node.next;
    }
    if (node.next != nullptr) {
        node.next->previous = node.previous;
    }
    node.previous = node.next = nullptr;
}

ThreadPool& LoopInternals::default_executor() {
    if (!executor) {
        executor = std::make_unique<ThreadPool>(ThreadPool::default_thread_count());
    }
    return *executor;
}

}  // namespace detail

// ----------------------------------------------------------------------------------------
// IOLoop

IOLoop::IOLoop(IOLoopOptions options)
    : internals_(std::make_unique<detail::LoopInternals>(*this, select_poller(options))),
      now_(Clock::now()) {
    if (current_loop == nullptr) {
        current_loop = this;
    }
}

IOLoop::~IOLoop() {
    while (!internals_->handlers.empty()) {
        remove_handler(internals_->handlers.begin()->first);
    }
    cancel_roots_and_drain();
    internals_->signals.reset();
    internals_->executor.reset();  // joins the worker threads
    if (current_loop == this) {
        current_loop = nullptr;
    }
}

IOLoop& IOLoop::current() {
    if (current_loop == nullptr) {
        implicit_loop = std::make_unique<IOLoop>();
        current_loop = implicit_loop.get();
    }
    return *current_loop;
}

IOLoop* IOLoop::current_or_null() noexcept {
    return current_loop;
}

void IOLoop::make_current() noexcept {
    current_loop = this;
}

IOBackend IOLoop::backend() const noexcept {
    return internals_->poller->backend();
}

void IOLoop::run() {
    if (running_) {
        throw Error("IOLoop::run: the loop is already running");
    }
    IOLoop* previous = current_loop;
    current_loop = this;
    internals_->owner_thread = std::this_thread::get_id();
    running_ = true;
    stopping_ = false;
    detail::LoopInternals& state = *internals_;
    while (!stopping_) {
        now_ = Clock::now();
        run_ready_callbacks();
        state.flush_all();
        if (stopping_) {
            break;
        }
        std::optional<Duration> timeout;
        if (!state.ready.empty() || state.has_incoming.load(std::memory_order_relaxed)) {
            timeout = Duration::zero();
        } else {
            timeout = time_to_next_timer();
        }
        state.poller->wait(timeout);
        now_ = Clock::now();
        run_due_timers();
    }
    running_ = false;
    current_loop = previous != nullptr ? previous : this;
}

void IOLoop::stop() {
    if (internals_->on_loop_thread()) {
        stopping_ = true;
        return;
    }
    add_callback([this] { stopping_ = true; });
}

void IOLoop::run_ready_callbacks() {
    detail::LoopInternals& state = *internals_;
    if (state.has_incoming.load(std::memory_order_relaxed)) {
        state.take_incoming();
    }
    // Only what was queued before this point runs now; callbacks queued by these run next
    // iteration, so a callback that re-queues itself cannot starve I/O.
    std::size_t count = state.ready.size();
    for (std::size_t i = 0; i < count && !state.ready.empty(); ++i) {
        Callback callback = std::move(state.ready.front());
        state.ready.pop_front();
        try {
            callback();
        } catch (const std::exception& error) {
            log::error("exception in callback: {}", error.what());
        } catch (...) {
            log::error("unknown exception in callback");
        }
    }
}

void IOLoop::run_due_timers() {
    try {
        internals_->timers.run_due(now_);
    } catch (const std::exception& error) {
        log::error("exception in timer callback: {}", error.what());
    } catch (...) {
        log::error("unknown exception in timer callback");
    }
}

std::optional<IOLoop::Duration> IOLoop::time_to_next_timer() const noexcept {
    auto deadline = internals_->timers.next_deadline();
    if (!deadline) {
        return std::nullopt;
    }
    auto remaining = *deadline - Clock::now();
    return remaining > Duration::zero() ? remaining : Duration::zero();
}

void IOLoop::add_callback(Callback callback) {
    detail::LoopInternals& state = *internals_;
    if (state.on_loop_thread()) {
        state.ready.push_back(std::move(callback));
        return;
    }
    bool needs_wake;
    {
        std::lock_guard lock(state.incoming_mutex);
        state.incoming.push_back(std::move(callback));
        needs_wake = !state.has_incoming.exchange(true, std::memory_order_relaxed);
    }
    if (needs_wake) {
        state.poller->wake();
    }
}

TimerHandle IOLoop::call_later(Duration delay, Callback callback) {
    return call_at(Clock::now() + delay, std::move(callback));
}

TimerHandle IOLoop::call_at(TimePoint when, Callback callback) {
    auto id = internals_->timers.add(when, std::move(callback));
    return TimerHandle(this, id.slot, id.generation);
}

bool TimerHandle::cancel() noexcept {
    if (loop_ == nullptr) {
        return false;
    }
    bool was_pending = loop_->internals_->timers.cancel({slot_, generation_});
    loop_ = nullptr;
    return was_pending;
}

bool TimerHandle::pending() const noexcept {
    return loop_ != nullptr && loop_->internals_->timers.pending({slot_, generation_});
}

void IOLoop::cancel_roots_and_drain() {
    detail::LoopInternals& state = *internals_;
    auto deadline = Clock::now() + std::chrono::seconds(5);
    bool was_running = running_;
    running_ = true;
    // Operations still in flight are mostly cancellations of closed streams and servers:
    // let them complete so their owners are released.
    auto busy = [&] {
        return state.roots != nullptr || !state.ready.empty() || !state.retired_handlers.empty() ||
               state.poller->in_flight() > 0;
    };
    while (busy() && Clock::now() < deadline) {
        for (detail::RootNode* node = state.roots; node != nullptr; node = node->next) {
            node->scope.cancel();
        }
        now_ = Clock::now();
        run_ready_callbacks();
        state.flush_all();
        if (!busy()) {
            break;
        }
        state.poller->wait(state.ready.empty()
                               ? std::optional<Duration>(std::chrono::milliseconds(10))
                               : std::optional<Duration>(Duration::zero()));
        now_ = Clock::now();
        run_due_timers();
    }
    running_ = was_running;
    if (state.roots != nullptr) {
        log::error("IOLoop destroyed with spawned tasks that ignore cancellation");
    }
}

// ----------------------------------------------------------------------------------------
// spawn, run_sync support, sleep

namespace detail {
namespace {

DetachedTask run_detached(Task<void> task, LoopInternals* internals) {
    RootRegistration registration(*internals, nullptr);
    try {
        co_await with_scope(std::move(task), registration.node.scope);
    } catch (const OperationCancelled&) {
        // Cancelled tasks end quietly.
    } catch (const std::exception& error) {
        log::error("unhandled exception in spawned task: {}", error.what());
    } catch (...) {
        log::error("unhandled non-standard exception in spawned task");
    }
}

}  // namespace

Task<void> run_root(Task<void> task, RootState& state) {
    struct MarkFinished {
        RootState& state;
        ~MarkFinished() {
            state.finished = true;
            if (state.loop != nullptr) {
                state.loop->stop();
            }
        }
    } mark{state};
    co_await with_scope(std::move(task), state.scope);
}

RunOutcome run_until(IOLoop& loop, RootState& state, std::optional<IOLoop::Duration> timeout) {
    state.loop = &loop;
    RunOutcome outcome = RunOutcome::finished;
    TimerHandle watchdog;
    if (timeout) {
        watchdog = loop.call_later(*timeout, [&] {
            outcome = RunOutcome::timed_out;
            state.scope.cancel();
        });
    }
    loop.run();  // the root stops the loop when it ends
    watchdog.cancel();
    if (!state.finished) {
        // Someone else stopped the loop: unwind the root before returning.
        if (outcome == RunOutcome::finished) {
            outcome = RunOutcome::stopped;
        }
        state.scope.cancel();
        while (!state.finished) {
            loop.run();
        }
    }
    return outcome;
}

}  // namespace detail

void spawn(Task<void> task) {
    detail::LoopInternals& internals = IOLoop::current().internals();
    detail::run_detached(std::move(task), &internals).start_soon(internals);
}

namespace {

struct SleepAwaiter : CancellationCallback {
    IOLoop& loop = IOLoop::current();
    IOLoop::TimePoint deadline;
    TimerHandle timer;
    std::coroutine_handle<> waiter;
    bool cancelled = false;

    explicit SleepAwaiter(IOLoop::TimePoint when) : deadline(when) {}

    bool await_ready() const noexcept { return false; }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> caller) {
        if (!attach(detail::scope_of(caller), &SleepAwaiter::on_cancel)) {
            cancelled = true;
            return false;
        }
        waiter = caller;
        timer = loop.call_at(deadline, [this] {
            detach();
            waiter.resume();
        });
        return true;
    }

    static void on_cancel(CancellationCallback& callback) noexcept {
        auto& self = static_cast<SleepAwaiter&>(callback);
        if (self.timer.cancel()) {
            self.cancelled = true;
            self.loop.internals().post(self.waiter);
        }
    }

    void await_resume() const {
        if (cancelled) {
            throw OperationCancelled();
        }
    }
};

}  // namespace

Task<void> sleep_until(IOLoop::TimePoint deadline) {
    co_await SleepAwaiter(deadline);
}

Task<void> sleep(IOLoop::Duration delay) {
    co_await SleepAwaiter(IOLoop::Clock::now() + delay);
}

}  // namespace gale
