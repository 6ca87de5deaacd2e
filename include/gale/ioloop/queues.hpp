#pragma once
/// Queues between the tasks of one loop: `Queue<T>` (first in, first out),
/// `PriorityQueue<T, Compare>` (lowest first) and `LifoQueue<T>` (last in, first out), after
/// Tornado's `tornado.queues`.
///
/// A queue with a `maxsize` makes producers wait while it is full (backpressure); the
/// default, 0, is unbounded. `get` waits while the queue is empty. Items are handed over
/// fairly: the longest-waiting getter receives the next item, the longest-waiting putter is
/// the next to get room. `task_done` and `join` track when every item put has been
/// processed. `T` may be move-only. Everything runs on one loop; no mutex is involved.
///
/// Waits follow the rules of locks.hpp: a granted waiter resumes at the next loop iteration,
/// never inside the call that granted it; timeouts are a relative `IOLoop::Duration` or an
/// absolute `IOLoop::TimePoint`; cancellation resumes the waiting task with
/// `OperationCancelled`; and a waiter that timed out or was cancelled is skipped. Nothing
/// is lost to a cancellation: a getter cancelled after an item was handed to it (but before
/// it resumed) passes the item to the next getter, or puts it back at the head of the queue
/// (which may leave the queue one over `maxsize` for a while). A putter whose item was
/// accepted has completed: a later cancellation does not take the item back.
///
/// Destroying a queue while tasks wait on it resumes them with `OperationCancelled`; the
/// items of waiting putters are dropped.
///
/// ```
/// gale::Queue<std::string> urls(100);
/// gale::Task<void> worker() {
///     for (;;) {
///         std::string url = co_await urls.get();
///         co_await fetch(url);
///         urls.task_done();
///     }
/// }
/// // producer: co_await urls.put(url);  ...  co_await urls.join();
/// ```

#include <gale/ioloop/errors.hpp>
#include <gale/ioloop/ioloop.hpp>
#include <gale/ioloop/locks.hpp>

#include <algorithm>
#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

namespace gale {

/// `put_nowait` on a full queue.
class QueueFull : public Error {
  public:
    using Error::Error;
};

/// `get_nowait` on an empty queue.
class QueueEmpty : public Error {
  public:
    using Error::Error;
};

namespace detail {

/// What does not depend on the item type: the size limit, the waiters and the count of
/// unfinished tasks.
class QueueBase {
  public:
    QueueBase(const QueueBase&) = delete;
    QueueBase& operator=(const QueueBase&) = delete;

    /// The most items the queue holds before `put` waits; 0 means unbounded.
    std::size_t maxsize() const noexcept { return maxsize_; }

    /// Marks one item taken from the queue as processed. When every item put has been
    /// processed, `join()` completes. Throws `Error` when called more times than items
    /// were put (Tornado raises ValueError).
    void task_done();

    /// Completes when every item put so far has been marked with `task_done` (at once when
    /// none is unfinished). Throws `TimeoutError` when the timeout passes first,
    /// `OperationCancelled` when the waiting task is cancelled.
    Task<void> join();
    Task<void> join(IOLoop::Duration timeout);
    Task<void> join(IOLoop::TimePoint deadline);

    /// Items put and not yet marked with `task_done`.
    std::size_t unfinished_tasks() const noexcept { return unfinished_tasks_; }
    /// Tasks waiting in `get` / in `put`.
    std::size_t getter_count() const noexcept { return getters_.size(); }
    std::size_t putter_count() const noexcept { return putters_.size(); }

  protected:
    /// Throws `Error` when `maxsize` is negative.
    explicit QueueBase(std::ptrdiff_t maxsize);
    ~QueueBase() = default;

    void count_new_task() noexcept;
    [[noreturn]] void throw_full() const;
    [[noreturn]] static void throw_empty();

    std::size_t maxsize_;
    std::size_t unfinished_tasks_ = 0;
    Event finished_;
    WaitQueue getters_;
    WaitQueue putters_;
};

/// Storage of `Queue`: first in, first out.
template <class T>
class FifoStorage {
  public:
    std::size_t size() const noexcept { return items_.size(); }
    void push(T&& item) { items_.push_back(std::move(item)); }
    T pop() {
        T item = std::move(items_.front());
        items_.pop_front();
        return item;
    }
    /// Puts back an item that was taken but not consumed, where `pop` takes it next.
    void put_back(T&& item) { items_.push_front(std::move(item)); }

  private:
    std::deque<T> items_;
};

/// Storage of `LifoQueue`: last in, first out.
template <class T>
class LifoStorage {
  public:
    std::size_t size() const noexcept { return items_.size(); }
    void push(T&& item) { items_.push_back(std::move(item)); }
    T pop() {
        T item = std::move(items_.back());
        items_.pop_back();
        return item;
    }
    void put_back(T&& item) { push(std::move(item)); }

  private:
    std::vector<T> items_;
};

/// Storage of `PriorityQueue`: a binary heap that pops the lowest item by `Compare`.
template <class T, class Compare>
class PriorityStorage {
  public:
    explicit PriorityStorage(Compare compare = Compare()) : compare_(std::move(compare)) {}
    std::size_t size() const noexcept { return items_.size(); }
    void push(T&& item) {
        items_.push_back(std::move(item));
        std::push_heap(items_.begin(), items_.end(), higher());
    }
    T pop() {
        std::pop_heap(items_.begin(), items_.end(), higher());
        T item = std::move(items_.back());
        items_.pop_back();
        return item;
    }
    void put_back(T&& item) { push(std::move(item)); }

  private:
    // The std heap functions keep the greatest element on top; invert to keep the lowest.
    auto higher() {
        return [this](const T& left, const T& right) { return compare_(right, left); };
    }

    std::vector<T> items_;
    Compare compare_;
};

}  // namespace detail

/// The queue behind `Queue`, `LifoQueue` and `PriorityQueue`; `Storage` orders the items.
template <class T, class Storage>
class BasicQueue : public detail::QueueBase {
  public:
    using value_type = T;

    /// Throws `Error` when `maxsize` is negative.
    explicit BasicQueue(std::ptrdiff_t maxsize = 0, Storage storage = Storage())
        : QueueBase(maxsize), storage_(std::move(storage)) {}

    /// Items in the queue now.
    std::size_t qsize() const noexcept { return storage_.size(); }
    bool empty() const noexcept { return storage_.size() == 0; }
    /// True when `put` would wait (never for an unbounded queue).
    bool full() const noexcept { return maxsize_ != 0 && storage_.size() >= maxsize_; }

    /// Puts `item` in the queue, waiting while it is full. Completes at once when there is
    /// room (or a getter waits), otherwise when a `get` makes room for this putter (at the
    /// next loop iteration). Throws `TimeoutError` when the timeout passes first and
    /// `OperationCancelled` when the waiting task is cancelled; in both cases the item was
    /// not put and is destroyed with the task.
    Task<void> put(T item) { return put_until(std::move(item), std::nullopt); }
    Task<void> put(T item, IOLoop::Duration timeout) {
        return put_until(std::move(item), IOLoop::Clock::now() + timeout);
    }
    Task<void> put(T item, IOLoop::TimePoint deadline) {
        return put_until(std::move(item), deadline);
    }

    /// Puts `item` without waiting; throws `QueueFull` when the queue is full.
    void put_nowait(T item) {
        if (!try_put(std::move(item))) {
            throw_full();
        }
    }

    /// Puts `item` without waiting and returns true, or returns false when the queue is
    /// full. `item` is moved from only when it was put, so a move-only item is not lost.
    bool try_put(T&& item) {
        if (!getters_.empty()) {
            // A getter waits, so the queue is empty: hand the item over directly.
            count_new_task();
            hand_to_first_getter(std::move(item));
            return true;
        }
        if (full() || !putters_.empty()) {
            return false;  // wait behind the putters already waiting
        }
        count_new_task();
        storage_.push(std::move(item));
        return true;
    }

    /// Takes the next item, waiting while the queue is empty. Completes at once when an item
    /// is there, otherwise when one is handed to this getter (at the next loop iteration).
    /// Throws `TimeoutError` when the timeout passes first and `OperationCancelled` when the
    /// waiting task is cancelled; neither loses an item.
    Task<T> get() { return get_until(std::nullopt); }
    Task<T> get(IOLoop::Duration timeout) { return get_until(IOLoop::Clock::now() + timeout); }
    Task<T> get(IOLoop::TimePoint deadline) { return get_until(deadline); }

    /// Takes the next item without waiting; throws `QueueEmpty` when there is none.
    T get_nowait() {
        std::optional<T> item = try_get();
        if (!item) {
            throw_empty();
        }
        return std::move(*item);
    }

    /// Takes the next item without waiting, or returns nothing when there is none.
    std::optional<T> try_get() {
        // Like Tornado, a waiting putter's item joins the queue before the item is taken,
        // so a LifoQueue or PriorityQueue returns it when it comes first.
        if (!putters_.empty() && storage_.size() <= maxsize_) {
            admit_first_putter();
        }
        if (empty()) {
            return std::nullopt;
        }
        return storage_.pop();
    }

  private:
    struct Getting;
    struct Putting;

    Task<T> get_until(std::optional<IOLoop::TimePoint> deadline) {
        Getting getting(*this, deadline);
        co_return co_await getting;
    }

    // `item` lives in this frame while the putter waits.
    Task<void> put_until(T item, std::optional<IOLoop::TimePoint> deadline) {
        Putting putting(*this, item, deadline);
        co_await putting;
    }

    void hand_to_first_getter(T&& item);
    void admit_first_putter();
    void give_back(T&& item);

    Storage storage_;
};

template <class T, class Storage>
struct BasicQueue<T, Storage>::Getting final : detail::Waiter {
    Getting(BasicQueue& owner, std::optional<IOLoop::TimePoint> until) noexcept
        : Waiter(&Getting::revoke), queue(owner), deadline(until) {}

    // An item is only there when no getter waits: the fast path never jumps the line.
    bool await_ready() {
        item = queue.try_get();
        return item.has_value();
    }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> caller) {
        return suspend_in(queue.getters_, caller, deadline);
    }
    T await_resume() {
        Outcome result = finish();
        if (!item) {
            throw_failure(result, "Queue::get");
        }
        return std::move(*item);
    }

    // Cancelled after the item was handed over: it goes to the next getter or back.
    static bool revoke(Waiter& waiter) noexcept {
        auto& self = static_cast<Getting&>(waiter);
        self.queue.give_back(std::move(*self.item));
        self.item.reset();
        return true;
    }

    BasicQueue& queue;
    std::optional<IOLoop::TimePoint> deadline;
    std::optional<T> item;
};

template <class T, class Storage>
struct BasicQueue<T, Storage>::Putting final : detail::Waiter {
    Putting(BasicQueue& owner, T& value, std::optional<IOLoop::TimePoint> until) noexcept
        : Waiter(&Putting::revoke), queue(owner), item(value), deadline(until) {}

    bool await_ready() {
        accepted = queue.try_put(std::move(item));
        return accepted;
    }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> caller) {
        return suspend_in(queue.putters_, caller, deadline);
    }
    void await_resume() {
        Outcome result = finish();
        if (!accepted && result != Outcome::woken) {
            throw_failure(result, "Queue::put");
        }
    }

    // The item is in the queue already (maybe taken since): the put stands.
    static bool revoke(Waiter&) noexcept { return false; }

    BasicQueue& queue;
    T& item;
    std::optional<IOLoop::TimePoint> deadline;
    bool accepted = false;
};

template <class T, class Storage>
void BasicQueue<T, Storage>::hand_to_first_getter(T&& item) {
    auto& getter = static_cast<Getting&>(getters_.front());
    getter.item.emplace(std::move(item));
    getters_.wake_front();
}

template <class T, class Storage>
void BasicQueue<T, Storage>::admit_first_putter() {
    auto& putter = static_cast<Putting&>(putters_.front());
    count_new_task();
    storage_.push(std::move(putter.item));
    putters_.wake_front();
}

// An item handed to a getter that was then cancelled. It was counted when it was put.
template <class T, class Storage>
void BasicQueue<T, Storage>::give_back(T&& item) {
    if (!getters_.empty()) {
        hand_to_first_getter(std::move(item));
    } else {
        storage_.put_back(std::move(item));
    }
}

/// A first-in, first-out queue (Tornado's `Queue`).
template <class T>
class Queue : public BasicQueue<T, detail::FifoStorage<T>> {
  public:
    /// Throws `Error` when `maxsize` is negative; 0 means unbounded.
    explicit Queue(std::ptrdiff_t maxsize = 0) : BasicQueue<T, detail::FifoStorage<T>>(maxsize) {}
};

/// A last-in, first-out queue (Tornado's `LifoQueue`).
template <class T>
class LifoQueue : public BasicQueue<T, detail::LifoStorage<T>> {
  public:
    /// Throws `Error` when `maxsize` is negative; 0 means unbounded.
    explicit LifoQueue(std::ptrdiff_t maxsize = 0)
        : BasicQueue<T, detail::LifoStorage<T>>(maxsize) {}
};

/// A queue that returns its lowest item first, by `Compare` (Tornado's `PriorityQueue`,
/// typically of pairs `(priority, value)`).
template <class T, class Compare = std::less<T>>
class PriorityQueue : public BasicQueue<T, detail::PriorityStorage<T, Compare>> {
  public:
    /// Throws `Error` when `maxsize` is negative; 0 means unbounded.
    explicit PriorityQueue(std::ptrdiff_t maxsize = 0, Compare compare = Compare())
        : BasicQueue<T, detail::PriorityStorage<T, Compare>>(
              maxsize, detail::PriorityStorage<T, Compare>(std::move(compare))) {}
};

}  // namespace gale
