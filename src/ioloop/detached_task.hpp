#pragma once
// The self-destroying coroutine behind spawn() and TaskGroup children: nothing awaits it, so
// it is started from the loop and frees its own frame when it ends. While it runs it is a
// root of the loop (RootRegistration), so a loop being destroyed can cancel and unwind it.

#include <gale/ioloop/task.hpp>

#include "ioloop/loop_internals.hpp"

#include <coroutine>
#include <exception>

namespace gale::detail {

struct DetachedTask {
    struct promise_type {
        static void* operator new(std::size_t size) { return allocate_frame(size); }
        static void operator delete(void* pointer, std::size_t size) noexcept {
            deallocate_frame(pointer, size);
        }
        DetachedTask get_return_object() noexcept {
            return {std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_always initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
    std::coroutine_handle<promise_type> handle;

    /// Starts the coroutine at the next iteration of the loop behind `internals`.
    void start_soon(LoopInternals& internals) { internals.post(std::coroutine_handle<>(handle)); }
};

/// Lists a detached task as a root of the loop for as long as it runs.
struct RootRegistration {
    RootRegistration(LoopInternals& loop_internals, CancellationScope* parent)
        : internals(loop_internals), node(parent) {
        internals.link_root(node);
    }
    RootRegistration(const RootRegistration&) = delete;
    RootRegistration& operator=(const RootRegistration&) = delete;
    ~RootRegistration() { internals.unlink_root(node); }

    LoopInternals& internals;
    RootNode node;
};

}  // namespace gale::detail
