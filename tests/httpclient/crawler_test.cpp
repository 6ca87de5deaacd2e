// The crawler demo: its link extraction, and a crawl of a generated 2,000-page site on nginx
// that must find every page exactly once (the engine in-process, and the program itself).
#include <gale/ioloop/executor.hpp>

#include <nlohmann/json.hpp>

#include <catch2/catch.hpp>

#include "crawler/crawler.hpp"
#include "crawler/links.hpp"
#include "httpclient/support.hpp"

#include <map>
#include <set>

using namespace httpclient_test;

TEST_CASE("links: hrefs of a and area, base, entities, comments and scripts skipped",
          "[httpclient][crawler]") {
    auto links = crawler::extract_links(
        "<html><head><BASE HREF='/root/'><script>var s = '<a href=\"/no\">';</script>"
        "<style>a{}</style></head><body><!-- <a href=\"/commented\"> -->"
        "<a href=\"one.html\">1</a><A class=x HREF='two.html?a=1&amp;b=2'>2</A>"
        "<a href=three.html>3</a><area shape=rect href=\"/four#frag\"><a name=anchor>x</a>"
        "<abbr href=\"/not-a-link\">y</abbr><a href=\"&#x2F;five&#47;\">5</a><a "
        "href=\"unterminated");
    CHECK(links.base == "/root/");
    CHECK(links.hrefs == std::vector<std::string>{"one.html", "two.html?a=1&b=2", "three.html",
                                                  "/four#frag", "/five/", "unterminated"});
    CHECK(crawler::extract_links("").hrefs.empty());
    CHECK(crawler::extract_links("<a").hrefs.empty());
    CHECK(crawler::extract_links("<a href=").hrefs == std::vector<std::string>{""});
    CHECK(crawler::decode_character_references("&amp;&unknown;&#65;&#x42;&#;&") ==
          "&&unknown;AB&#;&");
}

namespace {

constexpr int site_pages = 2000;

std::string page_path(int index) {
    return "/pages/" + std::to_string(index / 100) + "/p" + std::to_string(index) + ".html";
}

// Every page links onward to i+1 (so all are reachable from page 0), and to a few others in
// every style a crawler must normalise: relative, root-relative, absolute, with fragments and
// query-less duplicates, plus links it must not follow.
void write_site(const std::filesystem::path& site, const std::string& origin) {
    for (int i = 0; i < site_pages; ++i) {
        int next = (i + 1) % site_pages;
        int jump = (i * 7 + 3) % site_pages;
        int far = (i * 13 + 11) % site_pages;
        std::string html = "<!DOCTYPE html><html><head><title>p" + std::to_string(i) +
                           "</title></head><body>\n"
                           "<a href=\"" +
                           page_path(next) +
                           "\">next</a>\n"
                           "<a href=\"" +
                           origin + page_path(jump) +
                           "#section\">jump</a>\n"
                           "<a href='../" +
                           std::to_string(far / 100) + "/p" + std::to_string(far) +
                           ".html'>far</a>\n"
                           "<a href=\"p" +
                           std::to_string(i) +
                           ".html#self\">self</a>\n"
                           "<a href=\"" +
                           page_path(next) +
                           "\">next again</a>\n"
                           "<a href=\"mailto:someone@example.com\">mail</a>\n"
                           "<a href=\"http://elsewhere.invalid/\">elsewhere</a>\n"
                           "<a href=\"javascript:void(0)\">js</a>\n"
                           "</body></html>\n";
        std::filesystem::path file = site / page_path(i).substr(1);
        std::filesystem::create_directories(file.parent_path());
        write_text_file(file.string(), html);
    }
}

}  // namespace

TEST_CASE("crawler: 2,000 linked pages on nginx, each fetched exactly once",
          "[httpclient][crawler][nginx]") {
    if (!Nginx::available()) {
        WARN("nginx is not installed");
        return;
    }
    auto body = []() -> gale::Task<void> {
        Nginx nginx;
        write_site(nginx.site(), nginx.url(""));
        crawler::CrawlOptions options;
        options.start_url = nginx.url(page_path(0));
        options.concurrency = 64;
        options.max_pages = 100'000;
        options.same_host = true;
        crawler::Crawler crawl(options);
        std::map<std::string, int> fetched;
        std::size_t failures = 0;
        crawl.on_page = [&fetched, &failures](const crawler::PageRecord& page) {
            ++fetched[page.url];
            failures += page.status == 200 ? 0 : 1;
        };
        crawler::CrawlSummary summary = co_await crawl.run();
        CHECK(summary.totals.pages == site_pages);
        CHECK(summary.totals.errors == 0);
        CHECK(failures == 0);
        CHECK(fetched.size() == site_pages);
        for (int i = 0; i < site_pages; ++i) {
            auto found = fetched.find(nginx.url(page_path(i)));
            REQUIRE(found != fetched.end());
            CHECK(found->second == 1);
        }
        // nginx agrees: 2,000 distinct URIs, each requested once.
        std::map<std::string, int> requested;
        for (const auto& line : nginx.access_log(site_pages)) {
            ++requested[line.uri];
        }
        CHECK(requested.size() == site_pages);
        bool each_once = std::all_of(requested.begin(), requested.end(),
                                     [](const auto& entry) { return entry.second == 1; });
        CHECK(each_once);
    };
    gale::test::run(body());
}

TEST_CASE("crawler: --max-pages bounds the crawl", "[httpclient][crawler][nginx]") {
    if (!Nginx::available()) {
        WARN("nginx is not installed");
        return;
    }
    auto body = []() -> gale::Task<void> {
        Nginx nginx;
        write_site(nginx.site(), nginx.url(""));
        crawler::CrawlOptions options;
        options.start_url = nginx.url(page_path(0));
        options.concurrency = 8;
        options.max_pages = 150;
        options.same_host = true;
        crawler::Crawler crawl(options);
        crawler::CrawlSummary summary = co_await crawl.run();
        CHECK(summary.totals.pages == 150);
        CHECK(summary.totals.errors == 0);
        CHECK(nginx.access_log(150).size() == 150);
    };
    gale::test::run(body());
}

TEST_CASE("crawler program: JSON lines output and summary", "[httpclient][crawler][nginx]") {
    std::string program = std::string(GALE_BINARY_DIR) + "/demos/crawler/crawler";
    if (!Nginx::available() || !std::filesystem::exists(program)) {
        WARN("nginx or the crawler program is missing");
        return;
    }
    auto body = [](std::string binary) -> gale::Task<void> {
        Nginx nginx;
        write_site(nginx.site(), nginx.url(""));
        gale::test::TemporaryDirectory directory;
        std::string output = directory.file("pages.jsonl");
        auto result = co_await run_command(binary + " " + nginx.url(page_path(0)) +
                                           " --concurrency 32 --max-pages 5000 --same-host"
                                           " --output " +
                                           output + " 2>&1");
        CHECK(result.status == 0);
        CHECK(result.output.find("2000 pages") != std::string::npos);
        std::istringstream lines(read_text_file(output));
        std::set<std::string> urls;
        std::size_t count = 0;
        for (std::string line; std::getline(lines, line);) {
            auto record = nlohmann::json::parse(line);
            urls.insert(record.at("url").get<std::string>());
            CHECK(record.at("status") == 200);
            CHECK(record.at("bytes").get<int>() > 100);
            CHECK(record.at("ms").get<double>() >= 0);
            CHECK(record.at("links").get<int>() >= 3);
            ++count;
        }
        CHECK(count == site_pages);
        CHECK(urls.size() == site_pages);
        auto usage = co_await run_command(binary + " 2>&1");
        CHECK(usage.status == 2);
        CHECK(usage.output.find("usage: crawler URL") != std::string::npos);
    };
    gale::test::run(body(program));
}
