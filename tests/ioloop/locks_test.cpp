// Condition, Event, Semaphore, BoundedSemaphore and Lock: the cases of Tornado's
// tornado/test/locks_test.py, plus timeouts, cancellation and teardown.

#include <gale/ioloop/combinators.hpp>
#include <gale/ioloop/locks.hpp>
#include <gale/ioloop/task_group.hpp>

#include <catch2/catch.hpp>

#include "support/helpers.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

using namespace std::chrono_literals;

namespace {

using History = std::vector<std::string>;

// Resumes the caller at the next loop iteration, after what was queued before it.
struct NextIteration {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> caller) {
        gale::IOLoop::current().add_callback([caller] { caller.resume(); });
    }
    void await_resume() const noexcept {}
};

// The order in which a scope cancels its tasks is unspecified; compare such entries sorted.
History sorted(History history) {
    std::sort(history.begin(), history.end());
    return history;
}

gale::Task<void> turns(int count) {
    for (int i = 0; i < count; ++i) {
        co_await NextIteration{};
    }
}

// Appends `label` to `history` when `operation` succeeds (a Condition wait that returns
// false counts as a timeout), `label:timeout` or `label:cancelled` when it fails.
template <class T>
gale::Task<void> record(gale::Task<T> operation, History& history, std::string label) {
    try {
        if constexpr (std::is_same_v<T, bool>) {
            bool notified = co_await std::move(operation);
            history.push_back(notified ? label : label + ":timeout");
        } else if constexpr (std::is_void_v<T>) {
            co_await std::move(operation);
            history.push_back(label);
        } else {
            [[maybe_unused]] T result = co_await std::move(operation);  // a guard, say
            history.push_back(label);
        }
    } catch (const gale::TimeoutError&) {
        history.push_back(label + ":timeout");
    } catch (const gale::OperationCancelled&) {
        history.push_back(label + ":cancelled");
    }
}

// Waits for a notification, then notifies the next waiter itself.
gale::Task<void> wait_then_notify(gale::Condition& condition, History& history, std::string label) {
    co_await condition.wait();
    history.push_back(label);
    condition.notify();
}

// Holds the semaphore through a guard for `hold`, recording when it has it.
gale::Task<void> hold_semaphore(gale::Semaphore& semaphore, History& history, int index,
                                gale::IOLoop::Duration hold) {
    auto guard = co_await semaphore.acquire();
    history.push_back("acquired " + std::to_string(index));
    co_await gale::sleep(hold);
    history.push_back("release " + std::to_string(index));
}

gale::Task<void> hold_lock(gale::Lock& lock, History& history, int index) {
    auto guard = co_await lock.acquire();
    history.push_back(std::to_string(index));
}

gale::Task<void> release_later(gale::Semaphore& semaphore, gale::IOLoop::Duration delay) {
    co_await gale::sleep(delay);
    semaphore.release();
}

gale::Task<void> notify_later(gale::Condition& condition, gale::IOLoop::Duration delay) {
    co_await gale::sleep(delay);
    condition.notify();
}

gale::Task<void> set_later(gale::Event& event, gale::IOLoop::Duration delay) {
    co_await gale::sleep(delay);
    event.set();
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Condition

TEST_CASE("Condition: a wait completes when notified", "[locks][condition]") {
    auto body = []() -> gale::Task<void> {
        gale::Condition condition;
        gale::TaskGroup group;
        group.spawn(notify_later(condition, 10ms));
        bool notified = co_await condition.wait();
        CHECK(notified);
        co_await group.join();
    };
    gale::test::run(body());
}

TEST_CASE("Condition: notify(1) wakes one waiter at a time, never inline", "[locks][condition]") {
    auto body = []() -> gale::Task<void> {
        gale::Condition condition;
        History history;
        gale::TaskGroup group;
        group.spawn(record(condition.wait(), history, "wait1"));
        group.spawn(record(condition.wait(), history, "wait2"));
        co_await turns(1);
        CHECK(condition.waiter_count() == 2);
        condition.notify(1);
        CHECK(history.empty());  // the waiter resumes at the next iteration
        CHECK(condition.waiter_count() == 1);
        co_await turns(1);
        CHECK(history == History{"wait1"});
        condition.notify(1);
        co_await turns(1);
        CHECK(history == History{"wait1", "wait2"});
        co_await group.join();
    };
    gale::test::run(body());
}

TEST_CASE("Condition: notify(n) wakes n waiters in the order they came", "[locks][condition]") {
    auto body = []() -> gale::Task<void> {
        gale::Condition condition;
        History history;
        gale::TaskGroup group;
        for (int i = 0; i < 6; ++i) {
            group.spawn(record(condition.wait(), history, std::to_string(i)));
        }
        co_await turns(1);
        condition.notify(3);
        co_await turns(1);
        CHECK(history == History{"0", "1", "2"});
        condition.notify(1);
        co_await turns(1);
        CHECK(history == History{"0", "1", "2", "3"});
        condition.notify(2);
        co_await turns(1);
        CHECK(history == History{"0", "1", "2", "3", "4", "5"});
        condition.notify(5);  // nobody waits: nothing happens
        co_await group.join();
    };
    gale::test::run(body());
}

TEST_CASE("Condition: notify_all wakes every waiter in order", "[locks][condition]") {
    auto body = []() -> gale::Task<void> {
        gale::Condition condition;
        History history;
        gale::TaskGroup group;
        for (int i = 0; i < 4; ++i) {
            group.spawn(record(condition.wait(), history, std::to_string(i)));
        }
        co_await turns(1);
        condition.notify_all();
        history.push_back("notify_all");
        co_await turns(1);
        CHECK(history == History{"notify_all", "0", "1", "2", "3"});
        CHECK(condition.waiter_count() == 0);
        co_await group.join();
    };
    gale::test::run(body());
}

TEST_CASE("Condition: a wait that times out returns false", "[locks][condition]") {
    auto body = []() -> gale::Task<void> {
        gale::Condition condition;
        gale::TaskGroup group;
        group.spawn(notify_later(condition, 40ms));  // too late
        bool notified = co_await condition.wait(10ms);
        CHECK_FALSE(notified);
        CHECK(condition.waiter_count() == 0);
        co_await group.join();
    };
    gale::test::run(body());
}

TEST_CASE("Condition: a notification before the timeout wins", "[locks][condition]") {
    auto body = []() -> gale::Task<void> {
        gale::Condition condition;
        gale::TaskGroup group;
        group.spawn(notify_later(condition, 10ms));
        bool notified = co_await condition.wait(10s);
        CHECK(notified);
        // The timer of the wait was cancelled with it: sleeping past it is harmless.
        co_await group.join();
    };
    gale::test::run(body());
}

TEST_CASE("Condition: timeouts as an absolute deadline, and a deadline already passed",
          "[locks][condition]") {
    auto body = []() -> gale::Task<void> {
        gale::Condition condition;
        auto started = gale::IOLoop::Clock::now();
        bool notified = co_await condition.wait(started + 10ms);
        CHECK_FALSE(notified);
        CHECK(gale::IOLoop::Clock::now() - started >= 10ms);
        // A deadline in the past gives up at once, without waiting in the queue.
        notified = co_await condition.wait(gale::IOLoop::Clock::now() - 1s);
        CHECK_FALSE(notified);
        notified = co_await condition.wait(0ms);
        CHECK_FALSE(notified);
        CHECK(condition.waiter_count() == 0);
    };
    gale::test::run(body());
}

TEST_CASE("Condition: a timed-out waiter does not count against notify(n)", "[locks][condition]") {
    auto body = []() -> gale::Task<void> {
        gale::Condition condition;
        History history;
        gale::TaskGroup group;
        group.spawn(record(condition.wait(), history, "0"));
        group.spawn(record(condition.wait(10ms), history, "1"));
        group.spawn(record(condition.wait(), history, "2"));
        group.spawn(record(condition.wait(), history, "3"));
        co_await gale::sleep(50ms);
        CHECK(history == History{"1:timeout"});
        CHECK(condition.waiter_count() == 3);
        condition.notify(2);
        co_await turns(1);
        CHECK(history == History{"1:timeout", "0", "2"});
        condition.notify();
        co_await turns(1);
        CHECK(history == History{"1:timeout", "0", "2", "3"});
        co_await group.join();
    };
    gale::test::run(body());
}

TEST_CASE("Condition: notify_all skips timed-out waiters", "[locks][condition]") {
    auto body = []() -> gale::Task<void> {
        gale::Condition condition;
        History history;
        gale::TaskGroup group;
        group.spawn(record(condition.wait(), history, "0"));
        group.spawn(record(condition.wait(10ms), history, "1"));
        group.spawn(record(condition.wait(), history, "2"));
        co_await gale::sleep(50ms);
        CHECK(history == History{"1:timeout"});
        condition.notify_all();
        co_await turns(1);
        CHECK(history == History{"1:timeout", "0", "2"});
        co_await group.join();
    };
    gale::test::run(body());
}

TEST_CASE("Condition: a woken waiter that notifies again loses nothing", "[locks][condition]") {
    auto body = []() -> gale::Task<void> {
        gale::Condition condition;
        History history;
        gale::TaskGroup group;
        group.spawn(record(condition.wait(), history, "0"));
        group.spawn(wait_then_notify(condition, history, "1"));
        group.spawn(record(condition.wait(), history, "2"));
        co_await turns(1);
        condition.notify(2);
        co_await turns(2);
        CHECK(history == History{"0", "1", "2"});
        co_await group.join();
    };
    gale::test::run(body());
}

TEST_CASE("Condition: timed-out waiters leave the queue at once", "[locks][condition]") {
    auto body = []() -> gale::Task<void> {
        gale::Condition condition;
        History history;
        gale::TaskGroup group;
        for (int i = 0; i < 101; ++i) {
            group.spawn(record(condition.wait(10ms), history, "timed"));
        }
        group.spawn(record(condition.wait(), history, "last"));
        co_await turns(1);
        CHECK(condition.waiter_count() == 102);
        co_await gale::sleep(50ms);
        CHECK(condition.waiter_count() == 1);
        CHECK(history.size() == 101);
        condition.notify();
        co_await turns(1);
        CHECK(history.back() == "last");
        co_await group.join();
    };
    gale::test::run(body());
}

TEST_CASE("Condition: a notification is not remembered for later waiters", "[locks][condition]") {
    auto body = []() -> gale::Task<void> {
        gale::Condition condition;
        condition.notify();
        condition.notify_all();
        bool notified = co_await condition.wait(10ms);
        CHECK_FALSE(notified);
    };
    gale::test::run(body());
}

// ---------------------------------------------------------------------------------------
// Event

TEST_CASE("Event: set wakes the waiters; waits on a set event complete at once", "[locks][event]") {
    auto body = []() -> gale::Task<void> {
        gale::Event event;
        CHECK_FALSE(event.is_set());
        History history;
        gale::TaskGroup group;
        group.spawn(record(event.wait(), history, "0"));
        group.spawn(record(event.wait(), history, "1"));
        co_await turns(1);
        CHECK(event.waiter_count() == 2);
        event.set();
        CHECK(history.empty());  // never inline
        co_await turns(1);
        CHECK(history == History{"0", "1"});
        co_await event.wait();  // set: completes at once
        event.clear();
        CHECK_FALSE(event.is_set());
        group.spawn(record(event.wait(), history, "2"));
        co_await turns(2);
        CHECK(history.size() == 2);  // waits again after clear
        event.set();
        co_await group.join();
        CHECK(history.back() == "2");
    };
    gale::test::run(body());
}

TEST_CASE("Event: a wait that times out throws TimeoutError; the event still works",
          "[locks][event]") {
    auto body = []() -> gale::Task<void> {
        gale::Event event;
        bool timed_out = false;
        try {
            co_await event.wait(10ms);
        } catch (const gale::TimeoutError& error) {
            timed_out = true;
            CHECK(std::string(error.what()).find("Event::wait") != std::string::npos);
        }
        CHECK(timed_out);
        CHECK(event.waiter_count() == 0);
        gale::TaskGroup group;
        group.spawn(set_later(event, 10ms));
        co_await event.wait(10s);
        co_await event.wait(gale::IOLoop::Clock::now() + 10s);
        co_await group.join();
    };
    gale::test::run(body());
}

TEST_CASE("Event: setting twice is harmless", "[locks][event]") {
    gale::Event event;
    event.set();
    event.set();
    CHECK(event.is_set());
}

TEST_CASE("Event: a clear before set does not strand earlier waiters", "[locks][event]") {
    auto body = []() -> gale::Task<void> {
        gale::Event event;
        History history;
        gale::TaskGroup group;
        group.spawn(record(event.wait(), history, "0"));
        co_await turns(1);
        event.clear();
        group.spawn(record(event.wait(), history, "1"));
        co_await turns(1);
        event.set();
        co_await group.join();
        CHECK(history == History{"0", "1"});
    };
    gale::test::run(body());
}

// ---------------------------------------------------------------------------------------
// Semaphore

TEST_CASE("Semaphore: a negative initial value is an error", "[locks][semaphore]") {
    CHECK_THROWS_WITH(gale::Semaphore(-1), Catch::Contains("-1"));
    CHECK_THROWS_AS(gale::BoundedSemaphore(-2), gale::Error);
    gale::Semaphore zero(0);
    CHECK(zero.value() == 0);
}

TEST_CASE("Semaphore: acquire takes a unit or waits for a release, in order",
          "[locks][semaphore]") {
    auto body = []() -> gale::Task<void> {
        gale::Semaphore semaphore;
        co_await semaphore.acquire_unguarded();  // free: completes at once
        CHECK(semaphore.value() == 0);
        History history;
        gale::TaskGroup group;
        group.spawn(record(semaphore.acquire_unguarded(), history, "1"));
        group.spawn(record(semaphore.acquire_unguarded(), history, "2"));
        co_await turns(1);
        CHECK(history.empty());
        CHECK(semaphore.waiter_count() == 2);
        semaphore.release();
        CHECK(history.empty());  // never inline
        co_await turns(1);
        CHECK(history == History{"1"});
        semaphore.release();
        co_await turns(1);
        CHECK(history == History{"1", "2"});
        semaphore.release();
        CHECK(semaphore.value() == 1);
        co_await semaphore.acquire_unguarded();
        CHECK(semaphore.waiter_count() == 0);
        co_await group.join();
    };
    gale::test::run(body());
}

TEST_CASE("Semaphore: acquire times out with TimeoutError and takes nothing",
          "[locks][semaphore]") {
    auto body = []() -> gale::Task<void> {
        gale::Semaphore semaphore(2);
        co_await semaphore.acquire_unguarded();
        co_await semaphore.acquire_unguarded();
        gale::TaskGroup group;
        group.spawn(release_later(semaphore, 40ms));  // too late
        bool timed_out = false;
        try {
            co_await semaphore.acquire_unguarded(10ms);
        } catch (const gale::TimeoutError& error) {
            timed_out = true;
            CHECK(std::string(error.what()).find("Semaphore::acquire") != std::string::npos);
        }
        CHECK(timed_out);
        co_await group.join();
        CHECK(semaphore.value() == 1);  // the late release went to the counter
        co_await semaphore.acquire_unguarded();
        History history;
        group.spawn(record(semaphore.acquire_unguarded(), history, "waiter"));
        co_await turns(1);
        CHECK(history.empty());
        semaphore.release();
        co_await group.join();
        CHECK(history == History{"waiter"});
    };
    gale::test::run(body());
}

TEST_CASE("Semaphore: a release before the timeout wins", "[locks][semaphore]") {
    auto body = []() -> gale::Task<void> {
        gale::Semaphore semaphore(1);
        co_await semaphore.acquire_unguarded();
        gale::TaskGroup group;
        group.spawn(release_later(semaphore, 10ms));
        auto guard = co_await semaphore.acquire(gale::IOLoop::Clock::now() + 10s);
        CHECK(guard.owns());
        co_await group.join();
    };
    gale::test::run(body());
}

TEST_CASE("Semaphore: releases beyond the initial value raise the counter", "[locks][semaphore]") {
    auto body = []() -> gale::Task<void> {
        gale::Semaphore semaphore;
        semaphore.release();
        semaphore.release();
        CHECK(semaphore.value() == 3);
        co_await semaphore.acquire_unguarded();
        co_await semaphore.acquire_unguarded();
        co_await semaphore.acquire_unguarded();
        History history;
        gale::TaskGroup group;
        group.spawn(record(semaphore.acquire_unguarded(), history, "fourth"));
        co_await turns(2);
        CHECK(history.empty());
        semaphore.release();
        co_await group.join();
    };
    gale::test::run(body());
}

TEST_CASE("Semaphore: timed-out waiters leave the queue at once", "[locks][semaphore]") {
    auto body = []() -> gale::Task<void> {
        gale::Semaphore semaphore(0);
        History history;
        gale::TaskGroup group;
        for (int i = 0; i < 101; ++i) {
            group.spawn(record(semaphore.acquire_unguarded(10ms), history, "timed"));
        }
        group.spawn(record(semaphore.acquire_unguarded(), history, "last"));
        co_await turns(1);
        CHECK(semaphore.waiter_count() == 102);
        co_await gale::sleep(50ms);
        CHECK(semaphore.waiter_count() == 1);
        CHECK(history.size() == 101);
        CHECK(history.front() == "timed:timeout");
        semaphore.release();
        co_await group.join();
        CHECK(history.back() == "last");
        CHECK(semaphore.value() == 0);
    };
    gale::test::run(body());
}

TEST_CASE("Semaphore: the guard releases at the end of its scope", "[locks][semaphore]") {
    auto body = []() -> gale::Task<void> {
        gale::Semaphore semaphore;
        {
            auto guard = co_await semaphore.acquire();
            CHECK(semaphore.value() == 0);
        }
        CHECK(semaphore.value() == 1);
        {
            auto guard = co_await semaphore.acquire(10ms);  // with a timeout, free at once
            gale::Semaphore::Guard moved = std::move(guard);
            CHECK_FALSE(guard.owns());
            CHECK(moved.owns());
            moved.release();
            CHECK(semaphore.value() == 1);
            moved.release();  // the second time does nothing
            CHECK(semaphore.value() == 1);
        }
        CHECK(semaphore.value() == 1);
    };
    gale::test::run(body());
}

TEST_CASE("Semaphore: the guard releases when the scope ends with an exception",
          "[locks][semaphore]") {
    auto body = []() -> gale::Task<void> {
        gale::Semaphore semaphore;
        bool caught = false;
        try {
            auto guard = co_await semaphore.acquire();
            throw std::runtime_error("inside");
        } catch (const std::runtime_error&) {
            caught = true;
        }
        CHECK(caught);
        CHECK(semaphore.value() == 1);
    };
    gale::test::run(body());
}

TEST_CASE("Semaphore: a timed-out guarded acquire leaves the counter alone", "[locks][semaphore]") {
    auto body = []() -> gale::Task<void> {
        gale::Semaphore semaphore(0);
        bool timed_out = false;
        try {
            auto guard = co_await semaphore.acquire(10ms);
        } catch (const gale::TimeoutError&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(semaphore.value() == 0);
    };
    gale::test::run(body());
}

TEST_CASE("Semaphore: contended guards run one after the other", "[locks][semaphore]") {
    auto body = []() -> gale::Task<void> {
        gale::Semaphore semaphore;
        History history;
        gale::TaskGroup group;
        group.spawn(hold_semaphore(semaphore, history, 0, 10ms));
        group.spawn(hold_semaphore(semaphore, history, 1, 10ms));
        co_await group.join();
        CHECK(history == History{"acquired 0", "release 0", "acquired 1", "release 1"});
        CHECK(semaphore.value() == 1);
    };
    gale::test::run(body());
}

TEST_CASE("Semaphore: a released unit goes to the waiter, not to a newcomer",
          "[locks][semaphore]") {
    auto body = []() -> gale::Task<void> {
        gale::Semaphore semaphore(0);
        History history;
        gale::TaskGroup group;
        group.spawn(record(semaphore.acquire_unguarded(), history, "waiter"));
        co_await turns(1);
        semaphore.release();
        CHECK(semaphore.value() == 0);  // handed over, not left on the counter
        bool timed_out = false;
        try {
            co_await semaphore.acquire_unguarded(0ms);
        } catch (const gale::TimeoutError&) {
            timed_out = true;
        }
        CHECK(timed_out);
        co_await group.join();
        CHECK(history == History{"waiter"});
    };
    gale::test::run(body());
}

TEST_CASE("BoundedSemaphore: releasing above the initial value throws", "[locks][semaphore]") {
    auto body = []() -> gale::Task<void> {
        gale::BoundedSemaphore semaphore;
        CHECK_THROWS_WITH(semaphore.release(), Catch::Contains("initial value 1"));
        co_await semaphore.acquire_unguarded();
        History history;
        gale::TaskGroup group;
        group.spawn(record(semaphore.acquire_unguarded(), history, "waiter"));
        co_await turns(1);
        CHECK(history.empty());
        semaphore.release();
        co_await group.join();
        CHECK(history == History{"waiter"});
        semaphore.release();
        CHECK(semaphore.value() == 1);
        CHECK_THROWS_AS(semaphore.release(), gale::Error);
        CHECK(semaphore.value() == 1);
    };
    gale::test::run(body());
}

TEST_CASE("BoundedSemaphore: a guard after a release by hand does not exceed the bound",
          "[locks][semaphore]") {
    auto body = []() -> gale::Task<void> {
        gale::BoundedSemaphore semaphore(2);
        {
            auto guard = co_await semaphore.acquire();
            semaphore.release();  // wrong, but allowed: the value is back to 2
            CHECK(semaphore.value() == 2);
        }  // the guard logs the misuse instead of throwing from a destructor
        CHECK(semaphore.value() == 2);
    };
    gale::test::run(body());
}

// ---------------------------------------------------------------------------------------
// Lock

TEST_CASE("Lock: acquire and release", "[locks][lock]") {
    auto body = []() -> gale::Task<void> {
        gale::Lock lock;
        CHECK_FALSE(lock.locked());
        co_await lock.acquire_unguarded();
        CHECK(lock.locked());
        History history;
        gale::TaskGroup group;
        group.spawn(record(lock.acquire_unguarded(), history, "second"));
        co_await turns(1);
        CHECK(history.empty());
        lock.release();
        CHECK(lock.locked());  // handed to the waiter
        co_await group.join();
        CHECK(history == History{"second"});
        lock.release();
        CHECK_FALSE(lock.locked());
    };
    gale::test::run(body());
}

TEST_CASE("Lock: waiters get the lock in the order they came", "[locks][lock]") {
    auto body = []() -> gale::Task<void> {
        gale::Lock lock;
        co_await lock.acquire_unguarded();
        History history;
        gale::TaskGroup group;
        for (int i = 0; i < 5; ++i) {
            group.spawn(hold_lock(lock, history, i));
        }
        co_await turns(1);
        CHECK(history.empty());
        CHECK(lock.waiter_count() == 5);
        lock.release();
        co_await group.join();
        CHECK(history == History{"0", "1", "2", "3", "4"});
        CHECK_FALSE(lock.locked());
    };
    gale::test::run(body());
}

TEST_CASE("Lock: acquire times out with TimeoutError; the lock stays held", "[locks][lock]") {
    auto body = []() -> gale::Task<void> {
        gale::Lock lock;
        auto held = co_await lock.acquire();
        bool timed_out = false;
        try {
            auto second = co_await lock.acquire(10ms);
        } catch (const gale::TimeoutError& error) {
            timed_out = true;
            CHECK(std::string(error.what()).find("Lock::acquire") != std::string::npos);
        }
        CHECK(timed_out);
        CHECK(lock.locked());
        CHECK(lock.waiter_count() == 0);
        held.release();
        CHECK_FALSE(lock.locked());
    };
    gale::test::run(body());
}

TEST_CASE("Lock: releasing an unlocked lock throws", "[locks][lock]") {
    auto body = []() -> gale::Task<void> {
        gale::Lock lock;
        CHECK_THROWS_WITH(lock.release(), Catch::Contains("not locked"));
        co_await lock.acquire_unguarded();
        lock.release();
        CHECK_THROWS_AS(lock.release(), gale::Error);
        {
            auto guard = co_await lock.acquire();
            lock.release();  // by hand, then the guard: logged, not thrown
        }
        CHECK_FALSE(lock.locked());
    };
    gale::test::run(body());
}

// ---------------------------------------------------------------------------------------
// Cancellation

TEST_CASE("A cancelled waiter leaves the queue and is skipped", "[locks][cancellation]") {
    auto body = []() -> gale::Task<void> {
        gale::Condition condition;
        gale::Semaphore semaphore(0);
        History history;
        gale::TaskGroup cancelled;
        gale::TaskGroup live;
        cancelled.spawn(record(condition.wait(10s), history, "c0"));
        cancelled.spawn(record(semaphore.acquire_unguarded(10s), history, "s0"));
        live.spawn(record(condition.wait(), history, "c1"));
        live.spawn(record(semaphore.acquire_unguarded(), history, "s1"));
        co_await turns(1);
        CHECK(condition.waiter_count() == 2);
        CHECK(semaphore.waiter_count() == 2);
        cancelled.cancel();
        CHECK(condition.waiter_count() == 1);  // unlinked at once
        CHECK(semaphore.waiter_count() == 1);
        CHECK(history.empty());  // resumed later, from the loop
        co_await cancelled.join();
        CHECK(sorted(history) == History{"c0:cancelled", "s0:cancelled"});
        condition.notify(1);
        semaphore.release();
        co_await live.join();
        CHECK(sorted(history) == History{"c0:cancelled", "c1", "s0:cancelled", "s1"});
        CHECK(semaphore.value() == 0);
    };
    gale::test::run(body());
}

TEST_CASE("A notification handed to a waiter cancelled before it resumed passes on",
          "[locks][cancellation]") {
    auto body = []() -> gale::Task<void> {
        gale::Condition condition;
        History history;
        gale::TaskGroup first;
        gale::TaskGroup others;
        first.spawn(record(condition.wait(), history, "first"));
        co_await turns(1);
        others.spawn(record(condition.wait(), history, "second"));
        others.spawn(record(condition.wait(), history, "third"));
        co_await turns(1);
        condition.notify(1);  // to "first", which resumes at the next iteration...
        first.cancel();       // ...but is cancelled before that
        co_await first.join();
        co_await turns(1);
        CHECK(history == History{"first:cancelled", "second"});
        CHECK(condition.waiter_count() == 1);
        condition.notify(1);
        co_await others.join();
        CHECK(history == History{"first:cancelled", "second", "third"});
    };
    gale::test::run(body());
}

TEST_CASE("A unit handed to a waiter cancelled before it resumed passes on",
          "[locks][cancellation]") {
    auto body = []() -> gale::Task<void> {
        gale::Semaphore semaphore(0);
        gale::Lock lock;
        co_await lock.acquire_unguarded();
        History history;
        gale::TaskGroup first;
        gale::TaskGroup others;
        first.spawn(record(semaphore.acquire_unguarded(), history, "s-first"));
        first.spawn(record(lock.acquire_unguarded(), history, "l-first"));
        co_await turns(1);
        others.spawn(record(semaphore.acquire_unguarded(), history, "s-second"));
        others.spawn(record(lock.acquire_unguarded(), history, "l-second"));
        co_await turns(1);
        semaphore.release();
        lock.release();
        first.cancel();
        co_await first.join();
        co_await others.join();
        CHECK(sorted(history) ==
              History{"l-first:cancelled", "l-second", "s-first:cancelled", "s-second"});
        CHECK(semaphore.value() == 0);
        CHECK(lock.locked());
        // With nobody else waiting, the unit goes back to the counter.
        first.spawn(record(semaphore.acquire_unguarded(), history, "s-third"));
        first.spawn(record(lock.acquire_unguarded(), history, "l-third"));
        co_await turns(1);
        semaphore.release();
        lock.release();
        first.cancel();
        co_await first.join();
        CHECK(semaphore.value() == 1);
        CHECK_FALSE(lock.locked());
    };
    gale::test::run(body());
}

TEST_CASE("An Event waiter cancelled after the set reports the cancellation",
          "[locks][cancellation]") {
    auto body = []() -> gale::Task<void> {
        gale::Event event;
        History history;
        gale::TaskGroup first;
        gale::TaskGroup second;
        first.spawn(record(event.wait(), history, "first"));
        second.spawn(record(event.wait(), history, "second"));
        co_await turns(1);
        event.set();
        first.cancel();
        co_await first.join();
        co_await second.join();
        CHECK(history == History{"first:cancelled", "second"});
    };
    gale::test::run(body());
}

TEST_CASE("A wait in a cancelled task fails at once unless it is granted at once",
          "[locks][cancellation]") {
    auto body = []() -> gale::Task<void> {
        gale::Condition condition;
        gale::Semaphore busy(0);
        gale::Semaphore free(1);
        gale::Event event;
        History history;
        gale::TaskGroup group;
        group.cancel();
        group.spawn(record(condition.wait(), history, "condition"));
        group.spawn(record(busy.acquire_unguarded(), history, "busy"));
        group.spawn(record(free.acquire_unguarded(), history, "free"));
        group.spawn(record(event.wait(), history, "event"));
        co_await group.join();
        CHECK(history ==
              History{"condition:cancelled", "busy:cancelled", "free", "event:cancelled"});
        CHECK(condition.waiter_count() == 0);
        CHECK(busy.waiter_count() == 0);
        CHECK(free.value() == 0);
    };
    gale::test::run(body());
}

TEST_CASE("with_timeout around a wait cancels the wait", "[locks][cancellation]") {
    auto body = []() -> gale::Task<void> {
        gale::Lock lock;
        auto held = co_await lock.acquire();
        bool timed_out = false;
        try {
            auto second = co_await gale::with_timeout(10ms, lock.acquire());
        } catch (const gale::TimeoutError&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(lock.waiter_count() == 0);
        held.release();
        auto again = co_await lock.acquire(0ms);
        CHECK(again.owns());
    };
    gale::test::run(body());
}

TEST_CASE("Destroying the loop with waiters pending unwinds them cleanly",
          "[locks][cancellation]") {
    gale::Condition condition;
    gale::Event event;
    gale::Semaphore semaphore(0);
    gale::Lock lock;
    History history;
    {
        gale::IOLoop loop(gale::IOLoopOptions{.log_backend = false});
        loop.make_current();
        gale::spawn(lock.acquire_unguarded());  // holds the lock
        gale::spawn(record(condition.wait(), history, "condition"));
        gale::spawn(record(condition.wait(1h), history, "condition-timed"));
        gale::spawn(record(event.wait(1h), history, "event"));
        gale::spawn(record(semaphore.acquire(), history, "semaphore"));
        gale::spawn(record(lock.acquire(1h), history, "lock"));
        loop.run_sync(turns(3));
        CHECK(condition.waiter_count() == 2);
        CHECK(lock.waiter_count() == 1);
    }
    CHECK(history.size() == 5);
    for (const std::string& entry : history) {
        CHECK(entry.find(":cancelled") != std::string::npos);
    }
    CHECK(condition.waiter_count() == 0);
    CHECK(event.waiter_count() == 0);
    CHECK(semaphore.waiter_count() == 0);
    CHECK(lock.waiter_count() == 0);
}

TEST_CASE("Destroying a primitive with waiters resumes them with OperationCancelled",
          "[locks][cancellation]") {
    auto body = []() -> gale::Task<void> {
        auto condition = std::make_unique<gale::Condition>();
        auto lock = std::make_unique<gale::Lock>();
        co_await lock->acquire_unguarded();
        History history;
        gale::TaskGroup group;
        group.spawn(record(condition->wait(), history, "condition"));
        group.spawn(record(condition->wait(1h), history, "condition-timed"));
        group.spawn(record(lock->acquire_unguarded(1h), history, "lock"));
        co_await turns(1);
        condition.reset();
        lock.reset();
        CHECK(history.empty());
        co_await group.join();
        CHECK(history ==
              History{"condition:cancelled", "condition-timed:cancelled", "lock:cancelled"});
    };
    gale::test::run(body());
}

// ---------------------------------------------------------------------------------------
// Random interleavings: whatever mix of acquisitions, timeouts and cancellations, units are
// conserved, never exceed the initial value, and are never left free while a task waits.

namespace {

std::optional<gale::IOLoop::Duration> random_timeout(std::minstd_rand& random) {
    switch (random() % 3) {
        case 0:
            return std::nullopt;
        case 1:
            return 0ms;
        default:
            return 1ms;
    }
}

// Acquires, holds for `hold_turns` iterations, releases through the guard.
gale::Task<void> random_holder(gale::Semaphore& semaphore, std::size_t& holding, int hold_turns,
                               std::optional<gale::IOLoop::Duration> timeout) {
    try {
        gale::Semaphore::Guard guard;
        if (timeout) {
            guard = co_await semaphore.acquire(*timeout);
        } else {
            guard = co_await semaphore.acquire();
        }
        ++holding;
        struct Count {
            std::size_t& holding;
            ~Count() { --holding; }
        } count{holding};
        co_await gale::sleep(std::chrono::microseconds(hold_turns * 300));
    } catch (const gale::TimeoutError&) {
    } catch (const gale::OperationCancelled&) {
    }
}

gale::Task<void> exercise_semaphore(unsigned seed) {
    std::minstd_rand random(seed);
    const std::size_t initial = random() % 3;
    gale::BoundedSemaphore semaphore(static_cast<std::ptrdiff_t>(initial));
    std::size_t holding = 0;
    std::vector<std::unique_ptr<gale::TaskGroup>> groups;
    for (int step = 0; step < 300; ++step) {
        switch (random() % 5) {
            case 0:
            case 1:
                groups.push_back(std::make_unique<gale::TaskGroup>());
                groups.back()->spawn(random_holder(
                    semaphore, holding, static_cast<int>(random() % 3), random_timeout(random)));
                break;
            case 2:
                if (!groups.empty()) {
                    groups[random() % groups.size()]->cancel();
                }
                break;
            case 3:
                co_await turns(1);
                break;
            default:
                if (random() % 4 == 0) {
                    co_await gale::sleep(1ms);
                }
                break;
        }
        CHECK(semaphore.value() + holding <= initial);
        if (semaphore.value() > 0) {
            CHECK(semaphore.waiter_count() == 0);
        }
    }
    for (auto& group : groups) {
        group->cancel();
    }
    for (auto& group : groups) {
        co_await group->join();
    }
    CHECK(holding == 0);
    CHECK(semaphore.value() == initial);
    CHECK(semaphore.waiter_count() == 0);
}

}  // namespace

TEST_CASE("Random interleavings conserve semaphore units", "[locks][random]") {
    for (unsigned seed = 1; seed <= 60; ++seed) {
        INFO("seed " << seed);
        gale::test::run(exercise_semaphore(seed));
    }
}
