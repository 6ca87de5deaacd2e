// The client against gale's testbed demo, run as a separate program: redirect chains, delays
// for timeouts, streams, gzip, echo, cookies through the jar.
#include <gale/ioloop/combinators.hpp>

#include <nlohmann/json.hpp>

#include <catch2/catch.hpp>

#include "httpclient/support.hpp"

using namespace httpclient_test;
using gale::httpclient::AsyncHTTPClient;
using gale::httpclient::ClientOptions;
using Request = gale::httpclient::HTTPRequest;
using Response = gale::httpclient::HTTPResponse;

TEST_CASE("testbed: redirects, timeouts, streams, gzip, echo, cookies", "[httpclient][testbed]") {
    if (!Testbed::available()) {
        WARN("the testbed demo was not built");
        return;
    }
    auto body = []() -> gale::Task<void> {
        Testbed testbed;
        ClientOptions options;
        options.cookie_jar = std::make_shared<gale::httpclient::CookieJar>();
        AsyncHTTPClient client(options);

        Response redirected = co_await client.fetch(testbed.url("/redirect/5"));
        CHECK(redirected.body == "done");
        CHECK(redirected.redirects == 5);
        CHECK(redirected.effective_url == testbed.url("/redirect/0"));
        Request too_far(testbed.url("/redirect/8"));
        too_far.max_redirects = 4;
        try {
            co_await client.fetch(std::move(too_far));
            FAIL("expected TooManyRedirectsError");
        } catch (const gale::httpclient::TooManyRedirectsError& error) {
            CHECK(error.response().effective_url == testbed.url("/redirect/4"));
        }

        Request slow(testbed.url("/delay/3000"));
        slow.request_timeout = 250ms;
        try {
            co_await client.fetch(std::move(slow));
            FAIL("expected HTTPTimeoutError");
        } catch (const gale::httpclient::HTTPTimeoutError& error) {
            CHECK(error.phase() == gale::httpclient::TimeoutPhase::wait_response);
        }
        Response delayed = co_await client.fetch(testbed.url("/delay/50"));
        CHECK(delayed.body == "delayed 50 ms");

        std::vector<std::string> lines;
        Request stream(testbed.url("/stream/5?delay_ms=10"));
        stream.streaming_callback = [&lines](std::string_view chunk) { lines.emplace_back(chunk); };
        co_await client.fetch(std::move(stream));
        std::string joined;
        for (const auto& line : lines) {
            joined += line;
        }
        CHECK(joined == "line 0\nline 1\nline 2\nline 3\nline 4\n");

        Response bytes = co_await client.fetch(testbed.url("/bytes/50000"));
        CHECK(bytes.headers.get_or("content-encoding", "") == "gzip");
        REQUIRE(bytes.body.size() == 50000);
        CHECK(bytes.body.substr(0, 28) == "abcdefghijklmnopqrstuvwxyzab");
        Response large = co_await client.fetch(testbed.url("/bytes/3000000"));
        CHECK(large.body.size() == 3'000'000);

        Request echo(testbed.url("/echo"), "PUT");
        echo.headers.set("Content-Type", "application/x-gale");
        echo.body_producer = [](gale::httpclient::BodyWriter writer) -> gale::Task<void> {
            for (int i = 0; i < 100; ++i) {
                co_await writer.write(std::string(1000, static_cast<char>('a' + i % 26)));
            }
        };
        Response echoed = co_await client.fetch(std::move(echo));
        CHECK(echoed.body.size() == 100'000);
        CHECK(echoed.headers.get_or("content-type", "") == "application/x-gale");

        Response cookies = co_await client.fetch(testbed.url("/cookies/set?flavour=oat&n=2"));
        CHECK(cookies.effective_url == testbed.url("/cookies"));
        auto json = nlohmann::json::parse(cookies.body);
        CHECK(json["cookies"]["flavour"] == "oat");
        CHECK(json["cookies"]["n"] == "2");

        Response teapot = co_await client.fetch(testbed.url("/status/418"), false);
        CHECK(teapot.code == 418);
        CHECK(client.stats().connections_opened <= 2);  // the timed-out one was replaced
    };
    gale::test::run(body());
}
