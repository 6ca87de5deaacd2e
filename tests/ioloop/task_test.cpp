#include <gale/ioloop/combinators.hpp>
#include <gale/ioloop/ioloop.hpp>
#include <gale/ioloop/task_group.hpp>

#include <catch2/catch.hpp>

#include "support/helpers.hpp"

#include <stdexcept>
#include <vector>

using namespace std::chrono_literals;

namespace {

gale::Task<int> forty_two() {
    co_return 42;
}

gale::Task<int> add_one(int value) {
    co_return value + 1;
}

gale::Task<void> throws_runtime_error() {
    throw std::runtime_error("boom");
    co_return;
}

gale::Task<std::unique_ptr<int>> move_only() {
    co_return std::make_unique<int>(7);
}

gale::Task<long> sum_of_ready_awaits(int count) {
    long total = 0;
    for (int i = 0; i < count; ++i) {
        total += co_await add_one(i);
    }
    co_return total;
}

}  // namespace

TEST_CASE("a task returns its value to the awaiter", "[task]") {
    CHECK(gale::test::run(forty_two()) == 42);
    CHECK(*gale::test::run(move_only()) == 7);
}

TEST_CASE("a task is lazy: its body runs only when awaited", "[task]") {
    bool ran = false;
    auto body = [](bool& flag) -> gale::Task<void> {
        flag = true;
        co_return;
    };
    auto task = body(ran);
    CHECK_FALSE(ran);
    gale::test::run(std::move(task));
    CHECK(ran);
}

TEST_CASE("exceptions propagate to the co_await", "[task]") {
    auto outer = []() -> gale::Task<std::string> {
        try {
            co_await throws_runtime_error();
        } catch (const std::runtime_error& error) {
            co_return std::string(error.what());
        }
        co_return std::string("not thrown");
    };
    CHECK(gale::test::run(outer()) == "boom");
    CHECK_THROWS_AS(gale::test::run(throws_runtime_error()), std::runtime_error);
}

TEST_CASE("100,000 co_awaits of tasks that finish at once do not grow the stack", "[task]") {
    // Symmetric transfer: each await resumes the next frame by a tail call. Without it this
    // overflows the stack (especially under AddressSanitizer).
    constexpr int count = 100'000;
    long expected = static_cast<long>(count) * (count + 1) / 2;
    CHECK(gale::test::run(sum_of_ready_awaits(count)) == expected);
}

TEST_CASE("an empty Task<void> is complete when awaited", "[task]") {
    // What a function with nothing to run may return instead of starting a coroutine.
    auto nothing = []() -> gale::Task<void> { return {}; };
    auto outer = [](gale::Task<void> (*empty)()) -> gale::Task<int> {
        co_await empty();
        gale::Task<void> kept = empty();
        CHECK_FALSE(kept.valid());
        co_await kept;
        co_return co_await forty_two();
    };
    CHECK(gale::test::run(outer(nothing)) == 42);
}

TEST_CASE("an empty Task<void> is complete wherever a task is awaited", "[task]") {
    auto nothing = []() -> gale::Task<void> { return {}; };
    auto outer = [](gale::Task<void> (*empty)()) -> gale::Task<std::size_t> {
        gale::spawn(empty());
        co_await gale::with_timeout(1s, empty());
        co_await gale::when_all(empty(), empty());
        std::vector<gale::Task<void>> some;
        some.push_back(empty());
        some.push_back(gale::sleep(1h));
        co_await gale::when_all([&] {
            std::vector<gale::Task<void>> all;
            all.push_back(empty());
            return all;
        }());
        gale::TaskGroup group;
        group.spawn(empty());
        co_await group.join();
        auto first =
            co_await gale::when_any(std::move(some));  // the empty one; the sleep is cancelled
        co_return first.index;
    };
    CHECK(gale::test::run(outer(nothing)) == 0);
}

TEST_CASE("a destroyed task that never ran frees its frame", "[task]") {
    auto task = forty_two();
    CHECK(task.valid());
    CHECK_FALSE(task.done());
    // Destruction at scope end; AddressSanitizer's leak check would fail otherwise.
}

TEST_CASE("run_sync times out with TimeoutError and cancels the task", "[task]") {
    bool unwound = false;
    auto sleeper = [](bool& flag) -> gale::Task<void> {
        struct Mark {
            bool& flag;
            ~Mark() { flag = true; }
        } mark{flag};
        co_await gale::sleep(10s);
    };
    gale::IOLoop loop(gale::IOLoopOptions{.log_backend = false});
    loop.make_current();
    auto started = std::chrono::steady_clock::now();
    CHECK_THROWS_AS(loop.run_sync(sleeper(unwound), 50ms), gale::TimeoutError);
    CHECK(unwound);
    CHECK(std::chrono::steady_clock::now() - started < 5s);
}

TEST_CASE("spawned tasks run detached and their exceptions do not escape", "[task]") {
    auto body = []() -> gale::Task<int> {
        int count = 0;
        gale::spawn([](int& counter) -> gale::Task<void> {
            ++counter;
            co_return;
        }(count));
        gale::spawn([]() -> gale::Task<void> {
            throw std::runtime_error("logged, not propagated");
            co_return;
        }());
        co_await gale::sleep(1ms);
        co_return count;
    };
    CHECK(gale::test::run(body()) == 1);
}

TEST_CASE("a loop destroyed with spawned tasks cancels and unwinds them", "[task]") {
    bool unwound = false;
    {
        gale::IOLoop loop(gale::IOLoopOptions{.log_backend = false});
        loop.make_current();
        loop.run_sync([](bool& flag) -> gale::Task<void> {
            gale::spawn([](bool& mark) -> gale::Task<void> {
                struct Mark {
                    bool& flag;
                    ~Mark() { flag = true; }
                } guard{mark};
                co_await gale::sleep(1h);
            }(flag));
            co_await gale::sleep(1ms);
        }(unwound));
        CHECK_FALSE(unwound);
    }
    CHECK(unwound);
}
