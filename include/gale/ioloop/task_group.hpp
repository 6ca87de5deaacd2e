#pragma once
/// `TaskGroup`: runs child tasks concurrently and joins them.
///
/// Children start at the next loop iteration and run in the group's cancellation scope.
/// `join()` waits until every child has finished (also children spawned while joining), and
/// while a task is joining, cancelling it cancels the children. With the default policy the
/// first child to fail cancels its siblings and its exception is rethrown by `join()`; with
/// `ErrorPolicy::log` failures are logged and the others keep running (a server's connections).
/// Destroying a group cancels the children still running; they unwind on their own.
///
/// ```
/// gale::TaskGroup group;
/// for (auto& url : urls) group.spawn(fetch(url));
/// co_await group.join();
/// ```

#include <gale/ioloop/ioloop.hpp>

#include <cstddef>
#include <memory>

namespace gale {

namespace detail {
struct TaskGroupState;
}

class TaskGroup {
  public:
    enum class ErrorPolicy {
        cancel_siblings,  // the first failure cancels the others and join() rethrows it
        log,              // failures are logged; join() only waits
    };

    explicit TaskGroup(ErrorPolicy policy = ErrorPolicy::cancel_siblings);
    TaskGroup(const TaskGroup&) = delete;
    TaskGroup& operator=(const TaskGroup&) = delete;
    ~TaskGroup();

    /// Starts `task` as a child at the next iteration of the current loop.
    void spawn(Task<void> task);

    /// Waits until no child is running. Rethrows the first failure (cancel_siblings policy).
    Task<void> join();

    /// Cancels every running child (and children spawned later, which then fail at their
    /// first suspension). join() still waits for them to unwind.
    void cancel() noexcept;
    bool cancelled() const noexcept;

    /// Children started and not yet finished.
    std::size_t size() const noexcept;

  private:
    std::shared_ptr<detail::TaskGroupState> state_;
};

}  // namespace gale
