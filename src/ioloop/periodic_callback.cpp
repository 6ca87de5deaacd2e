#include <gale/ioloop/log.hpp>
#include <gale/ioloop/periodic_callback.hpp>

namespace gale {

PeriodicCallback::PeriodicCallback(std::function<void()> callback, IOLoop::Duration period,
                                   double jitter)
    : callback_(std::move(callback)), period_(period), jitter_(jitter) {
    if (period <= IOLoop::Duration::zero()) {
        throw Error("PeriodicCallback: the period must be positive");
    }
}

void PeriodicCallback::start() {
    if (running_) {
        return;
    }
    running_ = true;
    loop_ = &IOLoop::current();
    next_ = loop_->time();
    schedule_next();
}

void PeriodicCallback::stop() noexcept {
    running_ = false;
    timer_.cancel();
}

IOLoop::TimePoint PeriodicCallback::next_deadline(IOLoop::TimePoint current, IOLoop::TimePoint now,
                                                  IOLoop::Duration period) noexcept {
    if (current > now) {
        return current;  // the clock went back or nothing was missed yet
    }
    // Skip every whole period already missed, keeping the schedule's phase.
    auto missed = (now - current) / period + 1;
    return current + missed * period;
}

void PeriodicCallback::schedule_next() {
    IOLoop::Duration period = period_;
    if (jitter_ > 0) {
        std::uniform_real_distribution<double> spread(-jitter_ / 2, jitter_ / 2);
        period += std::chrono::duration_cast<IOLoop::Duration>(period_ * spread(random_));
    }
    next_ = next_deadline(next_, IOLoop::Clock::now(), period);
    timer_ = loop_->call_at(next_, [this] { run(); });
}

void PeriodicCallback::run() {
    if (!running_) {
        return;
    }
    try {
        callback_();
    } catch (const std::exception& error) {
        log::error("exception in periodic callback: {}", error.what());
    }
    if (running_) {
        schedule_next();
    }
}

}  // namespace gale
