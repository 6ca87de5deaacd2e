// crawler: a concurrent web crawler on gale's HTTP client (Tornado's webspider, grown up).
//
//   crawler URL [--concurrency N] [--max-pages N] [--same-host] [--output FILE]
//
// Crawls from URL with N workers, following the links of HTML pages, each URL once, at most
// --max-pages pages. On a terminal a progress line shows pages, rate, errors and queue depth;
// a summary follows at the end. --output FILE writes one JSON object per fetched page:
// {"url", "status", "bytes", "ms", "links"}.

#include <gale/ioloop/periodic_callback.hpp>

#include <nlohmann/json.hpp>

#include "common/arguments.hpp"
#include "crawler/crawler.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace {

void print_progress(const crawler::CrawlProgress& progress, double seconds) {
    double rate = seconds > 0 ? static_cast<double>(progress.pages) / seconds : 0;
    std::fprintf(stderr, "\r\033[K%zu pages  %.1f/s  %zu errors  queue %zu  in flight %zu  %.1f MB",
                 progress.pages, rate, progress.errors, progress.queued, progress.in_flight,
                 static_cast<double>(progress.bytes) / 1e6);
    std::fflush(stderr);
}

gale::Task<int> run(crawler::CrawlOptions options, std::string output_path) {
    std::ofstream output;
    if (!output_path.empty()) {
        output.open(output_path);
        if (!output) {
            std::fprintf(stderr, "crawler: cannot write %s\n", output_path.c_str());
            co_return 1;
        }
    }
    crawler::Crawler crawler(options);
    crawler.on_page = [&output](const crawler::PageRecord& page) {
        if (!output.is_open()) {
            return;
        }
        nlohmann::ordered_json record = {{"url", page.url},
                                 {"status", page.status},
                                 {"bytes", page.bytes},
                                 {"ms", std::round(page.milliseconds * 1000) / 1000},
                                 {"links", page.links}};
        if (!page.error.empty()) {
            record["error"] = page.error;
        }
        output << record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    };
    auto started = std::chrono::steady_clock::now();
    auto elapsed = [started] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    };
    std::unique_ptr<gale::PeriodicCallback> ticker;
    bool terminal = ::isatty(STDERR_FILENO) != 0;
    if (terminal) {
        ticker = std::make_unique<gale::PeriodicCallback>(
            [&crawler, elapsed] { print_progress(crawler.progress(), elapsed()); },
            std::chrono::milliseconds(200));
        ticker->start();
    }
    crawler::CrawlSummary summary = co_await crawler.run();
    if (ticker) {
        ticker->stop();
        print_progress(summary.totals, summary.elapsed.count());
        std::fprintf(stderr, "\n");
    }
    double seconds = summary.elapsed.count();
    std::printf("Done in %.2f s: %zu pages (%.1f/s), %zu errors, %.2f MB, %zu URLs seen\n", seconds,
                summary.totals.pages,
                seconds > 0 ? static_cast<double>(summary.totals.pages) / seconds : 0.0,
                summary.totals.errors, static_cast<double>(summary.totals.bytes) / 1e6,
                summary.totals.seen);
    co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
    demo::Arguments arguments(
        argc, argv, {"concurrency", "max-pages", "output", "timeout"}, {"same-host"},
        "usage: crawler URL [--concurrency N] [--max-pages N] [--same-host] [--output FILE]\n"
        "               [--timeout SECONDS]");
    if (arguments.positional().size() != 1) {
        arguments.fail("one start URL is required");
    }
    crawler::CrawlOptions options;
    options.start_url = arguments.positional().front();
    options.concurrency = static_cast<std::size_t>(arguments.number("concurrency", 10, 1, 10000));
    options.max_pages =
        static_cast<std::size_t>(arguments.number("max-pages", 1000, 1, 100'000'000));
    options.same_host = arguments.has("same-host");
    options.request_timeout = std::chrono::seconds(arguments.number("timeout", 30, 1, 3600));
    try {
        gale::IOLoop loop(gale::IOLoopOptions{.log_backend = false});
        return loop.run_sync(run(options, arguments.text("output")));
    } catch (const std::exception& error) {
        std::fprintf(stderr, "crawler: %s\n", error.what());
        return 1;
    }
}
