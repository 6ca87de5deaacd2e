// Queue, PriorityQueue and LifoQueue: the cases of Tornado's tornado/test/queues_test.py,
// plus move-only items, timeouts, cancellation (no item is ever lost) and teardown.

#include <gale/ioloop/combinators.hpp>
#include <gale/ioloop/queues.hpp>
#include <gale/ioloop/task_group.hpp>

#include <catch2/catch.hpp>

#include "support/helpers.hpp"

#include <algorithm>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <utility>
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

gale::Task<void> turns(int count) {
    for (int i = 0; i < count; ++i) {
        co_await NextIteration{};
    }
}

// The order in which a scope cancels its tasks is unspecified; compare such entries sorted.
History sorted(History history) {
    std::sort(history.begin(), history.end());
    return history;
}

// Records `label=value` for an item got, `label:timeout` or `label:cancelled` otherwise.
gale::Task<void> record_get(gale::Task<int> get, History& history, std::string label) {
    try {
        int value = co_await std::move(get);
        history.push_back(label + "=" + std::to_string(value));
    } catch (const gale::TimeoutError&) {
        history.push_back(label + ":timeout");
    } catch (const gale::OperationCancelled&) {
        history.push_back(label + ":cancelled");
    }
}

// Records `label` when the put completed, `label:timeout` or `label:cancelled` otherwise.
gale::Task<void> record_put(gale::Task<void> put, History& history, std::string label) {
    try {
        co_await std::move(put);
        history.push_back(label);
    } catch (const gale::TimeoutError&) {
        history.push_back(label + ":timeout");
    } catch (const gale::OperationCancelled&) {
        history.push_back(label + ":cancelled");
    }
}

gale::Task<void> put_later(gale::Queue<int>& queue, int item, gale::IOLoop::Duration delay) {
    co_await gale::sleep(delay);
    co_await queue.put(item);
}

gale::Task<void> get_later(gale::Queue<int>& queue, gale::IOLoop::Duration delay) {
    co_await gale::sleep(delay);
    co_await queue.get();
}

template <class Q>
gale::Task<void> drain_forever(Q& queue, long& total, unsigned seed) {
    std::minstd_rand random(seed);
    for (;;) {
        int item = co_await queue.get();
        total += item;
        queue.task_done();
        co_await gale::sleep(std::chrono::microseconds(random() % 3000));
    }
}

gale::Task<void> consume_forever(gale::Queue<int>& queue, std::vector<int>& seen) {
    for (;;) {
        int item = co_await queue.get();
        seen.push_back(item);
        queue.task_done();
    }
}

gale::Task<void> produce(gale::Queue<int>& queue, int count) {
    for (int item = 0; item < count; ++item) {
        co_await queue.put(item);
    }
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Basics

TEST_CASE("Queue: items come out in the order they went in", "[queues]") {
    gale::Queue<int> queue;
    for (int item : {1, 3, 2}) {
        queue.put_nowait(item);
    }
    std::vector<int> items;
    for (int i = 0; i < 3; ++i) {
        items.push_back(queue.get_nowait());
    }
    CHECK(items == std::vector<int>{1, 3, 2});
    CHECK(queue.empty());
}

TEST_CASE("Queue: maxsize makes put wait; a negative maxsize is an error", "[queues]") {
    CHECK_THROWS_WITH(gale::Queue<int>(-1), Catch::Contains("-1"));
    CHECK_THROWS_AS(gale::LifoQueue<int>(-5), gale::Error);
    auto body = []() -> gale::Task<void> {
        gale::Queue<int> queue(2);
        CHECK(queue.empty());
        CHECK_FALSE(queue.full());
        CHECK(queue.maxsize() == 2);
        co_await queue.put(0);  // room: completes at once
        co_await queue.put(1);
        CHECK_FALSE(queue.empty());
        CHECK(queue.full());
        History history;
        gale::TaskGroup group;
        group.spawn(record_put(queue.put(2), history, "put2"));
        co_await turns(1);
        CHECK(history.empty());
        CHECK(queue.putter_count() == 1);
        int first = co_await queue.get();  // makes room
        CHECK(first == 0);
        co_await group.join();
        CHECK(history == History{"put2"});
        CHECK(queue.full());
        CHECK(queue.qsize() == 2);
    };
    gale::test::run(body());
}

TEST_CASE("Queue: an unbounded queue is never full", "[queues]") {
    gale::Queue<int> queue;
    for (int i = 0; i < 10000; ++i) {
        queue.put_nowait(i);
    }
    CHECK_FALSE(queue.full());
    CHECK(queue.qsize() == 10000);
    CHECK(queue.maxsize() == 0);
}

// ---------------------------------------------------------------------------------------
// get

TEST_CASE("Queue: get returns a waiting item at once", "[queues][get]") {
    auto body = []() -> gale::Task<void> {
        gale::Queue<int> queue;
        queue.put_nowait(0);
        int item = co_await queue.get();
        CHECK(item == 0);
        queue.put_nowait(1);
        CHECK(queue.get_nowait() == 1);
        CHECK_THROWS_AS(queue.get_nowait(), gale::QueueEmpty);
        CHECK_THROWS_WITH(queue.get_nowait(), Catch::Contains("empty"));
        CHECK_FALSE(queue.try_get().has_value());
    };
    gale::test::run(body());
}

TEST_CASE("Queue: get makes room for a waiting putter", "[queues][get]") {
    auto body = []() -> gale::Task<void> {
        gale::Queue<int> queue(1);
        queue.put_nowait(0);
        History history;
        gale::TaskGroup group;
        group.spawn(record_put(queue.put(1), history, "put1"));
        co_await turns(1);
        int item = co_await queue.get();
        CHECK(item == 0);
        CHECK(queue.qsize() == 1);  // the putter's item went in
        co_await group.join();
        CHECK(history == History{"put1"});
        CHECK(queue.get_nowait() == 1);
    };
    gale::test::run(body());
}

TEST_CASE("Queue: get waits for items put later", "[queues][get]") {
    auto body = []() -> gale::Task<void> {
        gale::Queue<int> queue;
        queue.put_nowait(0);
        gale::TaskGroup group;
        group.spawn(put_later(queue, 1, 10ms));
        group.spawn(put_later(queue, 2, 20ms));
        int first = co_await queue.get(1s);
        int second = co_await queue.get(1s);
        int third = co_await queue.get(gale::IOLoop::Clock::now() + 1s);
        CHECK(first == 0);
        CHECK(second == 1);
        CHECK(third == 2);
        co_await group.join();
    };
    gale::test::run(body());
}

TEST_CASE("Queue: get times out with TimeoutError; later getters still get items",
          "[queues][get]") {
    auto body = []() -> gale::Task<void> {
        gale::Queue<int> queue;
        History history;
        gale::TaskGroup group;
        group.spawn(record_get(queue.get(10ms), history, "timed"));
        group.spawn(record_get(queue.get(), history, "plain"));
        co_await gale::sleep(50ms);
        CHECK(history == History{"timed:timeout"});
        CHECK(queue.getter_count() == 1);
        queue.put_nowait(0);
        co_await group.join();
        CHECK(history == History{"timed:timeout", "plain=0"});
        CHECK(queue.empty());
        bool timed_out = false;
        try {
            co_await queue.get(0ms);  // a zero timeout gives up at once
        } catch (const gale::TimeoutError& error) {
            timed_out = true;
            CHECK(std::string(error.what()).find("Queue::get") != std::string::npos);
        }
        CHECK(timed_out);
        CHECK(queue.getter_count() == 0);
    };
    gale::test::run(body());
}

TEST_CASE("Queue: timed-out putters leave at once and never put their item", "[queues][get]") {
    auto body = []() -> gale::Task<void> {
        gale::Queue<int> queue(1);
        History history;
        gale::TaskGroup group;
        for (int i = 0; i < 10; ++i) {
            group.spawn(record_put(queue.put(i, 10ms), history, "put" + std::to_string(i)));
        }
        group.spawn(record_put(queue.put(10), history, "put10"));
        co_await turns(1);
        CHECK(queue.putter_count() == 10);  // the first went in
        co_await gale::sleep(50ms);
        CHECK(queue.putter_count() == 1);  // only the one without a timeout is left
        CHECK(history.size() == 10);
        int first = co_await queue.get();
        int second = co_await queue.get();
        CHECK(first == 0);
        CHECK(second == 10);
        co_await group.join();
        CHECK(history.back() == "put10");
        CHECK(queue.empty());
    };
    gale::test::run(body());
}

TEST_CASE("Queue: timed-out getters leave at once and never take an item", "[queues][get]") {
    auto body = []() -> gale::Task<void> {
        gale::Queue<int> queue;
        History history;
        gale::TaskGroup group;
        for (int i = 0; i < 10; ++i) {
            group.spawn(record_get(queue.get(10ms), history, "timed"));
        }
        group.spawn(record_get(queue.get(), history, "plain"));
        co_await turns(1);
        CHECK(queue.getter_count() == 11);
        co_await gale::sleep(50ms);
        CHECK(queue.getter_count() == 1);
        queue.put_nowait(7);
        co_await group.join();
        CHECK(history.back() == "plain=7");
        CHECK(std::count(history.begin(), history.end(), "timed:timeout") == 10);
    };
    gale::test::run(body());
}

// ---------------------------------------------------------------------------------------
// put

TEST_CASE("Queue: put into a queue with room completes at once", "[queues][put]") {
    auto body = []() -> gale::Task<void> {
        gale::Queue<int> queue;
        co_await queue.put(0);
        CHECK(queue.get_nowait() == 0);
    };
    gale::test::run(body());
}

TEST_CASE("Queue: put_nowait on a full queue throws QueueFull", "[queues][put]") {
    gale::Queue<int> queue(1);
    queue.put_nowait(0);
    CHECK_THROWS_AS(queue.put_nowait(1), gale::QueueFull);
    CHECK_THROWS_WITH(queue.put_nowait(1), Catch::Contains("maxsize 1"));
    int item = 2;
    CHECK_FALSE(queue.try_put(std::move(item)));
    CHECK(queue.qsize() == 1);
    CHECK(queue.unfinished_tasks() == 1);
}

TEST_CASE("Queue: put hands items to waiting getters in order", "[queues][put]") {
    auto body = []() -> gale::Task<void> {
        gale::Queue<int> queue;
        History history;
        gale::TaskGroup group;
        group.spawn(record_get(queue.get(), history, "get0"));
        group.spawn(record_get(queue.get(), history, "get1"));
        co_await turns(1);
        co_await queue.put(0);
        co_await queue.put(1);
        CHECK(queue.empty());  // handed over directly
        co_await group.join();
        CHECK(history == History{"get0=0", "get1=1"});
    };
    gale::test::run(body());
}

TEST_CASE("Queue: put_nowait does not resume a getter inline", "[queues][put]") {
    auto body = []() -> gale::Task<void> {
        gale::Queue<int> queue;
        History history;
        gale::TaskGroup group;
        group.spawn(record_get(queue.get(), history, "get0"));
        group.spawn(record_get(queue.get(), history, "get1"));
        co_await turns(1);
        queue.put_nowait(0);
        CHECK(history.empty());
        co_await turns(1);
        CHECK(history == History{"get0=0"});
        queue.put_nowait(1);
        CHECK(history.size() == 1);
        co_await turns(1);
        CHECK(history == History{"get0=0", "get1=1"});
        co_await group.join();
    };
    gale::test::run(body());
}

TEST_CASE("Queue: put waits for room made later", "[queues][put]") {
    auto body = []() -> gale::Task<void> {
        gale::Queue<int> queue(1);
        queue.put_nowait(0);
        gale::TaskGroup group;
        group.spawn(get_later(queue, 10ms));
        group.spawn(get_later(queue, 20ms));
        History history;
        gale::TaskGroup putters;
        putters.spawn(record_put(queue.put(1), history, "put1"));
        putters.spawn(record_put(queue.put(2), history, "put2"));
        co_await turns(1);
        CHECK(history.empty());
        co_await putters.join();
        CHECK(history == History{"put1", "put2"});
        co_await group.join();
        CHECK(queue.get_nowait() == 2);
    };
    gale::test::run(body());
}

TEST_CASE("Queue: put times out with TimeoutError and the item is not put", "[queues][put]") {
    auto body = []() -> gale::Task<void> {
        gale::Queue<int> queue(1);
        queue.put_nowait(0);
        History history;
        gale::TaskGroup group;
        group.spawn(record_put(queue.put(1, 10ms), history, "put1"));
        group.spawn(record_put(queue.put(2), history, "put2"));
        co_await gale::sleep(50ms);
        CHECK(history == History{"put1:timeout"});
        CHECK(queue.get_nowait() == 0);
        int next = co_await queue.get();  // 1 was never put
        CHECK(next == 2);
        co_await group.join();
        CHECK(history == History{"put1:timeout", "put2"});
        CHECK(queue.unfinished_tasks() == 2);
    };
    gale::test::run(body());
}

TEST_CASE("Queue: a new put waits behind the putters already waiting", "[queues][put]") {
    auto body = []() -> gale::Task<void> {
        gale::Queue<int> queue(1);
        queue.put_nowait(0);
        History history;
        gale::TaskGroup group;
        group.spawn(record_put(queue.put(1), history, "put1"));
        co_await turns(1);
        CHECK(queue.get_nowait() == 0);  // 1 goes in, the queue stays full
        int item = 2;
        CHECK_FALSE(queue.try_put(std::move(item)));
        co_await group.join();
        CHECK(queue.get_nowait() == 1);
    };
    gale::test::run(body());
}

// ---------------------------------------------------------------------------------------
// task_done and join

TEST_CASE("Queue: task_done once too often throws", "[queues][join]") {
    gale::Queue<int> queue;
    CHECK_THROWS_WITH(queue.task_done(), Catch::Contains("task_done"));
    queue.put_nowait(1);
    CHECK(queue.unfinished_tasks() == 1);
    queue.get_nowait();
    queue.task_done();
    CHECK_THROWS_AS(queue.task_done(), gale::Error);
    CHECK(queue.unfinished_tasks() == 0);
}

TEST_CASE("Queue: join waits until two workers marked every item done", "[queues][join]") {
    auto body = []() -> gale::Task<void> {
        gale::Queue<int> queue;
        for (int i = 0; i < 100; ++i) {
            queue.put_nowait(i);
        }
        long total = 0;
        gale::TaskGroup workers;
        workers.spawn(drain_forever(queue, total, 1));
        workers.spawn(drain_forever(queue, total, 2));
        co_await queue.join();
        CHECK(total == 4950);
        CHECK(queue.unfinished_tasks() == 0);
        workers.cancel();
        co_await workers.join();
    };
    gale::test::run(body());
}

TEST_CASE("Queue: join on a queue with nothing unfinished completes at once", "[queues][join]") {
    auto body = []() -> gale::Task<void> {
        gale::Queue<int> queue;
        const auto start = gale::IOLoop::Clock::now();
        co_await queue.join();
        co_await queue.join();
        co_await queue.join(0ms);
        CHECK(queue.unfinished_tasks() == 0);
        CHECK(gale::IOLoop::Clock::now() - start < 1s);
    };
    gale::test::run(body());
}

TEST_CASE("Queue: join times out with TimeoutError", "[queues][join]") {
    auto body = []() -> gale::Task<void> {
        gale::Queue<int> queue;
        queue.put_nowait(0);
        bool timed_out = false;
        try {
            co_await queue.join(10ms);
        } catch (const gale::TimeoutError& error) {
            timed_out = true;
            CHECK(std::string(error.what()).find("Queue::join") != std::string::npos);
        }
        CHECK(timed_out);
        queue.get_nowait();
        queue.task_done();
        co_await queue.join(gale::IOLoop::Clock::now() + 1s);
    };
    gale::test::run(body());
}

TEST_CASE("Queue: a producer and a consumer through a bounded queue", "[queues][join]") {
    auto body = []() -> gale::Task<void> {
        gale::Queue<int> queue(3);
        std::vector<int> seen;
        gale::TaskGroup consumers;
        consumers.spawn(consume_forever(queue, seen));
        co_await produce(queue, 10);  // waits whenever the queue is full
        co_await queue.join();
        std::vector<int> expected(10);
        std::iota(expected.begin(), expected.end(), 0);
        CHECK(seen == expected);
        consumers.cancel();
        co_await consumers.join();
    };
    gale::test::run(body());
}

// ---------------------------------------------------------------------------------------
// PriorityQueue and LifoQueue

TEST_CASE("PriorityQueue: the lowest item comes out first", "[queues][priority]") {
    auto body = []() -> gale::Task<void> {
        using Entry = std::pair<int, std::string>;
        gale::PriorityQueue<Entry> queue(2);
        queue.put_nowait({1, "a"});
        queue.put_nowait({0, "b"});
        CHECK(queue.full());
        gale::TaskGroup group;
        group.spawn(queue.put({3, "c"}));
        group.spawn(queue.put({2, "d"}));
        co_await turns(1);
        std::vector<Entry> items;
        for (int i = 0; i < 4; ++i) {
            items.push_back(co_await queue.get());
        }
        CHECK(items == std::vector<Entry>{{0, "b"}, {1, "a"}, {2, "d"}, {3, "c"}});
        CHECK(queue.empty());
        co_await group.join();
    };
    gale::test::run(body());
}

TEST_CASE("PriorityQueue: a custom comparison", "[queues][priority]") {
    gale::PriorityQueue<int, std::greater<int>> queue;
    for (int item : {3, 9, 1, 7}) {
        queue.put_nowait(item);
    }
    std::vector<int> items;
    while (!queue.empty()) {
        items.push_back(queue.get_nowait());
    }
    CHECK(items == std::vector<int>{9, 7, 3, 1});
}

TEST_CASE("LifoQueue: the last item in comes out first", "[queues][lifo]") {
    auto body = []() -> gale::Task<void> {
        gale::LifoQueue<int> queue(2);
        queue.put_nowait(1);
        queue.put_nowait(0);
        CHECK(queue.full());
        gale::TaskGroup group;
        group.spawn(queue.put(3));
        group.spawn(queue.put(2));
        co_await turns(1);
        std::vector<int> items;
        for (int i = 0; i < 4; ++i) {
            items.push_back(co_await queue.get());
        }
        CHECK(items == std::vector<int>{3, 2, 0, 1});
        CHECK(queue.empty());
        co_await group.join();
    };
    gale::test::run(body());
}

// ---------------------------------------------------------------------------------------
// Move-only items

TEST_CASE("Queues carry move-only items", "[queues][move-only]") {
    auto body = []() -> gale::Task<void> {
        gale::Queue<std::unique_ptr<int>> queue(1);
        co_await queue.put(std::make_unique<int>(1));
        auto rejected = std::make_unique<int>(2);
        CHECK_FALSE(queue.try_put(std::move(rejected)));
        REQUIRE(rejected != nullptr);  // not moved from: nothing lost
        CHECK(*rejected == 2);
        auto first = co_await queue.get();
        CHECK(*first == 1);
        CHECK(queue.try_put(std::move(rejected)));
        CHECK(rejected == nullptr);
        auto second = queue.try_get();
        REQUIRE(second.has_value());
        CHECK(**second == 2);

        gale::TaskGroup group;
        queue.put_nowait(std::make_unique<int>(3));
        group.spawn(queue.put(std::make_unique<int>(4)));  // waits for room
        co_await turns(1);
        auto third = queue.get_nowait();
        auto fourth = co_await queue.get();
        CHECK(*third == 3);
        CHECK(*fourth == 4);
        co_await group.join();

        auto by_value = [](const std::unique_ptr<int>& left, const std::unique_ptr<int>& right) {
            return *left < *right;
        };
        gale::PriorityQueue<std::unique_ptr<int>, decltype(by_value)> priorities(0, by_value);
        priorities.put_nowait(std::make_unique<int>(5));
        priorities.put_nowait(std::make_unique<int>(2));
        gale::LifoQueue<std::unique_ptr<int>> stack;
        stack.put_nowait(std::make_unique<int>(6));
        auto lowest = co_await priorities.get();
        auto top = co_await stack.get();
        CHECK(*lowest == 2);
        CHECK(*top == 6);
    };
    gale::test::run(body());
}

// ---------------------------------------------------------------------------------------
// Cancellation: no item is ever lost

TEST_CASE("A cancelled getter is skipped", "[queues][cancellation]") {
    auto body = []() -> gale::Task<void> {
        gale::Queue<int> queue;
        History history;
        gale::TaskGroup cancelled;
        gale::TaskGroup live;
        cancelled.spawn(record_get(queue.get(), history, "first"));
        co_await turns(1);
        live.spawn(record_get(queue.get(), history, "second"));
        co_await turns(1);
        cancelled.cancel();
        CHECK(queue.getter_count() == 1);
        queue.put_nowait(5);
        co_await cancelled.join();
        co_await live.join();
        CHECK(history == History{"first:cancelled", "second=5"});
    };
    gale::test::run(body());
}

TEST_CASE("An item handed to a getter cancelled before it resumed goes to the next getter",
          "[queues][cancellation]") {
    auto body = []() -> gale::Task<void> {
        gale::Queue<int> queue;
        History history;
        gale::TaskGroup first;
        gale::TaskGroup second;
        first.spawn(record_get(queue.get(), history, "first"));
        co_await turns(1);
        second.spawn(record_get(queue.get(), history, "second"));
        co_await turns(1);
        queue.put_nowait(5);  // handed to "first", which resumes at the next iteration...
        first.cancel();       // ...but is cancelled before that
        co_await first.join();
        co_await second.join();
        CHECK(history == History{"first:cancelled", "second=5"});
        CHECK(queue.empty());
        CHECK(queue.unfinished_tasks() == 1);
    };
    gale::test::run(body());
}

TEST_CASE("An item handed to a getter cancelled before it resumed goes back to the queue",
          "[queues][cancellation]") {
    auto body = []() -> gale::Task<void> {
        gale::Queue<int> fifo;
        gale::LifoQueue<int> lifo;
        gale::PriorityQueue<int> priority;
        History history;
        gale::TaskGroup getters;
        getters.spawn(record_get(fifo.get(), history, "fifo"));
        getters.spawn(record_get(lifo.get(), history, "lifo"));
        getters.spawn(record_get(priority.get(), history, "priority"));
        co_await turns(1);
        for (int item : {1, 2}) {  // 1 is handed to the getter, 2 stays in the queue
            fifo.put_nowait(item);
            lifo.put_nowait(item);
            priority.put_nowait(item);
        }
        getters.cancel();
        co_await getters.join();
        CHECK(sorted(history) == History{"fifo:cancelled", "lifo:cancelled", "priority:cancelled"});
        // Each item is back where the next get finds it first.
        CHECK(fifo.get_nowait() == 1);
        CHECK(fifo.get_nowait() == 2);
        CHECK(lifo.get_nowait() == 1);
        CHECK(lifo.get_nowait() == 2);
        CHECK(priority.get_nowait() == 1);
        CHECK(priority.get_nowait() == 2);
        CHECK(fifo.unfinished_tasks() == 2);
    };
    gale::test::run(body());
}

TEST_CASE("when_any over two gets loses no item", "[queues][cancellation]") {
    auto body = []() -> gale::Task<void> {
        gale::Queue<int> left;
        gale::Queue<int> right;
        std::vector<gale::Task<int>> gets;
        gets.push_back(left.get());
        gets.push_back(right.get());
        gale::TaskGroup feeder;
        auto feed = [](gale::Queue<int>& a, gale::Queue<int>& b) -> gale::Task<void> {
            co_await turns(2);
            a.put_nowait(10);  // both getters are handed an item in the same iteration
            b.put_nowait(20);
        };
        feeder.spawn(feed(left, right));
        auto first = co_await gale::when_any(std::move(gets));
        co_await feeder.join();
        CHECK(first.index == 0);
        CHECK(first.value == 10);
        CHECK(left.empty());
        CHECK(right.qsize() == 1);  // the loser gave its item back
        CHECK(right.get_nowait() == 20);
    };
    gale::test::run(body());
}

TEST_CASE("A cancelled putter is skipped and its item is not put", "[queues][cancellation]") {
    auto body = []() -> gale::Task<void> {
        gale::Queue<int> queue(1);
        queue.put_nowait(0);
        History history;
        gale::TaskGroup cancelled;
        gale::TaskGroup live;
        cancelled.spawn(record_put(queue.put(1), history, "put1"));
        co_await turns(1);
        live.spawn(record_put(queue.put(2), history, "put2"));
        co_await turns(1);
        cancelled.cancel();
        CHECK(queue.putter_count() == 1);
        CHECK(queue.get_nowait() == 0);
        co_await cancelled.join();
        co_await live.join();
        CHECK(history == History{"put1:cancelled", "put2"});
        CHECK(queue.get_nowait() == 2);
        CHECK(queue.empty());
    };
    gale::test::run(body());
}

TEST_CASE("A putter cancelled after its item was accepted completes", "[queues][cancellation]") {
    auto body = []() -> gale::Task<void> {
        gale::Queue<int> queue(1);
        queue.put_nowait(0);
        History history;
        gale::TaskGroup putter;
        putter.spawn(record_put(queue.put(1), history, "put1"));
        co_await turns(1);
        CHECK(queue.get_nowait() == 0);  // 1 goes in; the putter resumes next iteration
        putter.cancel();
        co_await putter.join();
        CHECK(history == History{"put1"});  // the put happened: it is not undone
        CHECK(queue.get_nowait() == 1);
    };
    gale::test::run(body());
}

TEST_CASE("Queue operations in a cancelled task", "[queues][cancellation]") {
    auto body = []() -> gale::Task<void> {
        gale::Queue<int> full(1);
        full.put_nowait(0);
        gale::Queue<int> empty;
        gale::Queue<int> ready;
        ready.put_nowait(3);
        History history;
        gale::TaskGroup group;
        group.cancel();
        group.spawn(record_put(full.put(1), history, "put-full"));
        group.spawn(record_get(empty.get(), history, "get-empty"));
        group.spawn(record_get(ready.get(), history, "get-ready"));  // granted at once
        co_await group.join();
        CHECK(history == History{"put-full:cancelled", "get-empty:cancelled", "get-ready=3"});
        CHECK(full.qsize() == 1);
        CHECK(full.putter_count() == 0);
        CHECK(empty.getter_count() == 0);
    };
    gale::test::run(body());
}

TEST_CASE("with_timeout around get cancels the get", "[queues][cancellation]") {
    auto body = []() -> gale::Task<void> {
        gale::Queue<int> queue;
        bool timed_out = false;
        try {
            co_await gale::with_timeout(10ms, queue.get());
        } catch (const gale::TimeoutError&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(queue.getter_count() == 0);
        queue.put_nowait(1);
        CHECK(queue.qsize() == 1);
    };
    gale::test::run(body());
}

TEST_CASE("Destroying the loop with queue waiters pending unwinds them cleanly",
          "[queues][cancellation]") {
    gale::Queue<int> empty;
    gale::Queue<std::unique_ptr<int>> full(1);
    full.put_nowait(std::make_unique<int>(0));
    History history;
    {
        gale::IOLoop loop(gale::IOLoopOptions{.log_backend = false});
        loop.make_current();
        gale::spawn(record_get(empty.get(), history, "get"));
        gale::spawn(record_get(empty.get(1h), history, "get-timed"));
        gale::spawn(full.put(std::make_unique<int>(1)));
        gale::spawn(full.put(std::make_unique<int>(2), 1h));
        gale::spawn([](gale::Queue<int>& queue) -> gale::Task<void> {
            queue.put_nowait(9);  // unfinished: join waits forever
            co_await queue.join();
        }(empty));
        loop.run_sync(turns(3));
        CHECK(empty.getter_count() == 1);  // one took the 9
        CHECK(full.putter_count() == 2);
    }
    CHECK(empty.getter_count() == 0);
    CHECK(full.putter_count() == 0);
    CHECK(full.qsize() == 1);
    CHECK(history == History{"get=9", "get-timed:cancelled"});
}

TEST_CASE("Destroying a queue with waiters resumes them with OperationCancelled",
          "[queues][cancellation]") {
    auto body = []() -> gale::Task<void> {
        auto empty = std::make_unique<gale::Queue<int>>();
        auto full = std::make_unique<gale::Queue<int>>(1);
        full->put_nowait(0);
        History history;
        gale::TaskGroup group;
        group.spawn(record_get(empty->get(), history, "get"));
        group.spawn(record_get(empty->get(1h), history, "get-timed"));
        group.spawn(record_put(full->put(1, 1h), history, "put"));
        co_await turns(1);
        empty.reset();
        full.reset();
        co_await group.join();
        CHECK(history == History{"get:cancelled", "get-timed:cancelled", "put:cancelled"});
    };
    gale::test::run(body());
}

// ---------------------------------------------------------------------------------------
// Random interleavings: whatever mix of gets, puts, timeouts and cancellations, every item
// accepted is taken exactly once, and no item refused is taken.

namespace {

struct Ledger {
    std::vector<int> accepted;  // items a put or try_put placed
    std::vector<int> refused;   // items of puts that timed out, were cancelled or were refused
    std::vector<int> taken;     // items a get or try_get returned
};

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

template <class Q>
gale::Task<void> random_getter(Q& queue, Ledger& ledger,
                               std::optional<gale::IOLoop::Duration> timeout) {
    try {
        int item = 0;
        if (timeout) {
            item = co_await queue.get(*timeout);
        } else {
            item = co_await queue.get();
        }
        ledger.taken.push_back(item);
    } catch (const gale::TimeoutError&) {
    } catch (const gale::OperationCancelled&) {
    }
}

template <class Q>
gale::Task<void> random_putter(Q& queue, Ledger& ledger, int item,
                               std::optional<gale::IOLoop::Duration> timeout) {
    try {
        if (timeout) {
            co_await queue.put(item, *timeout);
        } else {
            co_await queue.put(item);
        }
        ledger.accepted.push_back(item);
    } catch (const gale::TimeoutError&) {
        ledger.refused.push_back(item);
    } catch (const gale::OperationCancelled&) {
        ledger.refused.push_back(item);
    }
}

template <class Q>
gale::Task<void> exercise_queue(unsigned seed) {
    std::minstd_rand random(seed);
    Q queue(static_cast<std::ptrdiff_t>(random() % 4));
    Ledger ledger;
    std::vector<std::unique_ptr<gale::TaskGroup>> groups;
    int next_item = 0;
    for (int step = 0; step < 300; ++step) {
        switch (random() % 9) {
            case 0:
            case 1:
                groups.push_back(std::make_unique<gale::TaskGroup>());
                groups.back()->spawn(random_getter(queue, ledger, random_timeout(random)));
                break;
            case 2:
            case 3:
                groups.push_back(std::make_unique<gale::TaskGroup>());
                groups.back()->spawn(
                    random_putter(queue, ledger, next_item++, random_timeout(random)));
                break;
            case 4: {
                int item = next_item++;
                int moved = item;
                (queue.try_put(std::move(moved)) ? ledger.accepted : ledger.refused)
                    .push_back(item);
                break;
            }
            case 5:
                if (auto item = queue.try_get()) {
                    ledger.taken.push_back(*item);
                }
                break;
            case 6:
                if (!groups.empty()) {
                    groups[random() % groups.size()]->cancel();
                }
                break;
            case 7:
                co_await turns(1);
                break;
            default:
                if (random() % 4 == 0) {
                    co_await gale::sleep(1ms);
                }
                break;
        }
        if (queue.getter_count() > 0) {
            CHECK(queue.empty());
        }
        if (queue.putter_count() > 0) {
            CHECK(queue.full());
        }
    }
    for (auto& group : groups) {
        group->cancel();
    }
    for (auto& group : groups) {
        co_await group->join();
    }
    while (auto item = queue.try_get()) {
        ledger.taken.push_back(*item);
    }
    CHECK(queue.getter_count() == 0);
    CHECK(queue.putter_count() == 0);
    CHECK(queue.unfinished_tasks() == ledger.accepted.size());
    CHECK(ledger.accepted.size() + ledger.refused.size() == static_cast<std::size_t>(next_item));
    std::sort(ledger.accepted.begin(), ledger.accepted.end());
    std::sort(ledger.taken.begin(), ledger.taken.end());
    CHECK(ledger.taken == ledger.accepted);
}

}  // namespace

TEST_CASE("Random interleavings lose and duplicate no item", "[queues][random]") {
    for (unsigned seed = 1; seed <= 40; ++seed) {
        INFO("seed " << seed);
        gale::test::run(exercise_queue<gale::Queue<int>>(seed));
        gale::test::run(exercise_queue<gale::LifoQueue<int>>(seed));
        gale::test::run(exercise_queue<gale::PriorityQueue<int>>(seed));
    }
}
