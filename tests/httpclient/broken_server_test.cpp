// The client against a Python server that breaks HTTP on purpose: every failure must be the
// right typed error with a message naming the URL, never a hang, a crash or a silent
// truncation. And what is odd but valid (1xx, close-delimited bodies) must work.
#include <catch2/catch.hpp>

#include "httpclient/support.hpp"

using namespace httpclient_test;
using gale::httpclient::AsyncHTTPClient;
using Request = gale::httpclient::HTTPRequest;
using Response = gale::httpclient::HTTPResponse;

namespace {

// Fetches `path` and returns the error's message, checking its type and that it names the URL.
template <class Expected>
gale::Task<std::string> expect_error(AsyncHTTPClient& client, std::string url) {
    try {
        Request request(url);
        request.request_timeout = 10s;
        co_await client.fetch(std::move(request));
    } catch (const Expected& error) {
        std::string message = error.what();
        CHECK(error.url() == url);
        CHECK(message.find(url) != std::string::npos);
        co_return message;
    } catch (const std::exception& error) {
        FAIL("unexpected error for " << url << ": " << error.what());
    }
    FAIL("no error for " << url);
    co_return "";
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("broken servers: each failure is the right error", "[httpclient][broken]") {
    auto body = []() -> gale::Task<void> {
        PythonServer server("broken_server.py");
        AsyncHTTPClient client;
        using namespace gale::httpclient;

        std::string short_body =
            co_await expect_error<HTTPProtocolError>(client, server.url("/short-body"));
        CHECK(contains(short_body, "ended after 10 of 100 bytes"));

        std::string reset =
            co_await expect_error<HTTPConnectionError>(client, server.url("/reset-mid-body"));
        CHECK(contains(reset, "reading the response"));

        std::string bad_chunk =
            co_await expect_error<HTTPProtocolError>(client, server.url("/bad-chunk"));
        CHECK(contains(bad_chunk, "invalid chunk size"));

        std::string cut =
            co_await expect_error<HTTPProtocolError>(client, server.url("/chunked-cut"));
        CHECK(contains(cut, "ended before its last chunk"));

        std::string huge =
            co_await expect_error<HTTPProtocolError>(client, server.url("/huge-headers"));
        CHECK(contains(huge, "response head larger than 65536 bytes"));

        std::string loop =
            co_await expect_error<TooManyRedirectsError>(client, server.url("/redirect-loop"));
        CHECK(contains(loop, "too many redirects (max_redirects 5)"));

        std::string silent =
            co_await expect_error<HTTPConnectionError>(client, server.url("/no-response"));
        CHECK(contains(silent, "connection closed by 127.0.0.1:"));

        std::string garbage =
            co_await expect_error<HTTPProtocolError>(client, server.url("/garbage"));
        CHECK(contains(garbage, "malformed response"));

        std::string status =
            co_await expect_error<HTTPProtocolError>(client, server.url("/bad-status"));
        CHECK(contains(status, "malformed status code"));

        std::string truncated =
            co_await expect_error<HTTPProtocolError>(client, server.url("/truncated-gzip"));
        CHECK(contains(truncated, "truncated"));

        std::string invalid =
            co_await expect_error<HTTPProtocolError>(client, server.url("/invalid-gzip"));
        CHECK(contains(invalid, "invalid compressed data"));

        std::string both =
            co_await expect_error<HTTPProtocolError>(client, server.url("/te-and-cl"));
        CHECK(contains(both, "both Transfer-Encoding and Content-Length"));

        std::string conflict =
            co_await expect_error<HTTPProtocolError>(client, server.url("/conflicting-length"));
        CHECK(contains(conflict, "Content-Length"));

        // The client still works afterwards.
        Response fine = co_await client.fetch(server.url("/ok"));
        CHECK(fine.body == "fine");
    };
    gale::test::run(body());
}

TEST_CASE("broken servers: a redirect loop can be returned instead of raised",
          "[httpclient][broken]") {
    auto body = []() -> gale::Task<void> {
        PythonServer server("broken_server.py");
        AsyncHTTPClient client;
        Request request(server.url("/redirect-loop"));
        request.max_redirects = 2;
        Response response = co_await client.fetch(std::move(request), false);
        CHECK(response.code == 302);
        CHECK(response.redirects == 2);
    };
    gale::test::run(body());
}

TEST_CASE("odd but valid: 1xx responses are skipped, HTTP/1.0 bodies end at the close",
          "[httpclient][broken]") {
    auto body = []() -> gale::Task<void> {
        PythonServer server("broken_server.py");
        AsyncHTTPClient client;
        Response interim = co_await client.fetch(server.url("/interim"));
        CHECK(interim.code == 200);
        CHECK(interim.body == "final");
        CHECK_FALSE(interim.headers.contains("x-a"));
        Response close_delimited = co_await client.fetch(server.url("/close-delimited"));
        CHECK(close_delimited.code == 200);
        CHECK(close_delimited.body == std::string(50000, 'z'));
        CHECK(close_delimited.reused_connection);     // the /interim connection was kept...
        CHECK(client.stats().idle_connections == 0);  // ...and ended with the body
    };
    gale::test::run(body());
}

TEST_CASE("a slow body times out in the reading phase", "[httpclient][broken][timeout]") {
    auto body = []() -> gale::Task<void> {
        PythonServer server("broken_server.py");
        AsyncHTTPClient client;
        Request request(server.url("/slow-body"));
        request.request_timeout = 1500ms;  // the head comes at once, the body takes 5 s
        try {
            co_await client.fetch(std::move(request));
            FAIL("expected HTTPTimeoutError");
        } catch (const gale::httpclient::HTTPTimeoutError& error) {
            CHECK(error.phase() == gale::httpclient::TimeoutPhase::read_response);
            CHECK(contains(error.what(),
                           "timeout in reading the response fetching " + server.url("/slow-body")));
        }
    };
    gale::test::run(body());
}

TEST_CASE("a kept-alive connection dropped on reuse is retried once for idempotent requests",
          "[httpclient][broken][pool]") {
    auto body = []() -> gale::Task<void> {
        PythonServer server("broken_server.py");
        AsyncHTTPClient client;
        Response first = co_await client.fetch(server.url("/drop-second"));
        CHECK(first.body == "first");
        // The pooled connection looks fine but the server drops the next request on it.
        Response second = co_await client.fetch(server.url("/drop-second"));
        CHECK(second.body == "first");
        CHECK_FALSE(second.reused_connection);
        CHECK(client.stats().retries == 1);
        CHECK(client.stats().connections_opened == 2);
        // A POST is not retried: the server might have acted on it.
        co_await client.fetch(server.url("/drop-second"));  // leaves a pooled connection
        Request post(server.url("/drop-second"), "POST");
        post.body = "once";
        try {
            co_await client.fetch(std::move(post));
            FAIL("expected HTTPConnectionError");
        } catch (const gale::httpclient::HTTPConnectionError& error) {
            CHECK(contains(error.what(), "connection closed by"));
        }
    };
    gale::test::run(body());
}

TEST_CASE("a server that ignores Expect: 100-continue still gets the body",
          "[httpclient][broken][body]") {
    auto body = []() -> gale::Task<void> {
        PythonServer server("broken_server.py");
        AsyncHTTPClient client;
        Request request(server.url("/ignores-expect"), "PUT");
        request.body = "patience";
        request.expect_100_continue = true;
        Response response = co_await client.fetch(std::move(request));
        CHECK(response.body == "got patience");
        CHECK(response.time_info.first_byte >= 900ms);  // it waited for a 100 first
    };
    gale::test::run(body());
}
