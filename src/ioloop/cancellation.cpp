#include <gale/ioloop/cancellation.hpp>
#include <gale/ioloop/errors.hpp>
#include <gale/ioloop/task.hpp>

namespace gale {

bool CancellationCallback::attach(CancellationScope* scope, Function function) noexcept {
    detach();
    if (scope == nullptr) {
        return true;
    }
    if (scope->cancelled_) {
        return false;
    }
    function_ = function;
    scope_ = scope;
    previous_ = nullptr;
    next_ = scope->head_;
    if (next_ != nullptr) {
        next_->previous_ = this;
    }
    scope->head_ = this;
    return true;
}

void CancellationCallback::detach() noexcept {
    if (scope_ == nullptr) {
        return;
    }
    if (previous_ != nullptr) {
        previous_->next_ = next_;
    } else {
        scope_->head_ = next_;
    }
    if (next_ != nullptr) {
        next_->previous_ = previous_;
    }
    scope_ = nullptr;
    previous_ = next_ = nullptr;
}

CancellationScope::CancellationScope(CancellationScope* parent) noexcept : parent_(parent) {
    parent_link_.owner = this;
    if (parent != nullptr &&
        !parent_link_.attach(parent, &CancellationScope::on_parent_cancelled)) {
        cancelled_ = true;  // born inside a cancelled scope
    }
}

CancellationScope::~CancellationScope() {
    parent_link_.detach();
    // Callbacks still registered belong to operations that outlive the scope (a bug in the
    // caller); unlink them so they do not point at freed memory.
    while (head_ != nullptr) {
        head_->detach();
    }
}

void CancellationScope::on_parent_cancelled(CancellationCallback& link) noexcept {
    static_cast<ParentLink&>(link).owner->cancel();
}

void CancellationScope::cancel() noexcept {
    if (cancelled_) {
        return;
    }
    cancelled_ = true;
    // Callbacks may detach others (a child scope tearing down); always take the head.
    while (head_ != nullptr) {
        CancellationCallback* callback = head_;
        CancellationCallback::Function function = callback->function_;
        callback->detach();
        function(*callback);
    }
}

void CancellationPoint::await_resume() const {
    if (cancelled) {
        throw OperationCancelled();
    }
}

}  // namespace gale
