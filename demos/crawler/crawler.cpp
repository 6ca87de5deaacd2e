#include "crawler/crawler.hpp"

#include <gale/ioloop/queues.hpp>
#include <gale/ioloop/task_group.hpp>
#include <gale/web/url.hpp>

#include "crawler/links.hpp"

#include <unordered_set>

namespace crawler {

using gale::httpclient::AsyncHTTPClient;

struct Crawler::State {
    CrawlOptions options;
    CrawlProgress* progress;
    std::function<void(const PageRecord&)>* on_page;
    AsyncHTTPClient client;
    gale::Queue<std::string> queue;
    std::unordered_set<std::string> seen;
    gale::web::Url start;

    State(CrawlOptions crawl_options, CrawlProgress* live,
          std::function<void(const PageRecord&)>* callback)
        : options(std::move(crawl_options)),
          progress(live),
          on_page(callback),
          client(client_options(options)) {}

    static gale::httpclient::ClientOptions client_options(const CrawlOptions& options) {
        gale::httpclient::ClientOptions result = options.client;
        result.max_clients = options.concurrency;
        return result;
    }

    // Queues `url` unless it was seen or the page budget is spent.
    void offer(std::string url) {
        if (seen.size() >= options.max_pages || seen.contains(url)) {
            return;
        }
        seen.insert(url);
        queue.put_nowait(std::move(url));
        progress->seen = seen.size();
    }

    // The crawlable, fragment-free absolute form of `href` found on `page`, or "".
    std::string normalise(const gale::web::Url& page, const std::string& href) const {
        try {
            gale::web::Url url = page.resolve(href);
            url.fragment.reset();
            if ((url.scheme != "http" && url.scheme != "https") || url.host.empty()) {
                return {};
            }
            if (options.same_host &&
                (url.host != start.host || url.effective_port() != start.effective_port())) {
                return {};
            }
            return url.to_string();
        } catch (const gale::Error&) {
            return {};  // a malformed link is skipped
        }
    }

    // Queues the page's links; returns how many distinct crawlable links it has.
    std::size_t follow_links(const std::string& page_url, const std::string& html) {
        PageLinks links = extract_links(html);
        gale::web::Url page = gale::web::Url::parse(page_url);
        if (!links.base.empty()) {
            try {
                page = page.resolve(links.base);
            } catch (const gale::Error&) {
                // an unusable <base> is ignored
            }
        }
        std::unordered_set<std::string> distinct;
        for (const std::string& href : links.hrefs) {
            std::string url = normalise(page, href);
            if (!url.empty() && distinct.insert(url).second) {
                offer(std::move(url));
            }
        }
        return distinct.size();
    }

    gale::Task<void> visit(std::string url) {
        PageRecord record;
        record.url = url;
        gale::httpclient::HTTPRequest request(url);
        request.request_timeout = options.request_timeout;
        request.max_body_size = options.max_body_size;
        ++progress->in_flight;
        auto started = std::chrono::steady_clock::now();
        try {
            gale::httpclient::HTTPResponse response =
                co_await client.fetch(std::move(request), false);
            record.status = response.code;
            record.bytes = response.body.size();
            std::string_view type = response.headers.get_or("content-type", "");
            if (response.code == 200 && type.starts_with("text/html")) {
                // Links are resolved against where the page really is (after redirects).
                record.links = follow_links(response.effective_url, response.body);
            }
            if (response.code >= 400) {
                ++progress->errors;
            }
        } catch (const gale::httpclient::HTTPClientError& error) {
            record.status = error.code();
            record.error = error.what();
            ++progress->errors;
        }
        --progress->in_flight;
        record.milliseconds =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
                .count();
        ++progress->pages;
        progress->bytes += record.bytes;
        if (*on_page) {
            (*on_page)(record);
        }
    }

    gale::Task<void> worker() {
        while (true) {
            std::string url = co_await queue.get();
            progress->queued = queue.qsize();
            co_await visit(std::move(url));
            queue.task_done();
            progress->queued = queue.qsize();
        }
    }
};

Crawler::Crawler(CrawlOptions options) : options_(std::move(options)) {}

gale::Task<CrawlSummary> Crawler::run() {
    auto started = std::chrono::steady_clock::now();
    auto state = std::make_unique<State>(options_, &progress_, &on_page);
    try {
        state->start = gale::web::Url::parse(options_.start_url);
    } catch (const gale::Error& error) {
        throw gale::Error("crawler: invalid start URL '" + options_.start_url +
                          "': " + error.what());
    }
    if (state->start.scheme != "http" && state->start.scheme != "https") {
        throw gale::Error("crawler: the start URL must be http or https: " + options_.start_url);
    }
    state->start.fragment.reset();
    state->offer(state->start.to_string());
    {
        gale::TaskGroup workers;
        for (std::size_t i = 0; i < std::max<std::size_t>(options_.concurrency, 1); ++i) {
            workers.spawn(state->worker());
        }
        co_await state->queue.join();  // every queued URL was visited
        workers.cancel();
        co_await workers.join();
    }
    CrawlSummary summary;
    summary.totals = progress_;
    summary.elapsed = std::chrono::steady_clock::now() - started;
    co_return summary;
}

}  // namespace crawler
