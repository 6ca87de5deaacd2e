#include "ioloop/timer_queue.hpp"

#include <utility>

namespace gale::detail {

TimerQueue::Id TimerQueue::add(TimePoint when, Callback callback) {
    std::uint32_t slot;
    if (free_slots_.empty()) {
        slot = static_cast<std::uint32_t>(slots_.size());
        slots_.emplace_back();
    } else {
        slot = free_slots_.back();
        free_slots_.pop_back();
    }
    Slot& entry = slots_[slot];
    entry.when = when;
    entry.sequence = next_sequence_++;
    entry.callback = std::move(callback);
    heap_.push_back(slot);
    entry.heap_index = static_cast<std::int32_t>(heap_.size() - 1);
    sift_up(heap_.size() - 1);
    return Id{slot, entry.generation};
}

bool TimerQueue::pending(Id id) const noexcept {
    return id.slot < slots_.size() && slots_[id.slot].generation == id.generation &&
           slots_[id.slot].heap_index >= 0;
}

bool TimerQueue::cancel(Id id) noexcept {
    if (!pending(id)) {
        return false;
    }
    remove_at(static_cast<std::size_t>(slots_[id.slot].heap_index));
    release(id.slot);
    return true;
}

std::optional<TimerQueue::TimePoint> TimerQueue::next_deadline() const noexcept {
    if (heap_.empty()) {
        return std::nullopt;
    }
    return slots_[heap_.front()].when;
}

void TimerQueue::run_due(TimePoint now) {
    const std::uint64_t added_before = next_sequence_;
    while (!heap_.empty()) {
        std::uint32_t slot = heap_.front();
        if (slots_[slot].when > now || slots_[slot].sequence >= added_before) {
            break;
        }
        remove_at(0);
        Callback callback = std::move(slots_[slot].callback);
        release(slot);
        callback();
    }
}

bool TimerQueue::earlier(std::uint32_t a, std::uint32_t b) const noexcept {
    const Slot& left = slots_[a];
    const Slot& right = slots_[b];
    return left.when < right.when || (left.when == right.when && left.sequence < right.sequence);
}

void TimerQueue::place(std::size_t index, std::uint32_t slot) noexcept {
    heap_[index] = slot;
    slots_[slot].heap_index = static_cast<std::int32_t>(index);
}

void TimerQueue::sift_up(std::size_t index) noexcept {
    std::uint32_t slot = heap_[index];
    while (index > 0) {
        std::size_t parent = (index - 1) / 2;
        if (!earlier(slot, heap_[parent])) {
            break;
        }
        place(index, heap_[parent]);
        index = parent;
    }
    place(index, slot);
}

void TimerQueue::sift_down(std::size_t index) noexcept {
    std::uint32_t slot = heap_[index];
    const std::size_t count = heap_.size();
    while (true) {
        std::size_t child = 2 * index + 1;
        if (child >= count) {
            break;
        }
        if (child + 1 < count && earlier(heap_[child + 1], heap_[child])) {
            ++child;
        }
        if (!earlier(heap_[child], slot)) {
            break;
        }
        place(index, heap_[child]);
        index = child;
    }
    place(index, slot);
}

void TimerQueue::remove_at(std::size_t index) noexcept {
    std::uint32_t removed = heap_[index];
    std::uint32_t last = heap_.back();
    heap_.pop_back();
    slots_[removed].heap_index = -1;
    if (index < heap_.size()) {
        place(index, last);
        sift_down(index);
        sift_up(static_cast<std::size_t>(slots_[last].heap_index));
    }
}

void TimerQueue::release(std::uint32_t slot) noexcept {
    Slot& entry = slots_[slot];
    entry.callback.reset();
    entry.heap_index = -1;
    ++entry.generation;
    free_slots_.push_back(slot);
}

}  // namespace gale::detail
