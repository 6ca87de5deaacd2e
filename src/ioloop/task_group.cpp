#include <gale/ioloop/combinators.hpp>
#include <gale/ioloop/log.hpp>
#include <gale/ioloop/task_group.hpp>

#include "ioloop/detached_task.hpp"

namespace gale {
namespace detail {

struct TaskGroupState {
    explicit TaskGroupState(TaskGroup::ErrorPolicy error_policy) : policy(error_policy) {}

    TaskGroup::ErrorPolicy policy;
    CancellationScope scope;  // a root: joiners link to it only while they wait
    std::size_t running = 0;
    std::exception_ptr first_error;
    std::coroutine_handle<> joiner;
    LoopInternals* joiner_loop = nullptr;

    void child_finished(std::exception_ptr error) {
        if (error) {
            record(std::move(error));
        }
        if (--running == 0 && joiner) {
            joiner_loop->post(std::exchange(joiner, {}));
        }
    }

    void record(std::exception_ptr error) {
        if (policy == TaskGroup::ErrorPolicy::log) {
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& exception) {
                log::error("task in group failed: {}", exception.what());
            } catch (...) {
                log::error("task in group failed with a non-standard exception");
            }
            return;
        }
        if (!first_error) {
            first_error = std::move(error);
            scope.cancel();  // siblings stop: the group failed
        }
    }
};

namespace {

DetachedTask run_child(Task<void> task, std::shared_ptr<TaskGroupState> state,
                       LoopInternals* internals) {
    std::exception_ptr error;
    {
        RootRegistration registration(*internals, &state->scope);
        try {
            co_await with_scope(std::move(task), registration.node.scope);
        } catch (const OperationCancelled&) {
            if (!registration.node.scope.cancelled()) {
                error = std::current_exception();  // not from a cancellation: a real failure
            }
        } catch (...) {
            error = std::current_exception();
        }
    }
    state->child_finished(std::move(error));
}

// Waits for the children; cancelling the waiting task cancels them (and still waits).
struct JoinAwaiter : CancellationCallback {
    explicit JoinAwaiter(std::shared_ptr<TaskGroupState> group) : state(std::move(group)) {}
    std::shared_ptr<TaskGroupState> state;

    bool await_ready() const noexcept { return state->running == 0; }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> caller) {
        if (!attach(scope_of(caller), &JoinAwaiter::on_cancel)) {
            state->scope.cancel();
        }
        state->joiner = caller;
        state->joiner_loop = &IOLoop::current().internals();
        return true;
    }

    static void on_cancel(CancellationCallback& callback) noexcept {
        static_cast<JoinAwaiter&>(callback).state->scope.cancel();
    }

    void await_resume() noexcept { detach(); }
};

Task<void> join_children(std::shared_ptr<TaskGroupState> state) {
    if (state->joiner) {
        throw Error("TaskGroup::join: another task is already joining this group");
    }
    co_await JoinAwaiter(state);
    if (state->first_error) {
        std::rethrow_exception(state->first_error);
    }
    co_await cancellation_point();  // the joiner itself was cancelled
}

}  // namespace

DeadlineGuard::DeadlineGuard(IOLoop::TimePoint deadline, CancellationScope& scope)
    : timer(IOLoop::current().call_at(deadline, [this, &scope] {
          expired = true;
          scope.cancel();
      })) {}

}  // namespace detail

TaskGroup::TaskGroup(ErrorPolicy policy)
    : state_(std::make_shared<detail::TaskGroupState>(policy)) {}

TaskGroup::~TaskGroup() {
    state_->scope.cancel();
}

void TaskGroup::spawn(Task<void> task) {
    detail::LoopInternals& internals = IOLoop::current().internals();
    ++state_->running;
    detail::run_child(std::move(task), state_, &internals).start_soon(internals);
}

Task<void> TaskGroup::join() {
    return detail::join_children(state_);
}

void TaskGroup::cancel() noexcept {
    state_->scope.cancel();
}

bool TaskGroup::cancelled() const noexcept {
    return state_->scope.cancelled();
}

std::size_t TaskGroup::size() const noexcept {
    return state_->running;
}

}  // namespace gale
