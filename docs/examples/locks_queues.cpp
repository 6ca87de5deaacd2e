// A work queue with bounded concurrency: Queue, Semaphore and TaskGroup (docs/ioloop.md).
#include <gale/ioloop/ioloop.hpp>
#include <gale/ioloop/locks.hpp>
#include <gale/ioloop/queues.hpp>
#include <gale/ioloop/task_group.hpp>

#include <chrono>
#include <cstdio>
#include <string>

using namespace std::chrono_literals;

gale::Task<int> fetch(std::string url) {  // stands in for an HTTP fetch
    co_await gale::sleep(5ms);
    co_return static_cast<int>(url.size());
}

// The queue, semaphore and total outlive the workers: crawl() joins them before returning.
gale::Task<void> worker(gale::Queue<std::string>& urls, gale::Semaphore& connections, long& total) {
    for (;;) {
        std::string url = co_await urls.get();
        {
            auto connection = co_await connections.acquire();  // at most 2 fetches at once
            total += co_await fetch(url);
        }
        urls.task_done();
    }
}

gale::Task<long> crawl() {
    gale::Queue<std::string> urls(4);  // producers wait while 4 URLs are queued
    gale::Semaphore connections(2);
    long total = 0;
    gale::TaskGroup workers;
    for (int i = 0; i < 3; ++i) {
        workers.spawn(worker(urls, connections, total));
    }
    for (int page = 0; page < 20; ++page) {
        co_await urls.put("https://example.com/page/" + std::to_string(page));
    }
    co_await urls.join(10s);  // every URL processed, or TimeoutError
    workers.cancel();         // the workers wait in get(): cancel them
    co_await workers.join();
    co_return total;
}

int main() {
    gale::IOLoop loop;
    std::printf("total %ld\n", loop.run_sync(crawl()));  // prints "total 530"
}
