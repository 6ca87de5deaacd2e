#pragma once
/// Cancellation that flows down a tree of tasks.
///
/// Every task runs inside a `CancellationScope`. A task awaited with `co_await` runs in the
/// scope of its awaiter; `with_timeout`, `when_all`, `when_any`, `TaskGroup` and `spawn` open
/// child scopes. Cancelling a scope cancels every scope below it. An asynchronous operation
/// that is suspended when its scope is cancelled stops and resumes its coroutine once, with
/// `OperationCancelled`; an operation started in a scope that is already cancelled fails at
/// once. Cancellation is delivered at suspension points: code that never suspends is never
/// interrupted.
///
/// Writers of awaitables register a `CancellationCallback` while they are suspended; see
/// `detail::scope_of` for how an awaiter finds the scope of the coroutine awaiting it.

#include <coroutine>

namespace gale {

class CancellationScope;

/// A callback registered with a scope, run once if the scope is cancelled while registered.
///
/// It is an intrusive list node: no allocation, and it must outlive its registration
/// (typically it is a member of an awaiter, which lives in the suspended coroutine's frame).
/// The callback must not resume coroutines inline; it asks the operation to stop, and the
/// operation resumes its coroutine later from the loop.
class CancellationCallback {
  public:
    using Function = void (*)(CancellationCallback&) noexcept;

    CancellationCallback() = default;
    CancellationCallback(const CancellationCallback&) = delete;
    CancellationCallback& operator=(const CancellationCallback&) = delete;
    ~CancellationCallback() { detach(); }

    /// Registers `function` with `scope` (which may be null: nothing to register with).
    /// Returns false, registering nothing, when the scope is already cancelled.
    bool attach(CancellationScope* scope, Function function) noexcept;

    /// Unregisters; safe to call when not registered.
    void detach() noexcept;

    bool attached() const noexcept { return scope_ != nullptr; }

  private:
    friend class CancellationScope;
    CancellationScope* scope_ = nullptr;
    CancellationCallback* previous_ = nullptr;
    CancellationCallback* next_ = nullptr;
    Function function_ = nullptr;
};

/// A node in the cancellation tree. Not copyable or movable: tasks and children hold
/// pointers to it. Child scopes detach themselves from their parent when destroyed.
class CancellationScope {
  public:
    /// A root scope (no parent) or a child of `parent`, cancelled when the parent is.
    explicit CancellationScope(CancellationScope* parent = nullptr) noexcept;
    CancellationScope(const CancellationScope&) = delete;
    CancellationScope& operator=(const CancellationScope&) = delete;
    ~CancellationScope();

    /// Cancels this scope and every scope below it; idempotent.
    void cancel() noexcept;
    bool cancelled() const noexcept { return cancelled_; }
    CancellationScope* parent() const noexcept { return parent_; }

  private:
    friend class CancellationCallback;
    static void on_parent_cancelled(CancellationCallback& link) noexcept;

    struct ParentLink : CancellationCallback {
        CancellationScope* owner = nullptr;
    };

    CancellationScope* parent_;
    ParentLink parent_link_;
    CancellationCallback* head_ = nullptr;
    bool cancelled_ = false;
};

namespace detail {

/// The cancellation scope of the coroutine behind `handle`, or null when its promise is not
/// a gale promise. Awaiters call this from `await_suspend`.
template <class Promise>
CancellationScope* scope_of(std::coroutine_handle<Promise> handle) noexcept {
    if constexpr (requires { handle.promise().cancellation_scope(); }) {
        return handle.promise().cancellation_scope();
    } else {
        return nullptr;
    }
}

}  // namespace detail
}  // namespace gale
