#include <gale/ioloop/combinators.hpp>
#include <gale/ioloop/iostream.hpp>
#include <gale/ioloop/periodic_callback.hpp>
#include <gale/ioloop/task_group.hpp>

#include <catch2/catch.hpp>

#include "support/helpers.hpp"

using namespace std::chrono_literals;

namespace {

gale::Task<int> value_after(int value, gale::IOLoop::Duration delay) {
    co_await gale::sleep(delay);
    co_return value;
}

gale::Task<int> fail_after(gale::IOLoop::Duration delay) {
    co_await gale::sleep(delay);
    throw std::runtime_error("failed");
}

// Sets `flag` when unwound, however it ends.
gale::Task<void> sleep_and_mark(gale::IOLoop::Duration delay, bool& unwound) {
    struct Mark {
        bool& flag;
        ~Mark() { flag = true; }
    } mark{unwound};
    co_await gale::sleep(delay);
}

}  // namespace

TEST_CASE("with_timeout returns the result when in time", "[combinators]") {
    auto body = []() -> gale::Task<int> {
        co_return co_await gale::with_timeout(1s, value_after(5, 1ms));
    };
    CHECK(gale::test::run(body()) == 5);
}

TEST_CASE("with_timeout cancels the inner task and throws TimeoutError", "[combinators]") {
    auto body = []() -> gale::Task<bool> {
        bool unwound = false;
        auto started = gale::IOLoop::Clock::now();
        try {
            co_await gale::with_timeout(20ms, sleep_and_mark(1h, unwound));
        } catch (const gale::TimeoutError&) {
            CHECK(gale::IOLoop::Clock::now() - started < 5s);
            co_return unwound;
        }
        co_return false;
    };
    CHECK(gale::test::run(body()));
}

TEST_CASE("with_timeout on a read that never completes cancels the read",
          "[combinators][iostream]") {
    auto body = []() -> gale::Task<void> {
        auto [a, b] = gale::test::socket_pair();
        gale::IOStream left(a);
        gale::IOStream right(b);
        bool timed_out = false;
        try {
            co_await gale::with_timeout(20ms, right.read_bytes(1));
        } catch (const gale::TimeoutError&) {
            timed_out = true;
        }
        CHECK(timed_out);
        // The stream is still usable: the cancelled read took nothing.
        co_await left.write("z");
        std::string byte = co_await right.read_bytes(1);
        CHECK(byte == "z");
    };
    gale::test::run(body());
}

TEST_CASE("a cancelled pending read resumes once with OperationCancelled",
          "[combinators][iostream]") {
    auto body = []() -> gale::Task<int> {
        auto [a, b] = gale::test::socket_pair();
        gale::IOStream left(a);
        gale::IOStream right(b);
        int cancelled = 0;
        int resumed = 0;
        gale::TaskGroup group;
        group.spawn([](gale::IOStream& stream, int& cancels, int& resumes) -> gale::Task<void> {
            try {
                co_await stream.read_bytes(1);
            } catch (const gale::OperationCancelled&) {
                ++cancels;
            }
            ++resumes;
        }(right, cancelled, resumed));
        co_await gale::sleep(10ms);
        group.cancel();
        co_await group.join();
        co_await gale::sleep(10ms);  // nothing else arrives later
        CHECK(resumed == 1);
        co_return cancelled;
    };
    CHECK(gale::test::run(body()) == 1);
}

TEST_CASE("when_all gathers results in order", "[combinators]") {
    auto body = []() -> gale::Task<void> {
        auto [a, b] = co_await gale::when_all(value_after(1, 5ms), value_after(2, 1ms));
        CHECK(a == 1);
        CHECK(b == 2);
        std::vector<gale::Task<int>> tasks;
        for (int i = 0; i < 10; ++i) {
            tasks.push_back(value_after(i, std::chrono::milliseconds(10 - i)));
        }
        auto values = co_await gale::when_all(std::move(tasks));
        CHECK(values == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    };
    gale::test::run(body());
}

TEST_CASE("when_all rethrows the first failure after cancelling the siblings", "[combinators]") {
    auto body = []() -> gale::Task<bool> {
        bool unwound = false;
        try {
            co_await gale::when_all(fail_after(1ms), [](bool& flag) -> gale::Task<int> {
                co_await sleep_and_mark(1h, flag);
                co_return 0;
            }(unwound));
        } catch (const std::runtime_error&) {
            co_return unwound;
        }
        co_return false;
    };
    CHECK(gale::test::run(body()));
}

TEST_CASE("when_any returns the first result and cancels the others", "[combinators]") {
    auto body = []() -> gale::Task<void> {
        std::vector<gale::Task<int>> tasks;
        tasks.push_back(value_after(1, 1h));
        tasks.push_back(value_after(2, 5ms));
        tasks.push_back(value_after(3, 1h));
        auto started = gale::IOLoop::Clock::now();
        auto first = co_await gale::when_any(std::move(tasks));
        CHECK(first.index == 1);
        CHECK(first.value == 2);
        CHECK(gale::IOLoop::Clock::now() - started < 5s);
    };
    gale::test::run(body());
}

TEST_CASE("a task group joins children, including ones spawned while joining",
          "[combinators][group]") {
    auto body = []() -> gale::Task<int> {
        int finished = 0;
        gale::TaskGroup group;
        for (int i = 0; i < 5; ++i) {
            group.spawn([](int& count, gale::TaskGroup& owner) -> gale::Task<void> {
                co_await gale::sleep(1ms);
                ++count;
                if (count == 1) {
                    owner.spawn([](int& inner) -> gale::Task<void> {
                        co_await gale::sleep(5ms);
                        ++inner;
                    }(count));
                }
            }(finished, group));
        }
        co_await group.join();
        co_return finished;
    };
    CHECK(gale::test::run(body()) == 6);
}

TEST_CASE("cancelling the joiner cancels the children", "[combinators][group]") {
    auto body = []() -> gale::Task<bool> {
        bool unwound = false;
        try {
            co_await gale::with_timeout(10ms, [](bool& flag) -> gale::Task<void> {
                gale::TaskGroup group;
                group.spawn(sleep_and_mark(1h, flag));
                co_await group.join();
            }(unwound));
        } catch (const gale::TimeoutError&) {
            co_return unwound;
        }
        co_return false;
    };
    CHECK(gale::test::run(body()));
}

TEST_CASE("a log-policy group survives failing children", "[combinators][group]") {
    auto body = []() -> gale::Task<int> {
        int completed = 0;
        gale::TaskGroup group(gale::TaskGroup::ErrorPolicy::log);
        group.spawn([]() -> gale::Task<void> {
            throw std::runtime_error("logged");
            co_return;
        }());
        group.spawn([](int& count) -> gale::Task<void> {
            co_await gale::sleep(5ms);
            ++count;
        }(completed));
        co_await group.join();
        co_return completed;
    };
    CHECK(gale::test::run(body()) == 1);
}

TEST_CASE("PeriodicCallback skips missed periods (Tornado's overrun schedule)", "[periodic]") {
    using namespace std::chrono;
    gale::IOLoop::TimePoint base{};
    auto at = [&](int seconds) { return base + std::chrono::seconds(seconds); };
    // Start at 1000 with a 10 s period; calls last 9, 9, 10, 11, 20, 20, 35, 35, 0, 0.
    std::vector<int> durations = {9, 9, 10, 11, 20, 20, 35, 35, 0, 0};
    std::vector<int> expected = {1010, 1020, 1030, 1050, 1070, 1100, 1130, 1170, 1210, 1220, 1230};
    gale::IOLoop::TimePoint next = at(1010);
    std::vector<int> calls;
    for (int duration : durations) {
        calls.push_back(static_cast<int>(duration_cast<std::chrono::seconds>(next - base).count()));
        next =
            gale::PeriodicCallback::next_deadline(next, next + std::chrono::seconds(duration), 10s);
    }
    calls.push_back(static_cast<int>(duration_cast<std::chrono::seconds>(next - base).count()));
    CHECK(calls == expected);
}

TEST_CASE("PeriodicCallback runs repeatedly until stopped", "[periodic]") {
    gale::IOLoop loop(gale::IOLoopOptions{.log_backend = false});
    loop.make_current();
    int calls = 0;
    gale::PeriodicCallback periodic(
        [&] {
            if (++calls == 3) {
                loop.stop();
            }
        },
        2ms);
    periodic.start();
    CHECK(periodic.is_running());
    loop.call_later(5s, [&] { loop.stop(); });
    loop.run();
    periodic.stop();
    CHECK(calls == 3);
    CHECK_FALSE(periodic.is_running());
}
