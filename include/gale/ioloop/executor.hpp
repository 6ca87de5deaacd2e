#pragma once
/// Running blocking work (file I/O, DNS, hashing) on a thread pool without blocking the loop.
///
/// ```
/// std::string text = co_await gale::run_in_executor([] { return read_whole_file("a.txt"); });
/// ```
///
/// The function runs on a pool thread; the awaiting coroutine resumes on its own loop with the
/// result or the exception. Cancelling the awaiting task resumes it at once with
/// `OperationCancelled`; the function itself cannot be interrupted and its result is dropped.

#include <gale/ioloop/ioloop.hpp>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

namespace gale {

/// A fixed set of worker threads taking callbacks from one queue.
class ThreadPool {
  public:
    explicit ThreadPool(unsigned thread_count);
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;
    /// Runs what is already queued, then joins the workers.
    ~ThreadPool();

    /// Queues `work` for a worker. Thread-safe.
    void submit(Callback work);

    std::size_t thread_count() const noexcept { return workers_.size(); }

    /// Twice the number of cores, at least 4: the pool mostly waits on blocking calls.
    static unsigned default_thread_count() noexcept;

  private:
    void work_loop();

    std::mutex mutex_;
    std::condition_variable available_;
    std::deque<Callback> queue_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

/// The pool behind `run_in_executor` without a pool argument: the current loop's, made on
/// first use and joined when the loop is destroyed.
ThreadPool& default_executor();

namespace detail {

template <class R>
struct ExecutorState {
    std::optional<std::conditional_t<std::is_void_v<R>, bool, R>> value;
    std::exception_ptr error;
    std::coroutine_handle<> waiter;
    bool abandoned = false;  // touched on the loop thread only
};

template <class R, class F>
struct ExecutorAwaiter : CancellationCallback {
    // A constructor, not aggregate initialisation: GCC 12 mishandles aggregate temporaries
    // with non-trivial members inside co_await expressions (docs/pitfalls.md).
    ExecutorAwaiter(ThreadPool& executor, F work)
        : state(std::make_shared<ExecutorState<R>>()), pool(&executor), function(std::move(work)) {}

    std::shared_ptr<ExecutorState<R>> state;
    ThreadPool* pool;
    F function;
    IOLoop* loop = &IOLoop::current();
    bool cancelled = false;

    bool await_ready() const noexcept { return false; }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> caller) {
        if (!attach(detail::scope_of(caller), &ExecutorAwaiter::on_cancel)) {
            cancelled = true;
            return false;
        }
        state->waiter = caller;
        pool->submit([shared = state, work = std::move(function), target = loop]() mutable {
            try {
                if constexpr (std::is_void_v<R>) {
                    work();
                    shared->value = true;
                } else {
                    shared->value.emplace(work());
                }
            } catch (...) {
                shared->error = std::current_exception();
            }
            target->add_callback([shared] {
                if (!shared->abandoned) {
                    shared->waiter.resume();
                }
            });
        });
        return true;
    }

    static void on_cancel(CancellationCallback& callback) noexcept {
        auto& self = static_cast<ExecutorAwaiter&>(callback);
        self.state->abandoned = true;
        self.cancelled = true;
        self.loop->add_callback([waiter = self.state->waiter] { waiter.resume(); });
    }

    R await_resume() {
        detach();
        if (cancelled) {
            throw OperationCancelled();
        }
        if (state->error) {
            std::rethrow_exception(state->error);
        }
        if constexpr (!std::is_void_v<R>) {
            return std::move(*state->value);
        }
    }
};

}  // namespace detail

/// Runs `function()` on `pool` and resumes with its result on the calling loop.
template <class F>
Task<std::invoke_result_t<F&>> run_in_executor(ThreadPool& pool, F function) {
    using R = std::invoke_result_t<F&>;
    co_return co_await detail::ExecutorAwaiter<R, F>(pool, std::move(function));
}

/// Runs `function()` on the current loop's default pool.
template <class F>
Task<std::invoke_result_t<F&>> run_in_executor(F function) {
    return run_in_executor(default_executor(), std::move(function));
}

}  // namespace gale
