#pragma once
// The loop's timers: a binary heap over a slot table. Slots are reused and carry a
// generation, so a handle to a fired or cancelled timer is recognised as stale in O(1), and
// cancelling removes the timer from the heap at once (no tombstones piling up).

#include <gale/ioloop/callback.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

namespace gale::detail {

class TimerQueue {
  public:
    using TimePoint = std::chrono::steady_clock::time_point;

    struct Id {
        std::uint32_t slot;
        std::uint32_t generation;
    };

    Id add(TimePoint when, Callback callback);
    /// Removes a pending timer; false when it already fired or was cancelled.
    bool cancel(Id id) noexcept;
    bool pending(Id id) const noexcept;

    /// The earliest deadline, if any.
    std::optional<TimePoint> next_deadline() const noexcept;

    /// Runs the timers due at `now` that were added before this call started. A timer
    /// cancelled by an earlier callback of the same call does not run.
    void run_due(TimePoint now);

    std::size_t size() const noexcept { return heap_.size(); }

  private:
    struct Slot {
        TimePoint when{};
        std::uint64_t sequence = 0;
        Callback callback;
        std::uint32_t generation = 0;
        std::int32_t heap_index = -1;
    };

    bool earlier(std::uint32_t a, std::uint32_t b) const noexcept;
    void place(std::size_t index, std::uint32_t slot) noexcept;
    void sift_up(std::size_t index) noexcept;
    void sift_down(std::size_t index) noexcept;
    void remove_at(std::size_t index) noexcept;
    void release(std::uint32_t slot) noexcept;

    std::vector<Slot> slots_;
    std::vector<std::uint32_t> free_slots_;
    std::vector<std::uint32_t> heap_;
    std::uint64_t next_sequence_ = 0;
};

}  // namespace gale::detail
