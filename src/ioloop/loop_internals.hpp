#pragma once
// The state behind IOLoop, shared with the library's I/O objects (streams, servers).

#include "ioloop/poller.hpp"
#include "ioloop/timer_queue.hpp"

#include <gale/ioloop/executor.hpp>
#include <gale/ioloop/ioloop.hpp>

#include <signal.h>

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace gale::detail {

/// A task started with `spawn`; listed so the loop can cancel what is left at shutdown.
struct RootNode {
    explicit RootNode(CancellationScope* parent = nullptr) noexcept : scope(parent) {}
    RootNode* previous = nullptr;
    RootNode* next = nullptr;
    CancellationScope scope;
};

/// Something with output to flush before the loop sleeps (write corking: all writes of one
/// iteration to a stream leave in one system call or submission).
class FlushTarget {
  public:
    virtual void flush_pending_output() noexcept = 0;

  protected:
    ~FlushTarget() = default;
};

class LoopInternals;

/// A raw fd handler (IOLoop::add_handler). It is its own poll operation, so after removal it
/// stays alive (in `retired_handlers`) until the poller delivers the final completion.
struct HandlerEntry : IoOperation {
    HandlerEntry(LoopInternals& loop_internals, IOLoop::Handler function, std::uint64_t id)
        : IoOperation(OperationKind::poll, &HandlerEntry::on_complete),
          internals(loop_internals),
          handler(std::move(function)),
          registration(id) {}

    static void on_complete(IoOperation& operation, int result, bool more);

    LoopInternals& internals;
    IOLoop::Handler handler;
    std::uint64_t registration;
};

/// Signals delivered through one signalfd, watched by a handler.
struct SignalState {
    int fd = -1;
    sigset_t blocked{};
    sigset_t previous_mask{};
    std::map<int, Callback> callbacks;
    ~SignalState();
};

class LoopInternals {
  public:
    LoopInternals(IOLoop& owner, std::unique_ptr<Poller> selected_poller);
    ~LoopInternals();

    IOLoop& loop;
    std::unique_ptr<Poller> poller;
    std::thread::id owner_thread;

    // Callbacks for the next iteration, and the ones other threads handed over.
    std::deque<Callback> ready;
    std::mutex incoming_mutex;
    std::vector<Callback> incoming;
    std::atomic<bool> has_incoming{false};

    TimerQueue timers;

    // Streams with output written this iteration, flushed before the loop waits.
    std::vector<FlushTarget*> flush_targets;
    std::vector<FlushTarget*> flushing;  // flush_all's, swapped with flush_targets: reused
    void request_flush(FlushTarget* target) { flush_targets.push_back(target); }
    void flush_all();

    // Spawned tasks still running.
    RootNode* roots = nullptr;
    void link_root(RootNode& node) noexcept;
    void unlink_root(RootNode& node) noexcept;

    // Raw fd handlers and signal handlers.
    std::unordered_map<int, std::unique_ptr<HandlerEntry>> handlers;
    // Removed handlers whose poll operation has not delivered its final completion yet.
    std::vector<std::unique_ptr<HandlerEntry>> retired_handlers;
    std::unique_ptr<SignalState> signals;

    // Graceful shutdown (shutdown.hpp): requested once, then the waiters resume.
    bool shutdown_requested = false;
    std::vector<std::coroutine_handle<>> shutdown_waiters;

    // The pool behind run_in_executor and the resolver; made on first use.
    std::unique_ptr<ThreadPool> executor;
    ThreadPool& default_executor();

    /// Queues a callback from the loop thread (no lock, no wake-up).
    void post(Callback callback) { ready.push_back(std::move(callback)); }
    /// Resumes `handle` at the next iteration.
    void post(std::coroutine_handle<> handle) {
        ready.push_back([handle] { handle.resume(); });
    }
    bool on_loop_thread() const noexcept { return std::this_thread::get_id() == owner_thread; }
    void take_incoming();
};

/// Access to the internals of the current thread's loop.
inline LoopInternals& current_internals() {
    return IOLoop::current().internals();
}

}  // namespace gale::detail
