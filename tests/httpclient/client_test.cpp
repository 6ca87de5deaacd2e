// AsyncHTTPClient against a gale HTTPServer started by each test: basics, keep-alive pool,
// bodies, redirects, decoding, limits, timeouts, errors.
#include <gale/ioloop/combinators.hpp>

#include <catch2/catch.hpp>

#include "httpclient/support.hpp"

#include <set>

using namespace httpclient_test;
using gale::httpclient::AsyncHTTPClient;
using gale::httpclient::ClientOptions;
using Request = gale::httpclient::HTTPRequest;
using Response = gale::httpclient::HTTPResponse;

TEST_CASE("a GET returns code, headers, body, effective URL and timings", "[httpclient]") {
    auto body = []() -> gale::Task<void> {
        LocalServer server;
        AsyncHTTPClient client;
        Response response = co_await client.fetch(server.url("/hello"));
        CHECK(response.code == 200);
        CHECK(response.reason == "OK");
        CHECK(response.body == "Hello, World!");
        CHECK(response.headers.get_or("content-type", "") == "text/plain");
        CHECK(response.effective_url == server.url("/hello"));
        CHECK(response.redirects == 0);
        CHECK_FALSE(response.reused_connection);
        CHECK(response.time_info.total > gale::IOLoop::Duration::zero());
        CHECK(response.time_info.connect > gale::IOLoop::Duration::zero());
        CHECK(response.time_info.total >= response.time_info.first_byte);
        REQUIRE(response.request != nullptr);
        CHECK(response.request->url == server.url("/hello"));
    };
    gale::test::run(body());
}

TEST_CASE("keep-alive: sequential fetches reuse one connection", "[httpclient][pool]") {
    auto body = []() -> gale::Task<void> {
        LocalServer server;
        AsyncHTTPClient client;
        std::set<std::string> ports;
        for (int i = 0; i < 5; ++i) {
            Response response = co_await client.fetch(server.url("/peer"));
            ports.insert(response.body);
            CHECK(response.reused_connection == (i > 0));
        }
        CHECK(ports.size() == 1);
        auto stats = client.stats();
        CHECK(stats.connections_opened == 1);
        CHECK(stats.connections_reused == 4);
        CHECK(stats.idle_connections == 1);
        CHECK(server.server->connection_count() == 1);
    };
    gale::test::run(body());
}

TEST_CASE("POST and PUT send their bodies; a body producer streams chunked or sized",
          "[httpclient][body]") {
    auto body = []() -> gale::Task<void> {
        LocalServer server;
        AsyncHTTPClient client;
        Request post(server.url("/echo"), "POST");
        post.body = "name=gale";
        Response posted = co_await client.fetch(std::move(post));
        CHECK(posted.body == "name=gale");
        CHECK(posted.headers.get_or("x-method", "") == "POST");
        CHECK(posted.headers.get_or("content-type", "") == "application/x-www-form-urlencoded");

        Request put(server.url("/echo"), "PUT");
        put.body = std::string(200'000, 'p');
        put.headers.set("Content-Type", "application/octet-stream");
        Response echoed = co_await client.fetch(std::move(put));
        CHECK(echoed.body == std::string(200'000, 'p'));

        for (bool sized : {false, true}) {
            Request streamed(server.url("/echo"), "POST");
            streamed.body_producer = [](gale::httpclient::BodyWriter writer) -> gale::Task<void> {
                for (int i = 0; i < 5; ++i) {
                    co_await writer.write("piece" + std::to_string(i) + ";");
                    co_await gale::sleep(1ms);
                }
            };
            if (sized) {
                streamed.body_size = 35;
            }
            Response result = co_await client.fetch(std::move(streamed));
            CHECK(result.body == "piece0;piece1;piece2;piece3;piece4;");
        }
    };
    gale::test::run(body());
}

TEST_CASE("a body producer that breaks its declared size fails clearly", "[httpclient][body]") {
    auto body = []() -> gale::Task<void> {
        LocalServer server;
        AsyncHTTPClient client;
        Request request(server.url("/echo"), "POST");
        request.body_size = 3;
        request.body_producer = [](gale::httpclient::BodyWriter writer) -> gale::Task<void> {
            co_await writer.write("too long");
        };
        try {
            co_await client.fetch(std::move(request));
            FAIL("expected InvalidRequestError");
        } catch (const gale::httpclient::InvalidRequestError& error) {
            CHECK(std::string(error.what()).find("body_size (3 bytes)") != std::string::npos);
        }
    };
    gale::test::run(body());
}

TEST_CASE("expect_100_continue sends the body after 100 Continue", "[httpclient][body]") {
    auto body = []() -> gale::Task<void> {
        LocalServer server;
        AsyncHTTPClient client;
        Request request(server.url("/echo"), "PUT");
        request.body = "after continue";
        request.expect_100_continue = true;
        Response response = co_await client.fetch(std::move(request));
        CHECK(response.body == "after continue");
        // An early final answer: the body is never produced.
        bool produced = false;
        Request refused(server.url("/status/403"), "PUT");
        refused.expect_100_continue = true;
        refused.body_producer = [&produced](gale::httpclient::BodyWriter) -> gale::Task<void> {
            produced = true;
            co_return;
        };
        Response answer = co_await client.fetch(std::move(refused), false);
        CHECK(answer.code == 403);
        CHECK_FALSE(produced);
    };
    gale::test::run(body());
}

TEST_CASE("redirect chains are followed up to max_redirects", "[httpclient][redirect]") {
    auto body = []() -> gale::Task<void> {
        LocalServer server;
        AsyncHTTPClient client;
        Response response = co_await client.fetch(server.url("/redirect/3"));
        CHECK(response.code == 200);
        CHECK(response.body == "done");
        CHECK(response.redirects == 3);
        CHECK(response.effective_url == server.url("/redirect/0"));
        CHECK(client.stats().connections_opened == 1);  // all hops on one connection

        Request limited(server.url("/redirect/10"));
        limited.max_redirects = 3;
        try {
            co_await client.fetch(limited);
            FAIL("expected TooManyRedirectsError");
        } catch (const gale::httpclient::TooManyRedirectsError& error) {
            CHECK(error.code() == 302);
            CHECK(error.response().effective_url == server.url("/redirect/7"));
            CHECK(std::string(error.what()).find("too many redirects (max_redirects 3)") !=
                  std::string::npos);
        }
        Response last = co_await client.fetch(limited, false);
        CHECK(last.code == 302);
        CHECK(last.headers.get_or("location", "") == "/redirect/6");

        Request unfollowed(server.url("/redirect/1"));
        unfollowed.follow_redirects = false;
        try {
            co_await client.fetch(std::move(unfollowed));
            FAIL("expected HTTPStatusError");
        } catch (const gale::httpclient::HTTPStatusError& error) {
            CHECK(error.code() == 302);
            CHECK(error.response().body == "");
        }
    };
    gale::test::run(body());
}

TEST_CASE("redirect methods: 301/302/303 turn POST into GET, 307/308 keep it",
          "[httpclient][redirect]") {
    auto body = []() -> gale::Task<void> {
        LocalServer server;
        AsyncHTTPClient client;
        for (int status : {301, 302, 303, 307, 308}) {
            Request request(
                server.url("/redirect-to?status=" + std::to_string(status) + "&url=/headers"),
                "POST");
            request.body = "payload";
            request.headers.set("Content-Type", "text/x-payload");
            Response response = co_await client.fetch(std::move(request), false);
            INFO("status " << status);
            if (status == 307 || status == 308) {
                // /headers answers any method; the body and its type went along.
                CHECK(response.body.rfind("POST /headers\n", 0) == 0);
                CHECK(response.body.find("Content-Length: 7") != std::string::npos);
                CHECK(response.body.find("Content-Type: text/x-payload") != std::string::npos);
            } else {
                CHECK(response.body.rfind("GET /headers\n", 0) == 0);
                CHECK(response.body.find("Content-Length") == std::string::npos);
                CHECK(response.body.find("Content-Type") == std::string::npos);
            }
        }
        // 303 turns PUT into GET; 301 keeps PUT; HEAD stays HEAD.
        Request put(server.url("/redirect-to?status=303&url=/headers"), "PUT");
        put.body = "x";
        Response after_put = co_await client.fetch(std::move(put));
        CHECK(after_put.body.rfind("GET /headers\n", 0) == 0);
        Request head(server.url("/redirect-to?status=303&url=/hello"), "HEAD");
        Response after_head = co_await client.fetch(std::move(head));
        CHECK(after_head.code == 200);
        CHECK(after_head.body.empty());
    };
    gale::test::run(body());
}

TEST_CASE("a relative Location is resolved against the current URL", "[httpclient][redirect]") {
    auto body = []() -> gale::Task<void> {
        LocalServer server;
        AsyncHTTPClient client;
        Response response =
            co_await client.fetch(server.url("/redirect-to?status=302&url=../headers%3Fx%3D1"));
        CHECK(response.effective_url == server.url("/headers?x=1"));
        CHECK(response.body.rfind("GET /headers?x=1\n", 0) == 0);
    };
    gale::test::run(body());
}

TEST_CASE("a cross-origin redirect drops Authorization and Cookie", "[httpclient][redirect]") {
    auto body = []() -> gale::Task<void> {
        LocalServer server;
        LocalServer other;
        AsyncHTTPClient client;
        // Same origin: kept.
        Request same(server.url("/redirect-to?status=302&url=/headers"));
        same.auth_username = "Aladdin";
        same.auth_password = "open sesame";
        same.headers.set("Cookie", "session=1");
        Response kept = co_await client.fetch(same);
        CHECK(kept.body.find("Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==") !=
              std::string::npos);
        CHECK(kept.body.find("Cookie: session=1") != std::string::npos);
        // Another port is another origin: dropped.
        Request cross(server.url("/redirect-to?status=302&url=" +
                                 gale::web::url_concat(other.url("/headers"), {})));
        cross.auth_username = "Aladdin";
        cross.auth_password = "open sesame";
        cross.headers.set("Cookie", "session=1");
        cross.headers.set("Authorization", "Bearer secret");
        cross.headers.set("X-Kept", "yes");
        Response dropped = co_await client.fetch(cross);
        CHECK(dropped.effective_url == other.url("/headers"));
        CHECK(dropped.body.find("Authorization") == std::string::npos);
        CHECK(dropped.body.find("Cookie") == std::string::npos);
        CHECK(dropped.body.find("X-Kept: yes") != std::string::npos);
    };
    gale::test::run(body());
}

TEST_CASE("basic auth from fields and from the URL; Host never carries credentials",
          "[httpclient][auth]") {
    auto body = []() -> gale::Task<void> {
        LocalServer server;
        AsyncHTTPClient client;
        Response from_url = co_await client.fetch(
            "http://Aladdin:open%20sesame@127.0.0.1:" + std::to_string(server.port) + "/headers");
        CHECK(from_url.body.find("Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==") !=
              std::string::npos);
        CHECK(from_url.body.find("Host: 127.0.0.1:" + std::to_string(server.port) + "\n") !=
              std::string::npos);
        Request digest(server.url("/headers"));
        digest.auth_username = "user";
        digest.auth_mode = "digest";
        try {
            co_await client.fetch(std::move(digest));
            FAIL("expected InvalidRequestError");
        } catch (const gale::httpclient::InvalidRequestError& error) {
            CHECK(std::string(error.what()).find("auth_mode 'digest'") != std::string::npos);
        }
    };
    gale::test::run(body());
}

TEST_CASE("gzip bodies are decompressed unless asked not to", "[httpclient][decoding]") {
    auto body = []() -> gale::Task<void> {
        LocalServer server;
        AsyncHTTPClient client;
        std::string expected;
        for (int i = 0; i < 100'000; ++i) {
            expected += static_cast<char>('a' + i % 26);
        }
        Response response = co_await client.fetch(server.url("/bytes/100000"));
        CHECK(response.headers.get_or("content-encoding", "") == "gzip");
        CHECK(response.body == expected);
        Request raw(server.url("/bytes/100000"));
        raw.decompress_response = false;
        Response compressed = co_await client.fetch(std::move(raw));
        CHECK(compressed.headers.get_or("content-encoding", "") == "");  // not offered: identity
        CHECK(compressed.body == expected);
        Request offered(server.url("/bytes/100000"));
        offered.decompress_response = false;
        offered.headers.set("Accept-Encoding", "gzip");
        Response kept = co_await client.fetch(std::move(offered));
        CHECK(kept.headers.get_or("content-encoding", "") == "gzip");
        CHECK(gale::http::decompress(kept.body, 1 << 20) == expected);
    };
    gale::test::run(body());
}

TEST_CASE("streaming callbacks get the body as it arrives, nothing is buffered",
          "[httpclient][streaming]") {
    auto body = []() -> gale::Task<void> {
        LocalServer server;
        AsyncHTTPClient client;
        std::vector<std::string> pieces;
        std::vector<std::string> head_lines;
        Request request(server.url("/stream/4?delay_ms=20"));
        request.streaming_callback = [&pieces](std::string_view chunk) {
            pieces.emplace_back(chunk);
        };
        request.header_callback = [&head_lines, &pieces](std::string_view line) {
            CHECK(pieces.empty());  // every header line comes before any body
            head_lines.emplace_back(line);
        };
        Response response = co_await client.fetch(std::move(request));
        CHECK(response.body.empty());
        std::string joined;
        for (const auto& piece : pieces) {
            joined += piece;
        }
        CHECK(joined == "line 0\nline 1\nline 2\nline 3\n");
        CHECK(pieces.size() >= 4);
        REQUIRE(head_lines.size() >= 3);
        CHECK(head_lines.front() == "HTTP/1.1 200 OK\r\n");
        CHECK(head_lines.back() == "\r\n");

        std::string slow;
        Request async_request(server.url("/stream/3"));
        async_request.async_streaming_callback = [&slow](std::string chunk) -> gale::Task<void> {
            co_await gale::sleep(5ms);
            slow += chunk;
        };
        co_await client.fetch(std::move(async_request));
        CHECK(slow == "line 0\nline 1\nline 2\n");
    };
    gale::test::run(body());
}

TEST_CASE("HEAD, 204 and 304 have no body", "[httpclient][framing]") {
    auto body = []() -> gale::Task<void> {
        LocalServer server;
        AsyncHTTPClient client;
        Request head(server.url("/bytes/1000"), "HEAD");
        Response head_response = co_await client.fetch(std::move(head));
        CHECK(head_response.code == 200);
        CHECK(head_response.body.empty());
        Response no_content = co_await client.fetch(server.url("/status/204"));
        CHECK(no_content.code == 204);
        Response not_modified = co_await client.fetch(server.url("/status/304"), false);
        CHECK(not_modified.code == 304);
        Response after = co_await client.fetch(server.url("/hello"));
        CHECK(after.body == "Hello, World!");
        CHECK(client.stats().connections_opened == 1);
    };
    gale::test::run(body());
}

TEST_CASE("status errors carry the response; raise_error=false returns it",
          "[httpclient][errors]") {
    auto body = []() -> gale::Task<void> {
        LocalServer server;
        AsyncHTTPClient client;
        try {
            co_await client.fetch(server.url("/missing"));
            FAIL("expected HTTPStatusError");
        } catch (const gale::httpclient::HTTPStatusError& error) {
            CHECK(error.code() == 404);
            CHECK(error.response().body == "not found");
            CHECK(error.url() == server.url("/missing"));
            CHECK(std::string(error.what()) ==
                  "HTTP 404 Not Found fetching " + server.url("/missing"));
        }
        Response response = co_await client.fetch(server.url("/status/503"), false);
        CHECK(response.code == 503);
        CHECK(response.body == "status 503");
    };
    gale::test::run(body());
}

TEST_CASE("max_body_size: by Content-Length, while reading, and after decompression",
          "[httpclient][limits]") {
    auto body = []() -> gale::Task<void> {
        LocalServer server;
        AsyncHTTPClient client;
        Request big(server.url("/bytes/100000"));
        big.max_body_size = 64 * 1024;
        big.decompress_response = false;
        try {
            co_await client.fetch(std::move(big));
            FAIL("expected HTTPBodyTooLargeError");
        } catch (const gale::httpclient::HTTPBodyTooLargeError& error) {
            CHECK(std::string(error.what()).find("exceeds max_body_size (65536 bytes)") !=
                  std::string::npos);
        }
        Request bomb(server.url("/bomb"));
        bomb.max_body_size = 1024 * 1024;
        try {
            co_await client.fetch(std::move(bomb));
            FAIL("expected HTTPBodyTooLargeError");
        } catch (const gale::httpclient::HTTPBodyTooLargeError& error) {
            CHECK(std::string(error.what()).find("decompressed body") != std::string::npos);
        }
        Request fits(server.url("/bytes/65536"));
        fits.max_body_size = 64 * 1024;
        Response response = co_await client.fetch(std::move(fits));
        CHECK(response.body.size() == 65536);
    };
    gale::test::run(body());
}

TEST_CASE("invalid requests fail before anything is sent", "[httpclient][errors]") {
    auto body = []() -> gale::Task<void> {
        LocalServer server;
        AsyncHTTPClient client;
        auto expect_invalid = [&client](Request request, std::string fragment) -> gale::Task<void> {
            try {
                co_await client.fetch(std::move(request));
                FAIL("expected InvalidRequestError");
            } catch (const gale::httpclient::InvalidRequestError& error) {
                INFO(error.what());
                CHECK(std::string(error.what()).find(fragment) != std::string::npos);
            }
        };
        co_await expect_invalid(Request("ftp://127.0.0.1/x"), "unsupported URL scheme 'ftp'");
        co_await expect_invalid(Request("http://exa mple.com/"), "invalid URL");
        Request crlf(server.url("/hello"));
        crlf.headers.set("X-Evil", "a\r\nInjected: 1");
        co_await expect_invalid(std::move(crlf), "invalid value of header 'X-Evil'");
        Request get_body(server.url("/hello"));
        get_body.body = "x";
        co_await expect_invalid(std::move(get_body), "may not have a body");
        co_await expect_invalid(Request(server.url("/echo"), "POST"), "needs a body");
        co_await expect_invalid(Request(server.url("/echo"), "BREW"), "unsupported HTTP method");
        co_await expect_invalid(Request(server.url("/echo"), "GE T"), "invalid HTTP method");
        Request nonstandard(server.url("/headers"), "PROPFIND");
        nonstandard.allow_nonstandard_methods = true;
        Response allowed = co_await client.fetch(std::move(nonstandard));
        CHECK(allowed.body.rfind("PROPFIND /headers", 0) == 0);
    };
    gale::test::run(body());
}

TEST_CASE("timeouts name their phase: queue, connect, response", "[httpclient][timeout]") {
    auto body = []() -> gale::Task<void> {
        LocalServer server;
        ClientOptions options;
        options.max_clients = 1;
        AsyncHTTPClient client(options);

        Request slow(server.url("/delay/2000"));
        slow.request_timeout = 200ms;
        try {
            co_await client.fetch(std::move(slow));
            FAIL("expected HTTPTimeoutError");
        } catch (const gale::httpclient::HTTPTimeoutError& error) {
            CHECK(error.phase() == gale::httpclient::TimeoutPhase::wait_response);
            CHECK(error.code() == 599);
            CHECK(std::string(error.what())
                      .find("timeout in waiting for the response fetching " +
                            server.url("/delay/2000")) != std::string::npos);
        }

        // The one slot is busy: the second request times out in the queue.
        gale::TaskGroup group;
        group.spawn([](AsyncHTTPClient* shared, std::string url) -> gale::Task<void> {
            co_await shared->fetch(url);
        }(&client, server.url("/delay/500")));
        co_await gale::sleep(50ms);
        Request queued(server.url("/hello"));
        queued.request_timeout = 100ms;
        try {
            co_await client.fetch(std::move(queued));
            FAIL("expected HTTPTimeoutError");
        } catch (const gale::httpclient::HTTPTimeoutError& error) {
            CHECK(error.phase() == gale::httpclient::TimeoutPhase::queue);
        }
        co_await group.join();
    };
    gale::test::run(body());
}

namespace {
// A resolver that never answers: connecting can only time out.
class SilentResolver final : public gale::Resolver {
  public:
    gale::Task<std::vector<gale::SocketAddress>> resolve(std::string, std::uint16_t, int) override {
        co_await gale::sleep(1h);
        co_return std::vector<gale::SocketAddress>{};
    }
};
}  // namespace

TEST_CASE("connect timeout and connection errors", "[httpclient][timeout][errors]") {
    auto body = []() -> gale::Task<void> {
        ClientOptions options;
        options.resolver = std::make_shared<SilentResolver>();
        AsyncHTTPClient client(options);
        Request request("http://never.invalid/");
        request.connect_timeout = 100ms;
        try {
            co_await client.fetch(std::move(request));
            FAIL("expected HTTPTimeoutError");
        } catch (const gale::httpclient::HTTPTimeoutError& error) {
            CHECK(error.phase() == gale::httpclient::TimeoutPhase::connect);
            CHECK(std::string(error.what()).find("connect_timeout 0.1 s") != std::string::npos);
        }
        AsyncHTTPClient plain;
        std::string refused = "http://127.0.0.1:" + std::to_string(free_port()) + "/";
        try {
            co_await plain.fetch(refused);
            FAIL("expected HTTPConnectionError");
        } catch (const gale::httpclient::HTTPConnectionError& error) {
            CHECK(error.code() == 599);
            CHECK(std::string(error.what()).find(refused) != std::string::npos);
            CHECK(std::string(error.what()).find("refused") != std::string::npos);
        }
    };
    gale::test::run(body());
}

TEST_CASE("max_clients queues fetches in FIFO order", "[httpclient][pool]") {
    auto body = []() -> gale::Task<void> {
        LocalServer server;
        ClientOptions options;
        options.max_clients = 2;
        AsyncHTTPClient client(options);
        std::vector<Response> responses(6);
        gale::TaskGroup group;
        for (int i = 0; i < 6; ++i) {
            group.spawn(
                [](AsyncHTTPClient* shared, std::string url, Response* out) -> gale::Task<void> {
                    *out = co_await shared->fetch(url);
                }(&client, server.url("/delay/100"), &responses[static_cast<std::size_t>(i)]));
        }
        co_await gale::sleep(30ms);
        CHECK(client.stats().queued == 4);
        co_await group.join();
        // Two at a time, in the order of the calls: each pair waited for the one before it.
        std::vector<std::chrono::milliseconds> waited;
        for (const Response& response : responses) {
            waited.push_back(
                std::chrono::duration_cast<std::chrono::milliseconds>(response.time_info.queue));
        }
        for (std::size_t pair = 0; pair < 3; ++pair) {
            INFO("pair " << pair << " waited " << waited[2 * pair].count() << " and "
                         << waited[2 * pair + 1].count() << " ms");
            CHECK(waited[2 * pair] >= std::chrono::milliseconds(90 * pair));
            CHECK(waited[2 * pair + 1] >= std::chrono::milliseconds(90 * pair));
            if (pair > 0) {
                CHECK(std::min(waited[2 * pair], waited[2 * pair + 1]) >
                      std::max(waited[2 * pair - 2], waited[2 * pair - 1]));
            }
        }
        CHECK(client.stats().connections_opened == 2);
    };
    gale::test::run(body());
}

TEST_CASE("max_connections_per_host makes requests share connections", "[httpclient][pool]") {
    auto body = []() -> gale::Task<void> {
        LocalServer server;
        ClientOptions options;
        options.max_clients = 20;
        options.max_connections_per_host = 2;
        AsyncHTTPClient client(options);
        std::vector<gale::Task<Response>> fetches;
        for (int i = 0; i < 10; ++i) {
            fetches.push_back(client.fetch(server.url("/delay/10")));
        }
        auto responses = co_await gale::when_all(std::move(fetches));
        CHECK(responses.size() == 10);
        CHECK(client.stats().connections_opened == 2);
        CHECK(client.stats().connections_reused == 8);
    };
    gale::test::run(body());
}

TEST_CASE("a connection the server closed while idle is not reused", "[httpclient][pool]") {
    auto body = []() -> gale::Task<void> {
        auto server_options = LocalServer::default_options();
        server_options.idle_timeout = 100ms;
        LocalServer server(server_options);
        AsyncHTTPClient client;
        Response first = co_await client.fetch(server.url("/peer"));
        co_await gale::sleep(1500ms);  // the server sweeps idle connections once a second
        Response second = co_await client.fetch(server.url("/peer"));
        CHECK(second.code == 200);
        CHECK_FALSE(second.reused_connection);
        CHECK(first.body != second.body);
        auto stats = client.stats();
        CHECK(stats.connections_opened == 2);
        CHECK(stats.retries == 0);  // detected before use, not by a failed request
    };
    gale::test::run(body());
}

TEST_CASE("idle connections are closed after idle_timeout; Connection: close is honoured",
          "[httpclient][pool]") {
    auto body = []() -> gale::Task<void> {
        LocalServer server;
        ClientOptions options;
        options.idle_timeout = 100ms;
        AsyncHTTPClient client(options);
        co_await client.fetch(server.url("/hello"));
        CHECK(client.stats().idle_connections == 1);
        co_await gale::sleep(300ms);
        CHECK(client.stats().idle_connections == 0);
        co_await client.fetch(server.url("/close"));
        CHECK(client.stats().idle_connections == 0);
        co_await client.fetch(server.url("/hello"));
        CHECK(client.stats().connections_opened == 3);
    };
    gale::test::run(body());
}

TEST_CASE("cookie jar: stores Set-Cookie and sends it back", "[httpclient][cookies]") {
    auto body = []() -> gale::Task<void> {
        LocalServer server;
        ClientOptions options;
        options.cookie_jar = std::make_shared<gale::httpclient::CookieJar>();
        AsyncHTTPClient client(options);
        co_await client.fetch(server.url("/set-cookie?a=1&b=2"));
        Response echoed = co_await client.fetch(server.url("/headers"));
        CHECK(echoed.body.find("Cookie: a=1; b=2\n") != std::string::npos);
        AsyncHTTPClient without;
        co_await without.fetch(server.url("/set-cookie?a=1"));
        Response none = co_await without.fetch(server.url("/headers"));
        CHECK(none.body.find("Cookie") == std::string::npos);
    };
    gale::test::run(body());
}

TEST_CASE("cancelling a fetch closes its connection and frees its slot", "[httpclient][cancel]") {
    auto body = []() -> gale::Task<void> {
        LocalServer server;
        ClientOptions options;
        options.max_clients = 1;
        AsyncHTTPClient client(options);
        try {
            co_await gale::with_timeout(100ms, client.fetch(server.url("/delay/5000")));
            FAIL("expected TimeoutError");
        } catch (const gale::TimeoutError&) {
        }
        auto stats = client.stats();
        CHECK(stats.active_connections == 0);
        CHECK(stats.idle_connections == 0);
        Response response = co_await client.fetch(server.url("/hello"));
        CHECK(response.body == "Hello, World!");
    };
    gale::test::run(body());
}

TEST_CASE("a closed client refuses fetches", "[httpclient]") {
    auto body = []() -> gale::Task<void> {
        LocalServer server;
        AsyncHTTPClient client;
        co_await client.fetch(server.url("/hello"));
        client.close();
        CHECK(client.stats().idle_connections == 0);
        try {
            co_await client.fetch(server.url("/hello"));
            FAIL("expected HTTPClientError");
        } catch (const gale::httpclient::HTTPClientError& error) {
            CHECK(std::string(error.what()).find("closed client") != std::string::npos);
        }
    };
    gale::test::run(body());
}

TEST_CASE("IPv6 literal URLs", "[httpclient]") {
    auto body = []() -> gale::Task<void> {
        gale::http::HTTPServer server(local_handler);
        std::uint16_t port = 0;
        try {
            port = server.listen(0, "::1").front().port();
        } catch (const gale::Error&) {
            WARN("no IPv6 loopback here");
            co_return;
        }
        AsyncHTTPClient client;
        std::string url = "http://[::1]:" + std::to_string(port) + "/headers";
        Response response = co_await client.fetch(url);
        CHECK(response.body.find("Host: [::1]:" + std::to_string(port) + "\n") !=
              std::string::npos);
        Request ipv4_only(url);
        ipv4_only.allow_ipv6 = false;
        try {
            co_await client.fetch(std::move(ipv4_only));
            FAIL("expected HTTPConnectionError");
        } catch (const gale::httpclient::HTTPConnectionError&) {
        }
    };
    gale::test::run(body());
}

TEST_CASE("a jar's cookies follow a cross-origin redirect; the caller's do not",
          "[httpclient][cookies][redirect]") {
    auto body = []() -> gale::Task<void> {
        LocalServer server;
        LocalServer other;
        ClientOptions options;
        options.cookie_jar = std::make_shared<gale::httpclient::CookieJar>();
        AsyncHTTPClient client(options);
        co_await client.fetch(other.url("/set-cookie?theirs=1"));
        Request request(server.url("/redirect-to?status=302&url=" + other.url("/headers")));
        request.headers.set("Cookie", "mine=1");
        Response response = co_await client.fetch(std::move(request));
        CHECK(response.body.find("Cookie: theirs=1\n") != std::string::npos);
        CHECK(response.body.find("mine") == std::string::npos);
    };
    gale::test::run(body());
}

TEST_CASE("callbacks see only the final response of a redirect chain", "[httpclient][streaming]") {
    auto body = []() -> gale::Task<void> {
        LocalServer server;
        AsyncHTTPClient client;
        std::vector<std::string> status_lines;
        std::string streamed;
        Request request(server.url("/redirect/2"));
        request.header_callback = [&status_lines](std::string_view line) {
            if (line.starts_with("HTTP/")) {
                status_lines.emplace_back(line);
            }
        };
        request.streaming_callback = [&streamed](std::string_view chunk) { streamed += chunk; };
        Response response = co_await client.fetch(std::move(request));
        CHECK(status_lines == std::vector<std::string>{"HTTP/1.1 200 OK\r\n"});
        CHECK(streamed == "done");
        CHECK(response.body.empty());
        CHECK(response.redirects == 2);
    };
    gale::test::run(body());
}
