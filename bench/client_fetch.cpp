// HTTP client benchmark, gale's side: N concurrent tasks fetch one URL over a keep-alive
// AsyncHTTPClient for a fixed time. Prints one JSON line: requests, seconds, the process's
// CPU seconds during the run, errors. Run by bench/client_bench.py next to its peers.
//
//   client_fetch URL CONCURRENCY SECONDS

#include <gale/httpclient/client.hpp>
#include <gale/ioloop/task_group.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

double cpu_seconds() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

struct Counters {
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;
    std::uint64_t bytes = 0;
};

gale::Task<void> worker(gale::httpclient::AsyncHTTPClient* client, std::string url,
                        gale::IOLoop::TimePoint deadline, Counters* counters) {
    while (gale::IOLoop::current().time() < deadline) {
        try {
            gale::httpclient::HTTPResponse response = co_await client->fetch(url);
            counters->bytes += response.body.size();
            ++counters->requests;
        } catch (const gale::Error& error) {
            if (++counters->errors == 1) {
                std::fprintf(stderr, "client_fetch: %s\n", error.what());
            }
        }
    }
}

gale::Task<void> run(std::string url, int concurrency, double seconds) {
    gale::httpclient::ClientOptions options;
    options.max_clients = static_cast<std::size_t>(concurrency);
    gale::httpclient::AsyncHTTPClient client(options);
    co_await client.fetch(url);  // connect once before the clock starts
    Counters counters;
    double cpu_before = cpu_seconds();
    auto started = gale::IOLoop::Clock::now();
    auto deadline = started + std::chrono::duration_cast<gale::IOLoop::Duration>(
                                  std::chrono::duration<double>(seconds));
    {
        gale::TaskGroup group;
        for (int i = 0; i < concurrency; ++i) {
            group.spawn(worker(&client, url, deadline, &counters));
        }
        co_await group.join();
    }
    double elapsed = std::chrono::duration<double>(gale::IOLoop::Clock::now() - started).count();
    double cpu = cpu_seconds() - cpu_before;
    auto stats = client.stats();
    std::printf(
        "{\"requests\": %llu, \"seconds\": %.3f, \"cpu_seconds\": %.3f, \"errors\": %llu, "
        "\"bytes\": %llu, \"connections\": %llu}\n",
        static_cast<unsigned long long>(counters.requests), elapsed, cpu,
        static_cast<unsigned long long>(counters.errors),
        static_cast<unsigned long long>(counters.bytes),
        static_cast<unsigned long long>(stats.connections_opened));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: client_fetch URL CONCURRENCY SECONDS\n");
        return 2;
    }
    try {
        gale::IOLoop loop(gale::IOLoopOptions{.log_backend = false});
        loop.run_sync(run(argv[1], std::atoi(argv[2]), std::atof(argv[3])));
    } catch (const std::exception& error) {
        std::fprintf(stderr, "client_fetch: %s\n", error.what());
        return 1;
    }
    return 0;
}
