#pragma once
// A FIFO of suspended coroutines, each waiting to be handed a value: the client's
// `max_clients` slots and connections to a busy host are passed on this way, first come
// first served, so a releasing fetch gives its slot or connection straight to the oldest
// waiter and nobody can overtake it.

#include <gale/ioloop/cancellation.hpp>
#include <gale/ioloop/errors.hpp>
#include <gale/ioloop/ioloop.hpp>

#include <coroutine>
#include <cstddef>
#include <optional>
#include <utility>

namespace gale::httpclient::detail {

template <class T>
class WaitQueue {
  public:
    class [[nodiscard]] Awaiter : public CancellationCallback {
      public:
        explicit Awaiter(WaitQueue& queue) noexcept : queue_(&queue) {}
        Awaiter(const Awaiter&) = delete;
        Awaiter& operator=(const Awaiter&) = delete;
        ~Awaiter() {
            if (linked_) {
                queue_->unlink(this);
            }
        }

        bool await_ready() const noexcept { return false; }
        template <class Promise>
        bool await_suspend(std::coroutine_handle<Promise> caller) {
            if (!attach(gale::detail::scope_of(caller), &Awaiter::on_cancel)) {
                cancelled_ = true;
                return false;
            }
            waiter_ = caller;
            queue_->link(this);
            return true;
        }
        T await_resume() {
            detach();
            if (cancelled_) {
                throw OperationCancelled();
            }
            return std::move(*value_);
        }

      private:
        friend class WaitQueue;
        static void on_cancel(CancellationCallback& callback) noexcept {
            auto& self = static_cast<Awaiter&>(callback);
            self.queue_->unlink(&self);
            self.cancelled_ = true;
            resume_later(self.waiter_);
        }

        WaitQueue* queue_;
        std::coroutine_handle<> waiter_;
        Awaiter* next_ = nullptr;
        Awaiter* previous_ = nullptr;
        std::optional<T> value_;
        bool linked_ = false;
        bool cancelled_ = false;
    };

    WaitQueue() = default;
    WaitQueue(const WaitQueue&) = delete;
    WaitQueue& operator=(const WaitQueue&) = delete;

    /// Suspends until `hand_over` gives this waiter a value; throws `OperationCancelled` when
    /// the waiting task is cancelled first (it then takes nothing).
    Awaiter wait() noexcept { return Awaiter(*this); }

    /// Gives `value` to the oldest waiter and schedules its resumption. False (and `value`
    /// untouched) when nobody waits.
    bool hand_over(T& value) {
        Awaiter* first = head_;
        if (first == nullptr) {
            return false;
        }
        unlink(first);
        first->value_.emplace(std::move(value));
        first->detach();  // from now on it resumes with the value, whatever happens
        resume_later(first->waiter_);
        return true;
    }

    bool empty() const noexcept { return head_ == nullptr; }
    std::size_t size() const noexcept { return size_; }

  private:
    static void resume_later(std::coroutine_handle<> handle) noexcept {
        IOLoop::current().add_callback([handle] { handle.resume(); });
    }
    void link(Awaiter* awaiter) noexcept {
        awaiter->previous_ = tail_;
        awaiter->next_ = nullptr;
        if (tail_ != nullptr) {
            tail_->next_ = awaiter;
        } else {
            head_ = awaiter;
        }
        tail_ = awaiter;
        awaiter->linked_ = true;
        ++size_;
    }
    void unlink(Awaiter* awaiter) noexcept {
        if (!awaiter->linked_) {
            return;
        }
        (awaiter->previous_ != nullptr ? awaiter->previous_->next_ : head_) = awaiter->next_;
        (awaiter->next_ != nullptr ? awaiter->next_->previous_ : tail_) = awaiter->previous_;
        awaiter->linked_ = false;
        --size_;
    }

    Awaiter* head_ = nullptr;
    Awaiter* tail_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace gale::httpclient::detail
