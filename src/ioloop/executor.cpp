#include <gale/ioloop/executor.hpp>
#include <gale/ioloop/log.hpp>

#include "ioloop/loop_internals.hpp"

#include <signal.h>

#include <algorithm>

namespace gale {

ThreadPool::ThreadPool(unsigned thread_count) {
    // Workers never take signals: they belong to the loop's signalfd or the default action.
    sigset_t all;
    sigset_t previous;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    workers_.reserve(thread_count);
    for (unsigned i = 0; i < std::max(thread_count, 1u); ++i) {
        workers_.emplace_back([this] { work_loop(); });
    }
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    available_.notify_all();
    for (std::thread& worker : workers_) {
        worker.join();
    }
}

void ThreadPool::submit(Callback work) {
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(work));
    }
    available_.notify_one();
}

unsigned ThreadPool::default_thread_count() noexcept {
    return std::max(4u, 2 * std::thread::hardware_concurrency());
}

void ThreadPool::work_loop() {
    while (true) {
        Callback work;
        {
            std::unique_lock lock(mutex_);
            available_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) {
                return;  // stopping, and nothing left to run
            }
            work = std::move(queue_.front());
            queue_.pop_front();
        }
        try {
            work();
        } catch (const std::exception& error) {
            log::error("exception in thread pool work: {}", error.what());
        } catch (...) {
            log::error("unknown exception in thread pool work");
        }
    }
}

ThreadPool& default_executor() {
    return IOLoop::current().internals().default_executor();
}

}  // namespace gale
