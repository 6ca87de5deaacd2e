// WebSocketHandler after the handshake: the HTTP exchange is over (on_finish has run, the
// server freed its state for the request), yet the handler still sees its request — path,
// query, headers, addresses — from its own copy; the response is gone, and using it is an
// error, not a crash. The connection still counts against the server's max_connections.

#include <gale/ioloop/combinators.hpp>
#include <gale/websocket/client.hpp>

#include <catch2/catch.hpp>

#include "test_server.hpp"

#include <support/helpers.hpp>
#include <support/http_exchange.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using gale::Task;

// The order of the handler's events, as the test sees them.
struct Journal {
    std::vector<std::string> events;
};

// Answers each message with what it knows of its request, and reports what using the
// response does now.
class IntrospectingSocket : public gale::web::WebSocketHandler {
  public:
    explicit IntrospectingSocket(std::shared_ptr<Journal> journal) : journal_(std::move(journal)) {}

    void on_finish() override { journal_->events.push_back("finish"); }
    Task<void> open() override {
        journal_->events.push_back("open " + describe());
        co_return;
    }
    Task<void> on_message(std::string message, bool) override {
        journal_->events.push_back("message " + message);
        std::string answer = describe();
        try {
            set_header("X-Late", "1");
            answer += " set_header:accepted";
        } catch (const gale::Error&) {
            answer += " set_header:refused";
        }
        answer += " status:" + std::to_string(get_status());
        co_await write_message(std::move(answer));
    }
    void on_close() override { journal_->events.push_back("close"); }

  private:
    std::string describe() {
        return std::string(request().method()) + " " + std::string(request().path()) + "?" +
               std::string(request().query()) +
               " probe:" + std::string(request().headers().get_or("x-probe", "-")) +
               " ip:" + std::string(request().remote_ip()) + " arg:" + get_argument("name", "-") +
               " kw:" + path_kwargs().at("room");
    }

    std::shared_ptr<Journal> journal_;
};

struct Server {
    explicit Server(std::size_t max_connections = 0) {
        std::vector<gale::web::Route> routes;
        routes.push_back(gale::websocket::test::socket_route<IntrospectingSocket>(
            "/rooms/(?P<room>[a-z]+)", journal));
        application = std::make_unique<gale::web::Application>(std::move(routes));
        gale::http::HTTPServerOptions options;
        options.tcp.max_connections = max_connections;
        port = application->listen(0, gale::ListenOptions("127.0.0.1"), std::move(options))
                   .front()
                   .port();
    }
    std::string url(const std::string& path) const {
        return "ws://127.0.0.1:" + std::to_string(port) + path;
    }
    std::shared_ptr<Journal> journal = std::make_shared<Journal>();
    std::unique_ptr<gale::web::Application> application;
    std::uint16_t port = 0;
};

Task<gale::websocket::ClientConnection> connect_with_probe(std::string url) {
    gale::websocket::ClientOptions options;
    options.headers.set("X-Probe", "kept");
    co_return co_await gale::websocket::websocket_connect(std::move(url), std::move(options));
}

}  // namespace

TEST_CASE("after the handshake the handler keeps its request, not its response",
          "[websocket][handler]") {
    auto body = []() -> Task<void> {
        Server server;
        gale::websocket::ClientConnection client =
            co_await connect_with_probe(server.url("/rooms/lobby?name=ann"));
        co_await client.write_message("hello");
        std::optional<gale::websocket::Message> answer = co_await client.read_message();
        REQUIRE(answer);
        CHECK(answer->data ==
              "GET /rooms/lobby?name=ann probe:kept ip:127.0.0.1 arg:ann kw:lobby "
              "set_header:refused status:101");
        co_await client.close();
        Journal& journal = *server.journal;
        auto closed = [&journal] {
            return !journal.events.empty() && journal.events.back() == "close";
        };
        const bool ended = co_await gale::test::eventually(closed);
        CHECK(ended);
        // Tornado's order: the request finishes with the 101, then the socket opens.
        CHECK(journal.events ==
              std::vector<std::string>{
                  "finish",
                  "open GET /rooms/lobby?name=ann probe:kept ip:127.0.0.1 arg:ann kw:lobby",
                  "message hello", "close"});
    };
    gale::test::run(body());
}

TEST_CASE("an open WebSocket counts against max_connections", "[websocket][handler]") {
    auto body = []() -> Task<void> {
        Server server(1);
        gale::websocket::ClientConnection first =
            co_await connect_with_probe(server.url("/rooms/a"));
        // The server stops accepting while the first connection is open: the second
        // handshake gets no answer.
        bool refused = false;
        try {
            Task<gale::websocket::ClientConnection> second =
                gale::websocket::websocket_connect(server.url("/rooms/b"));
            co_await gale::with_timeout(500ms, std::move(second));
        } catch (const gale::TimeoutError&) {
            refused = true;
        }
        CHECK(refused);
        co_await first.close();
        auto drained = [&server] { return server.journal->events.back() == "close"; };
        const bool closed = co_await gale::test::eventually(drained);
        CHECK(closed);
        gale::websocket::ClientConnection second =
            co_await connect_with_probe(server.url("/rooms/b"));
        CHECK(second.is_open());
        co_await second.close();
    };
    gale::test::run(body());
}

TEST_CASE("an HTTP/1.0 Upgrade is ignored; a 426 names the protocol it wants",
          "[websocket][handler]") {
    auto body = []() -> Task<void> {
        Server server;
        const std::string handshake_fields =
            "Host: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
        // RFC 9110 §7.8: a server MUST ignore Upgrade in an HTTP/1.0 request.
        gale::test::ParsedResponse old = co_await gale::test::http_exchange(
            server.port, "GET /rooms/lobby HTTP/1.0\r\n" + handshake_fields +
                             "Sec-WebSocket-Version: 13\r\n\r\n");
        CHECK(old.status == 400);
        // RFC 9110 §15.5.22: 426 carries Upgrade; RFC 6455 §4.4: and the versions we speak.
        gale::test::ParsedResponse wrong = co_await gale::test::http_exchange(
            server.port, "GET /rooms/lobby HTTP/1.1\r\n" + handshake_fields +
                             "Sec-WebSocket-Version: 99\r\n\r\n");
        CHECK(wrong.status == 426);
        CHECK(wrong.headers.get_or("upgrade", "") == "websocket");
        CHECK(wrong.headers.get_or("sec-websocket-version", "") == "13");
        for (const std::string& event : server.journal->events) {
            CHECK(!event.starts_with("open"));  // no socket opened
        }
    };
    gale::test::run(body());
}
