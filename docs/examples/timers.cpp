// Timers, sleep, timeouts and concurrency on one loop (docs/ioloop.md).
#include <gale/ioloop/combinators.hpp>
#include <gale/ioloop/ioloop.hpp>

#include <cstdio>

using namespace std::chrono_literals;

gale::Task<int> slow_answer() {
    co_await gale::sleep(50ms);
    co_return 42;
}

gale::Task<void> main_task() {
    // Two tasks at once; both results when both are done.
    auto [first, second] = co_await gale::when_all(slow_answer(), slow_answer());
    std::printf("when_all: %d %d\n", first, second);

    // A timeout cancels the work it guards.
    try {
        co_await gale::with_timeout(10ms, gale::sleep(1h));
    } catch (const gale::TimeoutError&) {
        std::printf("with_timeout: timed out, the sleep was cancelled\n");
    }
}

int main() {
    gale::IOLoop loop;
    loop.call_later(5ms, [] { std::printf("call_later fired\n"); });
    loop.run_sync(main_task());
}
