#pragma once
/// Timeouts and concurrency over tasks: `with_timeout`, `with_deadline`, `when_all`
/// (alias `gather`) and `when_any`.
///
/// Unlike Tornado's `gen.with_timeout`, a timeout here cancels the operation it guards: when
/// the deadline passes, the inner task is cancelled, allowed to unwind (a pending read gives
/// its buffer back first), and `TimeoutError` is thrown. Cancelling the awaiting task
/// instead raises `OperationCancelled` as usual.
///
/// ```
/// std::string line = co_await gale::with_timeout(5s, stream.read_until("\n"));
/// auto [a, b] = co_await gale::when_all(fetch(x), fetch(y));
/// auto first = co_await gale::when_any(std::move(attempts));  // first.index, first.value
/// ```

#include <gale/ioloop/ioloop.hpp>
#include <gale/ioloop/task_group.hpp>

#include <optional>
#include <tuple>
#include <type_traits>
#include <vector>

namespace gale {

namespace detail {

/// The result slot of a child: a value, or `bool` standing for "finished" for void tasks.
template <class T>
using ResultSlot = std::optional<std::conditional_t<std::is_void_v<T>, bool, T>>;

// The slot outlives the child: every combinator joins its children before returning.
template <class T>
Task<void> store_result(Task<T> task, ResultSlot<T>& slot) {
    if constexpr (std::is_void_v<T>) {
        co_await std::move(task);
        slot = true;
    } else {
        slot.emplace(co_await std::move(task));
    }
}

/// Cancels `scope` when the timer fires; records that the deadline (not a parent) did it.
struct DeadlineGuard {
    DeadlineGuard(IOLoop::TimePoint deadline, CancellationScope& scope);
    DeadlineGuard(const DeadlineGuard&) = delete;
    DeadlineGuard& operator=(const DeadlineGuard&) = delete;
    ~DeadlineGuard() { timer.cancel(); }
    TimerHandle timer;
    bool expired = false;
};

template <class T>
Task<T> run_until_deadline(IOLoop::TimePoint deadline, Task<T> task) {
    CancellationScope* parent = co_await current_scope();
    CancellationScope scope(parent);
    DeadlineGuard guard(deadline, scope);
    try {
        if constexpr (std::is_void_v<T>) {
            co_await with_scope(std::move(task), scope);
        } else {
            co_return co_await with_scope(std::move(task), scope);
        }
    } catch (const OperationCancelled&) {
        if (guard.expired && (parent == nullptr || !parent->cancelled())) {
            throw TimeoutError();
        }
        throw;
    }
}

}  // namespace detail

/// Runs `task`; if it has not finished by `deadline`, cancels it and throws `TimeoutError`.
template <class T>
Task<T> with_deadline(IOLoop::TimePoint deadline, Task<T> task) {
    return detail::run_until_deadline(deadline, std::move(task));
}

/// Runs `task`; if it has not finished after `timeout`, cancels it and throws `TimeoutError`.
template <class T>
Task<T> with_timeout(IOLoop::Duration timeout, Task<T> task) {
    return detail::run_until_deadline(IOLoop::Clock::now() + timeout, std::move(task));
}

/// Runs the tasks concurrently and returns all their results, in order (void tasks give
/// `bool`). The first failure cancels the others; once all have finished it is rethrown.
template <class... T>
Task<std::tuple<std::conditional_t<std::is_void_v<T>, bool, T>...>> when_all(Task<T>... tasks) {
    std::tuple<detail::ResultSlot<T>...> slots;
    {
        TaskGroup group;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (group.spawn(detail::store_result(std::move(tasks), std::get<I>(slots))), ...);
        }
        (std::index_sequence_for<T...>{});
        co_await group.join();
    }
    co_return std::apply([](auto&... slot) { return std::make_tuple(std::move(*slot)...); }, slots);
}

/// Runs the tasks concurrently; returns their results in the order of `tasks`.
template <class T>
Task<std::vector<std::conditional_t<std::is_void_v<T>, bool, T>>> when_all(
    std::vector<Task<T>> tasks) {
    std::vector<detail::ResultSlot<T>> slots(tasks.size());
    {
        TaskGroup group;
        for (std::size_t i = 0; i < tasks.size(); ++i) {
            group.spawn(detail::store_result(std::move(tasks[i]), slots[i]));
        }
        co_await group.join();
    }
    std::vector<std::conditional_t<std::is_void_v<T>, bool, T>> results;
    results.reserve(slots.size());
    for (auto& slot : slots) {
        results.push_back(std::move(*slot));
    }
    co_return results;
}

/// Tornado's name for `when_all`.
template <class... Args>
auto gather(Args&&... args) {
    return when_all(std::forward<Args>(args)...);
}

/// The first task of `when_any` to finish: its position and its result.
template <class T>
struct FirstResult {
    std::size_t index;
    std::conditional_t<std::is_void_v<T>, bool, T> value;
};

namespace detail {

template <class T>
Task<void> race_one(Task<T> task, std::size_t index, std::optional<FirstResult<T>>& winner,
                    std::exception_ptr& first_error, TaskGroup& group) {
    try {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(task);
            if (!winner && !first_error) {
                winner.emplace(FirstResult<T>{index, true});
            }
        } else {
            auto value = co_await std::move(task);
            if (!winner && !first_error) {
                winner.emplace(FirstResult<T>{index, std::move(value)});
            }
        }
    } catch (const OperationCancelled&) {
        if (winner || first_error) {
            co_return;  // a loser, cancelled because someone won
        }
        throw;
    } catch (...) {
        if (!winner && !first_error) {
            first_error = std::current_exception();
        }
    }
    group.cancel();
}

}  // namespace detail

/// Runs the tasks concurrently until the first one finishes, then cancels the others and
/// waits for them to unwind. Returns the winner's index and value; if the first task to
/// finish failed, rethrows its exception. `tasks` must not be empty.
template <class T>
Task<FirstResult<T>> when_any(std::vector<Task<T>> tasks) {
    if (tasks.empty()) {
        throw Error("when_any: no tasks");
    }
    std::optional<FirstResult<T>> winner;
    std::exception_ptr first_error;
    {
        TaskGroup group;
        for (std::size_t i = 0; i < tasks.size(); ++i) {
            group.spawn(detail::race_one(std::move(tasks[i]), i, winner, first_error, group));
        }
        co_await group.join();
    }
    if (first_error) {
        std::rethrow_exception(first_error);
    }
    co_return std::move(*winner);
}

}  // namespace gale
