#pragma once
/// `PeriodicCallback`: calls a function every `period` on the current loop.
///
/// Missed periods are skipped rather than run late in a burst: a callback that overruns
/// its period runs next at the first scheduled time still in the future (Tornado's rule).
/// An optional jitter spreads the calls by up to ±jitter/2 of the period, so that many
/// periodic tasks started together (keepalive pings) do not fire together.

#include <gale/ioloop/ioloop.hpp>

#include <functional>
#include <random>

namespace gale {

class PeriodicCallback {
  public:
    PeriodicCallback(std::function<void()> callback, IOLoop::Duration period, double jitter = 0.0);
    PeriodicCallback(const PeriodicCallback&) = delete;
    PeriodicCallback& operator=(const PeriodicCallback&) = delete;
    ~PeriodicCallback() { stop(); }

    void start();
    void stop() noexcept;
    bool is_running() const noexcept { return running_; }

    /// The next deadline after `current` given `now` (exposed for tests: the schedule math).
    static IOLoop::TimePoint next_deadline(IOLoop::TimePoint current, IOLoop::TimePoint now,
                                           IOLoop::Duration period) noexcept;

  private:
    void schedule_next();
    void run();

    std::function<void()> callback_;
    IOLoop::Duration period_;
    double jitter_;
    IOLoop* loop_ = nullptr;
    IOLoop::TimePoint next_{};
    TimerHandle timer_;
    bool running_ = false;
    std::minstd_rand random_{std::random_device{}()};
};

}  // namespace gale
