// The testbed demo as a program: its command-line contract and every endpoint, including the
// limits its flags set.
#include <gale/http/compression.hpp>
#include <gale/ioloop/tcp_client.hpp>
#include <gale/web/event_source.hpp>
#include <gale/websocket/client.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/helpers.hpp"
#include "support/http_exchange.hpp"

#include <gale/ioloop/combinators.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace std::chrono_literals;
using gale::test::http_fetch;

namespace {

std::string testbed_binary() {
    return std::string(GALE_BINARY_DIR) + "/demos/testbed/testbed";
}

int free_port() {
    auto [fd, port] = gale::test::listen_loopback();
    ::close(fd);
    return port;
}

// Starts testbed with `flags` on a free port; stops it when destroyed.
struct Testbed {
    explicit Testbed(const std::string& flags) : port(free_port()) {
        process = std::make_unique<gale::test::ChildProcess>(
            "GALE_LOG_LEVEL=warning exec " + testbed_binary() + " --port " + std::to_string(port) +
            " " + flags + " > /dev/null");
        REQUIRE(gale::test::wait_for_port(port));
    }
    int port;
    std::unique_ptr<gale::test::ChildProcess> process;
};

}  // namespace

TEST_CASE("testbed: the endpoints of its contract", "[testbed]") {
    if (!std::filesystem::exists(testbed_binary())) {
        WARN("testbed is not built (GALE_BUILD_DEMOS=OFF)");
        return;
    }
    gale::test::TemporaryDirectory directory;
    { std::ofstream(directory.file("hello.txt")) << "static hello"; }
    Testbed testbed("--static-dir " + directory.path().string());
    auto body = [](std::uint16_t port) -> gale::Task<void> {
        auto plaintext = co_await http_fetch(port, "GET", "/plaintext");
        CHECK(plaintext.status == 200);
        CHECK(plaintext.body == "Hello, World!");
        CHECK(plaintext.headers.get_or("content-type", "").rfind("text/plain", 0) == 0);

        auto json = co_await http_fetch(port, "GET", "/json");
        CHECK(json.headers.get_or("content-type", "").rfind("application/json", 0) == 0);
        CHECK(nlohmann::json::parse(json.body) == nlohmann::json{{"message", "Hello, World!"}});

        // The root: a page that says what is served (revalidated by date or tag), an echo for
        // POST and PUT, 405 with Allow for the rest.
        auto root = co_await http_fetch(port, "GET", "/");
        CHECK(root.status == 200);
        CHECK(root.body.find("/plaintext") != std::string::npos);
        const std::string modified(root.headers.get_or("last-modified", ""));
        auto root_again =
            co_await http_fetch(port, "GET", "/", "If-Modified-Since: " + modified + "\r\n");
        CHECK(root_again.status == 304);
        CHECK(root_again.headers.get("etag") == root.headers.get("etag"));
        auto root_post = co_await http_fetch(port, "POST", "/", "", "posted");
        CHECK(root_post.body == "posted");
        auto root_delete = co_await http_fetch(port, "DELETE", "/");
        CHECK(root_delete.status == 405);
        CHECK(root_delete.headers.get("allow") == "GET, HEAD, POST, PUT, OPTIONS");

        auto echo =
            co_await http_fetch(port, "POST", "/echo", "Content-Type: text/x-test\r\n", "echo me");
        CHECK(echo.body == "echo me");
        CHECK(echo.headers.get("content-type") == "text/x-test");
        auto chunked = co_await gale::test::http_exchange(
            port,
            "PUT /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: "
            "close\r\n\r\n"
            "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n");
        CHECK(chunked.body == "abcdef");

        auto headers = co_await http_fetch(port, "GET", "/headers",
                                           "X-Custom: 42\r\nX-Twice: a\r\nx-twice: b\r\n");
        auto echoed = nlohmann::json::parse(headers.body);
        CHECK(echoed["X-Custom"] == "42");
        CHECK(echoed["X-Twice"] == "a, b");  // one name, whatever its case
        CHECK_FALSE(echoed.contains("x-twice"));

        auto status = co_await http_fetch(port, "GET", "/status/503");
        CHECK(status.status == 503);
        // With the fields those statuses require.
        auto not_allowed = co_await http_fetch(port, "GET", "/status/405");
        CHECK(not_allowed.headers.get("allow") == "GET, HEAD, OPTIONS");
        auto unauthorized = co_await http_fetch(port, "GET", "/status/401");
        CHECK(unauthorized.headers.contains("www-authenticate"));
        auto moved = co_await http_fetch(port, "GET", "/status/301");
        CHECK(moved.headers.get("location") == "/status/200");
        auto conditional_put = co_await http_fetch(port, "PUT", "/echo", "If-Match: *\r\n", "body");
        CHECK(conditional_put.status == 412);  // nothing there to match
        auto bad_status = co_await http_fetch(port, "GET", "/status/999");
        CHECK(bad_status.status == 400);

        auto redirect = co_await http_fetch(port, "GET", "/redirect/3");
        CHECK(redirect.status == 302);
        CHECK(redirect.headers.get("location") == "/redirect/2");
        auto done = co_await http_fetch(port, "GET", "/redirect/0");
        CHECK(done.body == "done");

        auto started = gale::IOLoop::Clock::now();
        auto delay = co_await http_fetch(port, "GET", "/delay/200");
        CHECK(delay.status == 200);
        CHECK(gale::IOLoop::Clock::now() - started >= 200ms);

        auto stream = co_await http_fetch(port, "GET", "/stream/3?delay_ms=10");
        CHECK(stream.headers.get("transfer-encoding") == "chunked");
        CHECK(stream.body == "line 0\nline 1\nline 2\n");

        auto bytes = co_await http_fetch(port, "GET", "/bytes/5000");
        CHECK(bytes.body.size() == 5000);
        auto gzipped = co_await http_fetch(port, "GET", "/bytes/5000", "Accept-Encoding: gzip\r\n");
        CHECK(gzipped.headers.get("content-encoding") == "gzip");
        CHECK(gale::http::decompress(gzipped.body, 1 << 20) == bytes.body);
        auto large = co_await http_fetch(port, "GET", "/bytes/3000000");
        CHECK(large.body.size() == 3'000'000);

        auto file = co_await http_fetch(port, "GET", "/static/hello.txt");
        CHECK(file.body == "static hello");

        auto set = co_await http_fetch(port, "GET", "/cookies/set?k=v");
        CHECK(set.status == 302);
        std::string cookie(set.headers.get_or("set-cookie", ""));
        cookie = cookie.substr(0, cookie.find(';'));
        auto cookies = co_await http_fetch(port, "GET", "/cookies", "Cookie: " + cookie + "\r\n");
        CHECK(nlohmann::json::parse(cookies.body)["cookies"] == nlohmann::json{{"k", "v"}});
        auto forged = co_await http_fetch(port, "GET", "/cookies", "Cookie: k=v\r\n");
        CHECK(nlohmann::json::parse(forged.body)["cookies"].empty());

        auto form = co_await http_fetch(port, "GET", "/form");
        std::string xsrf_cookie(form.headers.get_or("set-cookie", ""));
        xsrf_cookie = xsrf_cookie.substr(0, xsrf_cookie.find(';'));
        std::size_t value_at = form.body.find("value=\"") + 7;
        std::string token = form.body.substr(value_at, form.body.find('"', value_at) - value_at);
        std::string multipart =
            "--B\r\nContent-Disposition: form-data; name=\"_xsrf\"\r\n\r\n" + token +
            "\r\n--B\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\ngale\r\n"
            "--B\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"a.txt\"\r\n"
            "Content-Type: text/plain\r\n\r\n12345\r\n--B--\r\n";
        auto posted = co_await http_fetch(
            port, "POST", "/form",
            "Cookie: " + xsrf_cookie + "\r\nContent-Type: multipart/form-data; boundary=B\r\n",
            multipart);
        CHECK(posted.status == 200);
        auto result = nlohmann::json::parse(posted.body);
        CHECK(result["fields"]["name"] == "gale");
        CHECK(result["files"][0]["filename"] == "a.txt");
        CHECK(result["files"][0]["size"] == 5);
        auto forged_form = co_await http_fetch(
            port, "POST", "/form", "Content-Type: multipart/form-data; boundary=B\r\n", multipart);
        CHECK(forged_form.status == 403);
    };
    gale::test::run(body(static_cast<std::uint16_t>(testbed.port)));
}

TEST_CASE("testbed: WebSocket echo and broadcast, server-sent events", "[testbed]") {
    if (!std::filesystem::exists(testbed_binary())) {
        WARN("testbed is not built (GALE_BUILD_DEMOS=OFF)");
        return;
    }
    Testbed testbed("--ws-max-message 100000");
    auto body = [](std::uint16_t port) -> gale::Task<void> {
        std::string base = "ws://127.0.0.1:" + std::to_string(port);
        gale::websocket::ClientOptions compressed;
        compressed.compression = true;
        auto echo = co_await gale::websocket::websocket_connect(base + "/ws", compressed);
        CHECK(echo.deflate().has_value());
        co_await echo.write_message("text");
        auto text = co_await echo.read_message();
        REQUIRE(text);
        CHECK((text->data == "text" && !text->binary));
        std::string binary_payload("\0\xff\x01", 3);
        co_await echo.write_message(binary_payload, true);
        auto binary = co_await echo.read_message();
        REQUIRE(binary);
        CHECK((binary->data == binary_payload && binary->binary));
        co_await echo.write_message(std::string(100'001, 'x'));  // over --ws-max-message
        auto refused = co_await echo.read_message();
        CHECK(!refused);
        CHECK(echo.close_code() == std::optional<int>(1009));

        auto plain = co_await gale::websocket::websocket_connect(base + "/ws");
        CHECK(!plain.deflate());
        co_await plain.close();

        auto sender = co_await gale::websocket::websocket_connect(base + "/broadcast");
        auto first = co_await gale::websocket::websocket_connect(base + "/broadcast");
        auto second = co_await gale::websocket::websocket_connect(base + "/broadcast", compressed);
        co_await gale::sleep(100ms);  // the server's open() has subscribed all three
        co_await sender.write_message("to everyone else");
        auto got_first = co_await first.read_message();
        auto got_second = co_await second.read_message();
        REQUIRE(got_first);
        REQUIRE(got_second);
        CHECK(got_first->data == "to everyone else");
        CHECK(got_second->data == "to everyone else");
        co_await second.write_message("back");
        auto at_sender = co_await sender.read_message();
        REQUIRE(at_sender);
        CHECK(at_sender->data == "back");  // not "to everyone else": no echo to the sender
        co_await sender.close();
        co_await first.close();
        co_await second.close();

        auto events = co_await http_fetch(port, "GET", "/sse?count=4");
        CHECK(events.headers.get_or("content-type", "").rfind("text/event-stream", 0) == 0);
        gale::web::EventStreamParser parser;
        auto all = parser.feed(events.body);
        REQUIRE(all.size() == 4);
        CHECK(all[0].data == "event 1");
        CHECK(all[3].id == std::optional<std::string>("4"));
        CHECK(parser.reconnection_time() == std::optional<std::chrono::milliseconds>(1000ms));
        auto resumed = co_await http_fetch(port, "GET", "/sse?count=4", "Last-Event-ID: 2\r\n");
        gale::web::EventStreamParser resumed_parser;
        auto rest = resumed_parser.feed(resumed.body);
        REQUIRE(rest.size() == 2);
        CHECK(rest[0].data == "event 3");
        auto bad = co_await http_fetch(port, "GET", "/sse?count=lots");
        CHECK(bad.status == 400);
        auto bad_resume = co_await http_fetch(port, "GET", "/sse?count=4", "Last-Event-ID: x\r\n");
        CHECK(bad_resume.status == 400);
        auto past_end = co_await http_fetch(port, "GET", "/sse?count=4", "Last-Event-ID: 9\r\n");
        CHECK(past_end.status == 400);
        auto finished = co_await http_fetch(port, "GET", "/sse?count=4", "Last-Event-ID: 4\r\n");
        CHECK(finished.status == 200);
        gale::web::EventStreamParser finished_parser;
        CHECK(finished_parser.feed(finished.body).empty());
    };
    gale::test::run(body(static_cast<std::uint16_t>(testbed.port)));
}

TEST_CASE("testbed: limits set by its flags", "[testbed]") {
    if (!std::filesystem::exists(testbed_binary())) {
        WARN("testbed is not built (GALE_BUILD_DEMOS=OFF)");
        return;
    }
    Testbed testbed(
        "--max-body 1000 --max-header 2048 --header-timeout 1 --idle-timeout 1 --body-timeout 1");
    auto body = [](std::uint16_t port) -> gale::Task<void> {
        auto too_big = co_await http_fetch(port, "POST", "/echo", "", std::string(2000, 'x'));
        CHECK(too_big.status == 413);
        // A chunked body is held until it is whole (up to 1 MiB): over the limit it gets 413
        // whether it comes as one chunk or many, and within it is echoed with its length.
        auto one_chunk_too_big = co_await gale::test::http_exchange(
            port, "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" +
                      std::string(2000, 'y') + "\r\n0\r\n\r\n");
        CHECK(one_chunk_too_big.status == 413);
        std::string small_chunks;
        for (int i = 0; i < 20; ++i) {
            small_chunks += "64\r\n" + std::string(100, 'z') + "\r\n";
        }
        auto chunks_too_big = co_await gale::test::http_exchange(
            port, "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
                      small_chunks + "0\r\n\r\n");
        CHECK(chunks_too_big.status == 413);
        auto chunked_echo = co_await gale::test::http_exchange(
            port, "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
                      small_chunks.substr(0, 5 * 106) + "0\r\n\r\n");
        CHECK(chunked_echo.status == 200);
        CHECK(chunked_echo.body == std::string(500, 'z'));
        CHECK(chunked_echo.headers.get("content-length") == "500");
        auto big_header = co_await http_fetch(port, "GET", "/plaintext",
                                              "X-Big: " + std::string(4000, 'h') + "\r\n");
        CHECK(big_header.status == 431);
        auto slow = co_await gale::connect_to(*gale::SocketAddress::from_ip("127.0.0.1", port));
        co_await slow.write("GET /plaintext HTTP/1.1\r\n");
        std::string answer = co_await gale::with_timeout(10s, slow.read_until_close());
        CHECK(answer.rfind("HTTP/1.1 408", 0) == 0);
        // A body that stalls is held, not echoed yet: it gets its 408 too.
        auto stalled = co_await gale::connect_to(*gale::SocketAddress::from_ip("127.0.0.1", port));
        co_await stalled.write("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello");
        std::string stalled_answer = co_await gale::with_timeout(10s, stalled.read_until_close());
        CHECK(stalled_answer.rfind("HTTP/1.1 408", 0) == 0);
    };
    gale::test::run(body(static_cast<std::uint16_t>(testbed.port)));
}

TEST_CASE("testbed: bad command lines are refused", "[testbed]") {
    if (!std::filesystem::exists(testbed_binary())) {
        return;
    }
    CHECK(gale::test::shell(testbed_binary() + " > /dev/null 2>&1") == 2);
    CHECK(gale::test::shell(testbed_binary() + " --port 0 --threads 0 > /dev/null 2>&1") == 2);
    CHECK(gale::test::shell(testbed_binary() + " --port 0 --bogus > /dev/null 2>&1") == 2);
    CHECK(gale::test::shell(testbed_binary() + " --help > /dev/null 2>&1") == 0);
}
