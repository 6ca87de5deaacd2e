// Long-polling: MessageBuffer's cursor and wait semantics, and handlers that wait on a
// Condition, an Event, a Queue or a MessageBuffer and must leave no waiter behind when their
// client disconnects.

#include <gale/ioloop/combinators.hpp>
#include <gale/ioloop/locks.hpp>
#include <gale/ioloop/queues.hpp>
#include <gale/ioloop/tcp_client.hpp>
#include <gale/web/application.hpp>
#include <gale/web/message_buffer.hpp>

#include <catch2/catch.hpp>

#include "support/helpers.hpp"
#include "support/http_exchange.hpp"

using namespace std::chrono_literals;
using gale::Task;
using gale::test::eventually;
using gale::web::MessageBuffer;
using gale::web::RequestHandler;
using gale::web::route;

namespace {

std::vector<std::string> ids_of(const std::vector<MessageBuffer<std::string>::Entry>& entries) {
    std::vector<std::string> ids;
    for (const auto& entry : entries) {
        ids.push_back(entry.id);
    }
    return ids;
}

using Ids = std::vector<std::string>;

}  // namespace

TEST_CASE("MessageBuffer: cursor semantics and capacity", "[web][longpoll]") {
    MessageBuffer<std::string> buffer(3);
    CHECK(buffer.since(std::nullopt).empty());
    CHECK(buffer.since("anything").empty());
    buffer.add("a", "first");
    buffer.add("b", "second");
    CHECK(ids_of(buffer.since(std::nullopt)) == Ids{"a", "b"});
    CHECK(ids_of(buffer.since("a")) == Ids{"b"});
    CHECK(buffer.since("b").empty());                         // up to date
    CHECK(ids_of(buffer.since("unknown")) == Ids{"a", "b"});  // unknown: everything kept
    buffer.add("c", "third");
    buffer.add("d", "fourth");
    CHECK(buffer.size() == 3);
    CHECK(buffer.entries().front().id == "b");
    CHECK(ids_of(buffer.since("a")) == Ids{"b", "c", "d"});  // trimmed cursor: what is left
    CHECK(*buffer.since("c").front().message == "fourth");
    MessageBuffer<int> tiny(0);
    tiny.add("1", 1);
    tiny.add("2", 2);
    CHECK(tiny.size() == 1);
}

TEST_CASE("MessageBuffer: wait_since completes at once, on add, on timeout, on cancel",
          "[web][longpoll]") {
    auto body = []() -> Task<void> {
        MessageBuffer<std::string> buffer;
        buffer.add("1", "one");
        auto ready = co_await buffer.wait_since(std::nullopt);
        CHECK(ids_of(ready) == Ids{"1"});

        auto adder = [](MessageBuffer<std::string>& target) -> Task<void> {
            co_await gale::sleep(20ms);
            CHECK(target.waiter_count() == 2);
            target.add("2", "two");
        };
        auto waiter = [](MessageBuffer<std::string>& target) -> Task<std::size_t> {
            auto fresh = co_await target.wait_since("1");
            co_return fresh.size();
        };
        auto [first, second, nothing] =
            co_await gale::when_all(waiter(buffer), waiter(buffer), adder(buffer));
        CHECK(first == 1);
        CHECK(second == 1);
        CHECK(nothing);
        CHECK(buffer.waiter_count() == 0);

        auto started = gale::IOLoop::current().time();
        auto empty = co_await buffer.wait_since("2", 50ms);
        CHECK(empty.empty());
        CHECK(gale::IOLoop::current().time() - started >= 40ms);
        CHECK(buffer.waiter_count() == 0);

        bool timed_out = false;
        std::optional<std::string> newest = "2";
        try {
            co_await gale::with_timeout(30ms, buffer.wait_since(newest));
        } catch (const gale::TimeoutError&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(buffer.waiter_count() == 0);
    };
    gale::test::run(body());
}

// --- handlers that wait, and clients that leave ----------------------------------------------

namespace {

struct Waitables {
    gale::Condition condition;
    gale::Event event;
    gale::Queue<std::string> queue;
    MessageBuffer<std::string> buffer{200};
    int closed = 0;
    int finished = 0;

    std::size_t waiting() const {
        return condition.waiter_count() + event.waiter_count() + queue.getter_count() +
               buffer.waiter_count();
    }
};

// GET|POST /wait/<kind>[?timeout_ms=N]: waits on one of the primitives, then answers.
class WaitHandler : public RequestHandler {
  public:
    explicit WaitHandler(Waitables& waitables) : waitables_(waitables) {}
    Task<void> get() override { co_await wait(); }
    Task<void> post() override { co_await wait(); }
    void on_connection_close() override { ++waitables_.closed; }
    void on_finish() override { ++waitables_.finished; }

  private:
    Task<void> wait() {
        const std::string& kind = path_args().at(0);
        auto timeout = std::chrono::milliseconds(std::stol(get_argument("timeout_ms", "60000")));
        if (kind == "condition") {
            bool notified = co_await waitables_.condition.wait(timeout);
            write(notified ? "notified" : "timed out");
        } else if (kind == "event") {
            co_await waitables_.event.wait(timeout);
            write("set");
        } else if (kind == "queue") {
            std::string item = co_await waitables_.queue.get(timeout);
            write("item " + item);
        } else {
            auto cursor = get_argument("cursor", "");
            auto fresh = co_await waitables_.buffer.wait_since(cursor, timeout);
            write("messages " + std::to_string(fresh.size()));
        }
    }

    Waitables& waitables_;
};

struct WaitApp {
    explicit WaitApp(Waitables& waitables) {
        std::vector<gale::web::Route> routes;
        routes.push_back(route<WaitHandler>("/wait/(condition|event|queue|buffer)", [&waitables] {
            return std::make_unique<WaitHandler>(waitables);
        }));
        application = std::make_unique<gale::web::Application>(std::move(routes));
        port = application->listen(0, "127.0.0.1").front().port();
    }
    std::unique_ptr<gale::web::Application> application;
    std::uint16_t port = 0;
};

Task<gale::IOStream> open_request(std::uint16_t port, std::string request) {
    auto stream = co_await gale::connect_to(*gale::SocketAddress::from_ip("127.0.0.1", port));
    co_await stream.write(std::move(request));
    co_return stream;
}

}  // namespace

TEST_CASE("long-poll: a client that leaves takes its waiter with it", "[web][longpoll]") {
    auto kind = GENERATE(as<std::string>{}, "condition", "event", "queue", "buffer");
    auto method = GENERATE(as<std::string>{}, "GET", "POST");
    Waitables waitables;
    auto body = [](Waitables& state, std::string what, std::string verb) -> Task<void> {
        WaitApp app(state);
        constexpr std::size_t clients = 20;
        std::vector<gale::IOStream> streams;
        std::string request = verb + " /wait/" + what + " HTTP/1.1\r\nHost: a\r\n";
        if (verb == "POST") {
            request +=
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 8\r\n\r\n"
                "cursor=x";
        } else {
            request += "\r\n";
        }
        for (std::size_t i = 0; i < clients; ++i) {
            streams.push_back(co_await open_request(app.port, request));
        }
        bool all_waiting = co_await eventually([&state] { return state.waiting() == clients; });
        CHECK(all_waiting);
        for (std::size_t i = 0; i < clients / 2; ++i) {
            streams[i].close();
        }
        bool half_left = co_await eventually(
            [&state] { return state.waiting() == clients / 2 && state.closed == clients / 2; });
        CHECK(half_left);
        CHECK(state.finished == 0);
        for (auto& stream : streams) {
            stream.close();
        }
        bool none_left =
            co_await eventually([&state] { return state.waiting() == 0 && state.closed == 20; });
        CHECK(none_left);
        CHECK(state.waiting() == 0);
        CHECK(state.closed == static_cast<int>(clients));
        CHECK(state.finished == 0);
    };
    gale::test::run(body(waitables, kind, method));
}

TEST_CASE("long-poll: a waiting client is answered when woken, or at its timeout",
          "[web][longpoll]") {
    Waitables waitables;
    auto body = [](Waitables& state) -> Task<void> {
        WaitApp app(state);
        auto condition =
            co_await open_request(app.port, "GET /wait/condition HTTP/1.1\r\nHost: a\r\n\r\n");
        auto event = co_await open_request(app.port, "GET /wait/event HTTP/1.1\r\nHost: a\r\n\r\n");
        auto queue = co_await open_request(app.port, "GET /wait/queue HTTP/1.1\r\nHost: a\r\n\r\n");
        auto buffer = co_await open_request(
            app.port, "GET /wait/buffer?cursor=old HTTP/1.1\r\nHost: a\r\n\r\n");
        bool waiting = co_await eventually([&state] { return state.waiting() == 4; });
        REQUIRE(waiting);
        state.condition.notify_all();
        state.event.set();
        co_await state.queue.put("42");
        state.buffer.add("new", "hello");
        auto notified = co_await gale::test::read_http_response(condition);
        CHECK(notified.body == "notified");
        auto set = co_await gale::test::read_http_response(event);
        CHECK(set.body == "set");
        auto item = co_await gale::test::read_http_response(queue);
        CHECK(item.body == "item 42");
        auto messages = co_await gale::test::read_http_response(buffer);
        CHECK(messages.body == "messages 1");

        auto timed_out =
            co_await gale::test::http_fetch(app.port, "GET", "/wait/condition?timeout_ms=50");
        CHECK(timed_out.body == "timed out");
        auto empty = co_await gale::test::http_fetch(app.port, "GET",
                                                     "/wait/buffer?cursor=new&timeout_ms=50");
        CHECK(empty.body == "messages 0");
        // Event and Queue report a timeout as an error: a 500, not a hang.
        state.event.clear();
        auto event_timeout =
            co_await gale::test::http_fetch(app.port, "GET", "/wait/event?timeout_ms=50");
        CHECK(event_timeout.status == 500);
        CHECK(state.waiting() == 0);
        CHECK(state.closed == 0);
    };
    gale::test::run(body(waitables));
}
