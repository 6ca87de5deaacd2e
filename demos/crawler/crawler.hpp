#pragma once
// The crawler's engine: Tornado's webspider, grown up. A gale::Queue of URLs feeds N worker
// tasks that share one AsyncHTTPClient (keep-alive pool, max_clients = N); each HTML page's
// links are resolved, stripped of their fragment, filtered (http/https, optionally the same
// host) and de-duplicated before they are queued, so every URL is fetched at most once and
// at most `max_pages` are fetched in all.

#include <gale/httpclient/client.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace crawler {

struct CrawlOptions {
    CrawlOptions() = default;  // not an aggregate: see docs/pitfalls.md (GCC 12)
    std::string start_url;
    std::size_t concurrency = 10;
    std::size_t max_pages = 1000;
    /// Follow only links to the start URL's host (and port).
    bool same_host = false;
    /// Per fetch.
    gale::IOLoop::Duration request_timeout = std::chrono::seconds(30);
    std::uint64_t max_body_size = 16 * 1024 * 1024;
    /// Passed on to the client (proxy, cookie jar, resolver, ...); max_clients is set from
    /// `concurrency`.
    gale::httpclient::ClientOptions client;
};

/// One fetched page (or failed fetch).
struct PageRecord {
    std::string url;
    int status = 0;  // 599 when there was no response
    std::uint64_t bytes = 0;
    double milliseconds = 0;
    std::size_t links = 0;  // distinct crawlable links found on the page
    std::string error;      // empty on success
};

/// Live numbers, for a progress line.
struct CrawlProgress {
    std::size_t pages = 0;
    std::size_t errors = 0;
    std::size_t queued = 0;
    std::size_t in_flight = 0;
    std::size_t seen = 0;
    std::uint64_t bytes = 0;
};

struct CrawlSummary {
    CrawlProgress totals;
    std::chrono::duration<double> elapsed{};
};

class Crawler {
  public:
    explicit Crawler(CrawlOptions options);

    /// Called once per fetched page, in completion order.
    std::function<void(const PageRecord&)> on_page;

    /// Crawls from the start URL until no URL is left or `max_pages` were fetched.
    /// Throws `gale::Error` when the start URL is not an http(s) URL.
    gale::Task<CrawlSummary> run();

    const CrawlProgress& progress() const noexcept { return progress_; }

  private:
    struct State;
    CrawlOptions options_;
    CrawlProgress progress_;
};

}  // namespace crawler
