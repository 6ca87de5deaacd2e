#include <gale/ioloop/queues.hpp>

#include <string>

namespace gale::detail {

namespace {

std::size_t checked_maxsize(std::ptrdiff_t maxsize) {
    if (maxsize < 0) {
        throw Error("Queue: maxsize must not be negative, got " + std::to_string(maxsize));
    }
    return static_cast<std::size_t>(maxsize);
}

}  // namespace

QueueBase::QueueBase(std::ptrdiff_t maxsize) : maxsize_(checked_maxsize(maxsize)) {
    finished_.set();  // nothing is unfinished yet
}

void QueueBase::count_new_task() noexcept {
    ++unfinished_tasks_;
    finished_.clear();
}

void QueueBase::task_done() {
    if (unfinished_tasks_ == 0) {
        throw Error("Queue::task_done: called more times than items were put");
    }
    if (--unfinished_tasks_ == 0) {
        finished_.set();
    }
}

Task<void> QueueBase::join() {
    return finished_.wait_until(std::nullopt, "Queue::join");
}

Task<void> QueueBase::join(IOLoop::Duration timeout) {
    return finished_.wait_until(IOLoop::Clock::now() + timeout, "Queue::join");
}

Task<void> QueueBase::join(IOLoop::TimePoint deadline) {
    return finished_.wait_until(deadline, "Queue::join");
}

void QueueBase::throw_full() const {
    throw QueueFull("Queue::put_nowait: the queue is full (maxsize " + std::to_string(maxsize_) +
                    ")");
}

void QueueBase::throw_empty() {
    throw QueueEmpty("Queue::get_nowait: the queue is empty");
}

}  // namespace gale::detail
