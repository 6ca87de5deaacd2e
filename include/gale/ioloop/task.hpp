#pragma once
/// `Task<T>`: the coroutine type of every asynchronous operation in gale.
///
/// A task is lazy (its body starts when it is first awaited) and move-only. Awaiting a task
/// that finishes at once does not grow the stack, whatever the optimisation level; a task
/// that suspended hands control back to its awaiter by symmetric transfer when it ends.
/// Exceptions thrown in the body are rethrown at the `co_await`. A task awaited inside
/// another runs in the awaiting task's cancellation scope (see cancellation.hpp).
///
/// ```
/// gale::Task<int> answer() { co_return 42; }
/// gale::Task<void> caller() { int value = co_await answer(); }
/// ```
///
/// Lifetime rule: a coroutine's parameters are copied into its frame, but a reference
/// parameter copies only the reference. gale's own coroutines take their parameters by
/// value or by owning handle; see docs/pitfalls.md.

#include <gale/ioloop/cancellation.hpp>
#include <gale/ioloop/detail/frame_allocator.hpp>

#include <cassert>
#include <coroutine>
#include <exception>
#include <type_traits>
#include <utility>

namespace gale {

template <class T = void>
class Task;

namespace detail {

/// What every gale promise has: the continuation to resume at the end, the cancellation
/// scope, and frames from the per-thread allocator.
class PromiseBase {
  public:
    static void* operator new(std::size_t size) { return allocate_frame(size); }
    static void operator delete(void* pointer, std::size_t size) noexcept {
        deallocate_frame(pointer, size);
    }

    std::suspend_always initial_suspend() noexcept { return {}; }

    struct FinalAwaiter {
        bool await_ready() const noexcept { return false; }
        template <class Promise>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
            PromiseBase& promise = self.promise();
            if (promise.started_inline_) {
                // The awaiter is still inside its await_suspend (we finished without ever
                // suspending): it sees done() and continues by returning, not by a resume.
                return std::noop_coroutine();
            }
            return promise.continuation_ ? promise.continuation_ : std::noop_coroutine();
        }
        void await_resume() const noexcept {}
    };
    FinalAwaiter final_suspend() noexcept { return {}; }

    void unhandled_exception() noexcept { exception_ = std::current_exception(); }

    CancellationScope* cancellation_scope() const noexcept { return scope_; }
    void set_cancellation_scope(CancellationScope* scope) noexcept { scope_ = scope; }
    void set_continuation(std::coroutine_handle<> continuation) noexcept {
        continuation_ = continuation;
    }

    /// Starts the coroutine from an awaiter's await_suspend. Returns true when it finished
    /// without suspending, so the awaiter can go on without suspending itself: a loop of
    /// awaits that complete at once then needs no stack, even where the compiler does not
    /// turn symmetric transfer into a tail call (GCC at -O0, sanitizer builds).
    template <class Handle>
    static bool start_inline(Handle handle) {
        handle.promise().started_inline_ = true;
        handle.resume();
        if (handle.done()) {
            return true;
        }
        handle.promise().started_inline_ = false;
        return false;
    }

  protected:
    void rethrow_if_failed() const {
        if (exception_) {
            std::rethrow_exception(exception_);
        }
    }

  private:
    std::coroutine_handle<> continuation_;
    CancellationScope* scope_ = nullptr;
    std::exception_ptr exception_;
    bool started_inline_ = false;
};

template <class T>
class Promise final : public PromiseBase {
  public:
    Task<T> get_return_object() noexcept;

    template <class U>
    requires std::is_convertible_v<U&&, T>
    void return_value(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        ::new (static_cast<void*>(&storage_)) T(std::forward<U>(value));
        has_value_ = true;
    }

    T take_result() {
        rethrow_if_failed();
        assert(has_value_);
        return std::move(*std::launder(reinterpret_cast<T*>(&storage_)));
    }

    ~Promise() {
        if (has_value_) {
            std::launder(reinterpret_cast<T*>(&storage_))->~T();
        }
    }

  private:
    alignas(T) unsigned char storage_[sizeof(T)];
    bool has_value_ = false;
};

template <>
class Promise<void> final : public PromiseBase {
  public:
    Task<void> get_return_object() noexcept;
    void return_void() noexcept {}
    void take_result() { rethrow_if_failed(); }
};

}  // namespace detail

template <class T>
class [[nodiscard]] Task {
  public:
    using promise_type = detail::Promise<T>;
    using Handle = std::coroutine_handle<promise_type>;
    using value_type = T;

    Task() noexcept = default;
    explicit Task(Handle handle) noexcept : handle_(handle) {}
    Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    Task& operator=(Task&& other) noexcept {
        if (this != &other) {
            destroy();
            handle_ = std::exchange(other.handle_, {});
        }
        return *this;
    }
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
    ~Task() { destroy(); }

    /// True when the task holds a coroutine (it is not moved-from or default-constructed).
    bool valid() const noexcept { return static_cast<bool>(handle_); }
    /// True when the coroutine ran to its end.
    bool done() const noexcept { return handle_ && handle_.done(); }

    // An empty Task<void> (no coroutine: a function with nothing to run may return `{}`) is
    // complete when awaited, and so in every combinator, which all await their tasks. A Task
    // with a value always holds its coroutine.
    struct Awaiter {
        Handle handle;

        bool await_ready() const noexcept {
            if constexpr (std::is_void_v<T>) {
                return !handle;
            } else {
                return false;
            }
        }
        template <class CallerPromise>
        bool await_suspend(std::coroutine_handle<CallerPromise> caller) {
            promise_type& promise = handle.promise();
            promise.set_continuation(caller);
            if (promise.cancellation_scope() == nullptr) {
                promise.set_cancellation_scope(detail::scope_of(caller));
            }
            // Suspend only if the task suspended; if it finished, continue at once.
            return !detail::PromiseBase::start_inline(handle);
        }
        T await_resume() {
            if constexpr (std::is_void_v<T>) {
                if (!handle) {
                    return;
                }
            }
            return handle.promise().take_result();
        }
    };

    /// Starts the task and suspends the caller until it finishes.
    Awaiter operator co_await() && noexcept {
        assert(awaitable());
        return Awaiter{handle_};
    }
    Awaiter operator co_await() & noexcept {
        assert(awaitable());
        return Awaiter{handle_};
    }

    /// The coroutine handle, still owned by this task. For the loop and combinators.
    Handle handle() const noexcept { return handle_; }
    /// Gives up ownership of the coroutine; the caller must destroy it.
    Handle release() noexcept { return std::exchange(handle_, {}); }

  private:
    bool awaitable() const noexcept { return handle_ ? !handle_.done() : std::is_void_v<T>; }
    void destroy() noexcept {
        if (handle_) {
            handle_.destroy();
            handle_ = {};
        }
    }

    Handle handle_;
};

namespace detail {

template <class T>
Task<T> Promise<T>::get_return_object() noexcept {
    return Task<T>(std::coroutine_handle<Promise<T>>::from_promise(*this));
}

inline Task<void> Promise<void>::get_return_object() noexcept {
    return Task<void>(std::coroutine_handle<Promise<void>>::from_promise(*this));
}

}  // namespace detail

/// An awaitable that yields the cancellation scope of the awaiting task without suspending.
/// For combinators and custom awaitables that open child scopes.
struct CurrentScope {
    CancellationScope* scope = nullptr;
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> caller) noexcept {
        scope = detail::scope_of(caller);
        return false;
    }
    CancellationScope* await_resume() const noexcept { return scope; }
};
inline CurrentScope current_scope() noexcept {
    return {};
}

/// Runs `task` in `scope` instead of the awaiting task's scope. The scope must outlive the
/// task; combinators use this to give children a scope of their own.
template <class T>
Task<T> with_scope(Task<T> task, CancellationScope& scope) noexcept {
    if (task.valid()) {  // an empty Task<void> runs nowhere
        task.handle().promise().set_cancellation_scope(&scope);
    }
    return task;
}

/// Throws `OperationCancelled` when the awaiting task's scope is cancelled; a cheap explicit
/// cancellation point for long computations.
struct CancellationPoint {
    bool cancelled = false;
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> caller) noexcept {
        CancellationScope* scope = detail::scope_of(caller);
        cancelled = scope != nullptr && scope->cancelled();
        return false;
    }
    void await_resume() const;
};
inline CancellationPoint cancellation_point() noexcept {
    return {};
}

}  // namespace gale
