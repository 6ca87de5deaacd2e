#include <gale/ioloop/log.hpp>
#include <gale/ioloop/shutdown.hpp>

#include "ioloop/loop_internals.hpp"

#include <signal.h>

#include <algorithm>
#include <mutex>
#include <thread>
#include <vector>

namespace gale {
namespace {

struct ShutdownAwaiter : CancellationCallback {
    detail::LoopInternals& internals = IOLoop::current().internals();
    std::coroutine_handle<> waiter;
    bool cancelled = false;

    bool await_ready() const noexcept { return internals.shutdown_requested; }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> caller) {
        if (!attach(detail::scope_of(caller), &ShutdownAwaiter::on_cancel)) {
            cancelled = true;
            return false;
        }
        waiter = caller;
        internals.shutdown_waiters.push_back(caller);
        return true;
    }

    static void on_cancel(CancellationCallback& callback) noexcept {
        auto& self = static_cast<ShutdownAwaiter&>(callback);
        std::erase(self.internals.shutdown_waiters, self.waiter);
        self.cancelled = true;
        self.internals.post(self.waiter);
    }

    void await_resume() {
        detach();
        if (cancelled) {
            throw OperationCancelled();
        }
    }
};

// Runs on the loop's thread; idempotent.
void begin_shutdown(detail::LoopInternals& internals) {
    if (internals.shutdown_requested) {
        return;
    }
    internals.shutdown_requested = true;
    for (std::coroutine_handle<> waiter : std::exchange(internals.shutdown_waiters, {})) {
        internals.post(waiter);
    }
}

}  // namespace

Task<void> wait_for_shutdown() {
    co_await ShutdownAwaiter();
}

void request_shutdown(IOLoop& loop) {
    loop.add_callback([&loop] { begin_shutdown(loop.internals()); });
}

void run_until_shutdown(unsigned threads, std::function<Task<void>(unsigned index)> serve) {
    threads = std::max(threads, 1u);
    std::mutex mutex;
    std::vector<IOLoop*> worker_loops;  // the workers' loops while they run (not owned)
    bool shutting_down = false;
    bool signalled = false;
    std::exception_ptr first_error;
    auto record = [&](std::exception_ptr error) {
        std::lock_guard lock(mutex);
        if (!first_error) {
            first_error = std::move(error);
        }
    };

    // The main loop takes the signals (blocked by add_signal_handler before any worker
    // starts, so the workers inherit the block).
    IOLoop main_loop;
    main_loop.make_current();
    auto on_signal = [&] {
        std::lock_guard lock(mutex);
        if (signalled) {
            log::warning("second signal: stopping without waiting for connections");
            main_loop.stop();
            for (IOLoop* loop : worker_loops) {
                loop->stop();
            }
            return;
        }
        signalled = true;
        shutting_down = true;
        log::info("shutting down (a second signal stops at once)");
        begin_shutdown(main_loop.internals());
        for (IOLoop* loop : worker_loops) {
            request_shutdown(*loop);
        }
    };
    main_loop.add_signal_handler(SIGINT, on_signal);
    main_loop.add_signal_handler(SIGTERM, on_signal);

    std::vector<std::thread> workers;
    for (unsigned index = 1; index < threads; ++index) {
        workers.emplace_back([&, index] {
            try {
                IOLoop loop(IOLoopOptions{.log_backend = false});
                {
                    std::lock_guard lock(mutex);
                    worker_loops.push_back(&loop);
                    if (shutting_down) {
                        request_shutdown(loop);
                    }
                }
                try {
                    loop.run_sync(serve(index));
                } catch (...) {
                    record(std::current_exception());
                }
                std::lock_guard lock(mutex);
                std::erase(worker_loops, &loop);
            } catch (...) {
                record(std::current_exception());
            }
        });
    }
    try {
        main_loop.run_sync(serve(0));
    } catch (...) {
        record(std::current_exception());
    }
    {
        // The main serve ended (or failed): the workers follow.
        std::lock_guard lock(mutex);
        shutting_down = true;
        for (IOLoop* loop : worker_loops) {
            request_shutdown(*loop);
        }
    }
    for (std::thread& worker : workers) {
        worker.join();
    }
    if (first_error) {
        std::rethrow_exception(first_error);
    }
}

}  // namespace gale
