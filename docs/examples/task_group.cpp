// Structured concurrency with TaskGroup, and cancellation (docs/ioloop.md).
#include <gale/ioloop/combinators.hpp>
#include <gale/ioloop/task_group.hpp>

#include <cstdio>

using namespace std::chrono_literals;

gale::Task<void> worker(int id) {
    try {
        for (int tick = 0;; ++tick) {
            co_await gale::sleep(10ms);
            std::printf("worker %d tick %d\n", id, tick);
        }
    } catch (const gale::OperationCancelled&) {
        std::printf("worker %d cancelled\n", id);
        throw;  // let the cancellation finish unwinding the task
    }
}

gale::Task<void> main_task() {
    gale::TaskGroup group;
    for (int id = 0; id < 3; ++id) {
        group.spawn(worker(id));
    }
    co_await gale::sleep(35ms);
    group.cancel();         // every worker's pending sleep throws OperationCancelled
    co_await group.join();  // returns once all have unwound
}

int main() {
    gale::IOLoop loop;
    loop.run_sync(main_task());
}
