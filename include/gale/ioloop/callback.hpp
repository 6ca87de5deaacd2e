#pragma once
/// `gale::Callback`: a move-only `void()` callable with small-buffer storage.
///
/// The loop queues and stores millions of these (ready callbacks, timers), so callables of
/// up to three pointers are stored inline without allocation, and move-only captures (a
/// `std::unique_ptr`, a `Task`) are allowed, unlike `std::function`.

#include <cstddef>
#include <functional>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace gale {

class Callback {
  public:
    Callback() noexcept = default;
    Callback(std::nullptr_t) noexcept {}

    template <class F>
    requires(!std::is_same_v<std::decay_t<F>, Callback> && std::is_invocable_v<std::decay_t<F>&>)
        Callback(
            F&& function) {  // NOLINT(google-explicit-constructor): callables convert implicitly
        using Stored = std::decay_t<F>;
        if constexpr (fits_inline<Stored>()) {
            ::new (static_cast<void*>(storage_)) Stored(std::forward<F>(function));
            operations_ = &inline_operations<Stored>;
        } else {
            ::new (static_cast<void*>(storage_)) Stored*(new Stored(std::forward<F>(function)));
            operations_ = &heap_operations<Stored>;
        }
    }

    Callback(Callback&& other) noexcept : operations_(other.operations_) {
        if (operations_) {
            operations_->move(other.storage_, storage_);
            other.operations_ = nullptr;
        }
    }
    Callback& operator=(Callback&& other) noexcept {
        if (this != &other) {
            reset();
            if (other.operations_) {
                other.operations_->move(other.storage_, storage_);
                operations_ = std::exchange(other.operations_, nullptr);
            }
        }
        return *this;
    }
    Callback(const Callback&) = delete;
    Callback& operator=(const Callback&) = delete;
    ~Callback() { reset(); }

    explicit operator bool() const noexcept { return operations_ != nullptr; }

    /// Calls the stored callable. Calling an empty Callback is undefined.
    void operator()() { operations_->call(storage_); }

    void reset() noexcept {
        if (operations_) {
            operations_->destroy(storage_);
            operations_ = nullptr;
        }
    }

  private:
    static constexpr std::size_t inline_size = 3 * sizeof(void*);

    template <class F>
    static constexpr bool fits_inline() {
        return sizeof(F) <= inline_size && alignof(F) <= alignof(std::max_align_t) &&
               std::is_nothrow_move_constructible_v<F>;
    }

    struct Operations {
        void (*call)(void* storage);
        void (*move)(void* from, void* to) noexcept;
        void (*destroy)(void* storage) noexcept;
    };

    template <class F>
    static constexpr Operations inline_operations{
        [](void* storage) { (*std::launder(static_cast<F*>(storage)))(); },
        [](void* from, void* to) noexcept {
            F* source = std::launder(static_cast<F*>(from));
            ::new (to) F(std::move(*source));
            source->~F();
        },
        [](void* storage) noexcept { std::launder(static_cast<F*>(storage))->~F(); },
    };

    template <class F>
    static constexpr Operations heap_operations{
        [](void* storage) { (**std::launder(static_cast<F**>(storage)))(); },
        [](void* from, void* to) noexcept { ::new (to) F*(*std::launder(static_cast<F**>(from))); },
        [](void* storage) noexcept { delete *std::launder(static_cast<F**>(storage)); },
    };

    alignas(std::max_align_t) unsigned char storage_[inline_size];
    const Operations* operations_ = nullptr;
};

}  // namespace gale
