#include <gale/ioloop/locks.hpp>
#include <gale/ioloop/tcp_client.hpp>
#include <gale/web/application.hpp>
#include <gale/web/event_source.hpp>
#include <gale/web/message_buffer.hpp>

#include <catch2/catch.hpp>

#include "support/helpers.hpp"
#include "support/http_exchange.hpp"

#include <algorithm>
#include <random>

using namespace std::chrono_literals;
using gale::Task;
using gale::web::EventStreamError;
using gale::web::EventStreamParser;
using gale::web::format_comment;
using gale::web::format_event;
using gale::web::RequestHandler;
using gale::web::route;
using gale::web::ServerSentEvent;

namespace {

ServerSentEvent make_event(std::string data, std::string type = {},
                           std::optional<std::string> id = std::nullopt) {
    ServerSentEvent event;
    event.data = std::move(data);
    event.event = std::move(type);
    event.id = std::move(id);
    return event;
}

// Feeds `stream` one byte at a time, so every split point is exercised.
std::vector<ServerSentEvent> parse_bytewise(std::string_view stream, EventStreamParser& parser) {
    std::vector<ServerSentEvent> events;
    for (char byte : stream) {
        auto more = parser.feed(std::string_view(&byte, 1));
        events.insert(events.end(), more.begin(), more.end());
    }
    return events;
}

std::vector<ServerSentEvent> parse_whole(std::string_view stream) {
    EventStreamParser parser;
    return parser.feed(stream);
}

}  // namespace

TEST_CASE("format_event frames data, type, id and retry", "[web][sse]") {
    CHECK(format_event(make_event("hello")) == "data: hello\n\n");
    CHECK(format_event(make_event("a\nb\r\nc\rd")) == "data: a\ndata: b\ndata: c\ndata: d\n\n");
    CHECK(format_event(make_event("")) == "data:\n\n");
    CHECK(format_event(make_event("trailing\n")) == "data: trailing\ndata:\n\n");
    CHECK(format_event(make_event("x", "update", "42")) == "event: update\nid: 42\ndata: x\n\n");
    CHECK(format_event(make_event("x", {}, "")) == "id:\ndata: x\n\n");  // resets the id
    ServerSentEvent with_retry = make_event("x");
    with_retry.retry = 2500ms;
    CHECK(format_event(with_retry) == "retry: 2500\ndata: x\n\n");
    std::string out = "before|";
    gale::web::append_event(out, make_event("y"));
    CHECK(out == "before|data: y\n\n");
}

TEST_CASE("format_event refuses fields that would break the framing", "[web][sse]") {
    CHECK_THROWS_AS(format_event(make_event("x", "bad\ntype")), EventStreamError);
    CHECK_THROWS_AS(format_event(make_event("x", "bad\rtype")), EventStreamError);
    CHECK_THROWS_AS(format_event(make_event("x", {}, "1\n\ndata: injected")), EventStreamError);
    CHECK_THROWS_AS(format_event(make_event("x", {}, std::string("a\0b", 3))), EventStreamError);
    ServerSentEvent negative = make_event("x");
    negative.retry = -1ms;
    CHECK_THROWS_AS(format_event(negative), EventStreamError);
    try {
        format_event(make_event("x", {}, "line\nbreak"));
    } catch (const EventStreamError& error) {
        CHECK(std::string(error.what()).find("id") != std::string::npos);
    }
}

TEST_CASE("format_comment makes heartbeats", "[web][sse]") {
    CHECK(format_comment("heartbeat") == ": heartbeat\n\n");
    CHECK(format_comment("") == ":\n\n");
    CHECK(format_comment("two\nlines") == ": two\n: lines\n\n");
    EventStreamParser parser;
    auto events = parser.feed(format_comment("a\nb") + format_comment("c"));
    CHECK(events.empty());
    CHECK(parser.comments_seen() == 3);
}

TEST_CASE("EventStreamParser follows the WHATWG examples", "[web][sse]") {
    SECTION("multi-line data") {
        auto events = parse_whole("data: YHOO\ndata: +2\ndata: 10\n\n");
        REQUIRE(events.size() == 1);
        CHECK(events[0].data == "YHOO\n+2\n10");
        CHECK(events[0].event.empty());
        CHECK(!events[0].id);
    }
    SECTION("comments, ids that persist and reset, one leading space dropped") {
        EventStreamParser parser;
        auto events = parser.feed(
            ": test stream\n\ndata: first event\nid: 1\n\n"
            "data:second event\nid\n\ndata:  third event\n\n");
        REQUIRE(events.size() == 3);
        CHECK(events[0].data == "first event");
        CHECK(events[0].id == std::optional<std::string>("1"));
        CHECK(events[1].data == "second event");
        CHECK(!events[1].id);
        CHECK(events[2].data == " third event");
        CHECK(parser.comments_seen() == 1);
    }
    SECTION("empty data lines, and no dispatch without the blank line") {
        auto events = parse_whole("data\n\ndata\ndata\n\ndata:");
        REQUIRE(events.size() == 2);
        CHECK(events[0].data.empty());
        CHECK(events[1].data == "\n");
    }
    SECTION("an id stays in force for later events") {
        auto events = parse_whole("id: 7\ndata: a\n\ndata: b\n\n");
        REQUIRE(events.size() == 2);
        CHECK(events[1].id == std::optional<std::string>("7"));
    }
    SECTION("event types, and a blank line without data dispatches nothing") {
        auto events = parse_whole("event: add\n\nevent: remove\ndata: 1\n\ndata: 2\n\n");
        REQUIRE(events.size() == 2);
        CHECK(events[0].event == "remove");
        CHECK(events[1].event.empty());
    }
}

TEST_CASE("EventStreamParser: line ends, BOM, retry, odd fields", "[web][sse]") {
    SECTION("CR, LF and CRLF, split anywhere") {
        std::string stream = "data: a\r\ndata: b\rdata: c\n\r\nid: 3\rdata: d\r\r";
        EventStreamParser parser;
        auto events = parse_bytewise(stream, parser);
        REQUIRE(events.size() == 2);
        CHECK(events[0].data == "a\nb\nc");
        CHECK(events[1].data == "d");
        CHECK(events[1].id == std::optional<std::string>("3"));
    }
    SECTION("a leading BOM is skipped, even split; a later one is not") {
        EventStreamParser parser;
        auto events = parse_bytewise(
            "\xEF\xBB\xBF"
            "data: x\n\n\xEF\xBB\xBF"
            "data: y\n\n",
            parser);
        REQUIRE(events.size() == 1);  // the second "data" field name starts with the BOM
        CHECK(events[0].data == "x");
        auto short_start = parse_whole("\xEF");
        CHECK(short_start.empty());
        EventStreamParser not_bom;
        auto first = not_bom.feed("d");
        CHECK(first.empty());
        auto rest = not_bom.feed("ata: z\n\n");
        REQUIRE(rest.size() == 1);
        CHECK(rest[0].data == "z");
    }
    SECTION("retry only when all digits") {
        EventStreamParser parser;
        parser.feed("retry: 1500\n\n");
        CHECK(parser.reconnection_time() == std::optional<std::chrono::milliseconds>(1500ms));
        parser.feed("retry: 15x\n\nretry: -1\n\nretry:\n\nretry: 99999999999999999999999\n\n");
        CHECK(parser.reconnection_time() == std::optional<std::chrono::milliseconds>(1500ms));
    }
    SECTION("ids with NUL are ignored; unknown fields too") {
        EventStreamParser parser;
        auto events = parser.feed(std::string("id: 5\nid: a\0b\nfoo: bar\ndata: x\n\n", 32));
        REQUIRE(events.size() == 1);
        CHECK(events[0].id == std::optional<std::string>("5"));
        CHECK(parser.last_event_id() == "5");
    }
}

TEST_CASE("EventStreamParser refuses events above its limit", "[web][sse]") {
    EventStreamParser parser(1024);
    CHECK_THROWS_AS(parser.feed(std::string(2000, 'a')), EventStreamError);  // one long line
    EventStreamParser many_lines(1024);
    std::string stream;
    for (int i = 0; i < 100; ++i) {
        stream += "data: 0123456789abcdef\n";
    }
    CHECK_THROWS_AS(many_lines.feed(stream), EventStreamError);
    EventStreamParser fits(1024);
    auto events = fits.feed("data: " + std::string(900, 'b') + "\n\n");
    REQUIRE(events.size() == 1);
    CHECK(events[0].data.size() == 900);
}

TEST_CASE("format_event and EventStreamParser round-trip random events", "[web][sse]") {
    std::mt19937 random(12345);
    const std::string alphabet = "ab \r\n:\xC3\xA9\t";
    auto random_text = [&random, &alphabet](bool breaks) {
        std::string text;
        std::size_t length = random() % 12;
        for (std::size_t i = 0; i < length; ++i) {
            char c = alphabet[random() % alphabet.size()];
            if (breaks || (c != '\r' && c != '\n')) {
                text += c;
            }
        }
        return text;
    };
    std::string stream;
    std::vector<ServerSentEvent> sent;
    for (int i = 0; i < 300; ++i) {
        ServerSentEvent event = make_event(random_text(true), random_text(false));
        if (random() % 2 == 0) {
            event.id = std::to_string(i);
        }
        stream += format_event(event);
        sent.push_back(event);
    }
    EventStreamParser parser;
    auto received = parse_bytewise(stream, parser);
    REQUIRE(received.size() == sent.size());
    std::optional<std::string> id_in_force;
    for (std::size_t i = 0; i < sent.size(); ++i) {
        std::string expected = sent[i].data;
        for (std::size_t at = expected.find("\r\n"); at != std::string::npos;
             at = expected.find("\r\n", at)) {
            expected.erase(at, 1);
        }
        std::replace(expected.begin(), expected.end(), '\r', '\n');
        CHECK(received[i].data == expected);
        CHECK(received[i].event == sent[i].event);  // leading spaces survive too
        if (sent[i].id) {
            id_in_force = sent[i].id;
        }
        CHECK(received[i].id == id_in_force);
    }
}

// --- EventSource over HTTP -------------------------------------------------------------------

namespace {

struct Shared {
    gale::Event proceed;
    gale::web::MessageBuffer<std::string> buffer{16};
    int closed = 0;
};

class EventsHandler : public RequestHandler {
  public:
    explicit EventsHandler(Shared& shared) : shared_(shared) {}
    Task<void> get() override {
        gale::web::EventSource events(*this);
        co_await events.start(1500ms);
        std::string resumed = events.last_event_id().value_or("none");
        co_await events.send_data("resumed after " + resumed, "1");
        co_await events.send_comment("heartbeat");
        if (get_argument("wait", "") == "1") {
            co_await shared_.proceed.wait();  // the first event must already be out
        }
        ServerSentEvent last;
        last.event = "done";
        last.data = "line one\nline two";
        last.id = "2";
        co_await events.send(std::move(last));
        CHECK(events.events_sent() == 2);
    }
    void on_connection_close() override { ++shared_.closed; }

  private:
    Shared& shared_;
};

// Streams the buffer's messages after Last-Event-ID, with heartbeats, until the client leaves.
class FeedHandler : public RequestHandler {
  public:
    explicit FeedHandler(Shared& shared) : shared_(shared) {}
    Task<void> get() override {
        gale::web::EventSource events(*this);
        co_await events.start();
        std::optional<std::string> cursor = events.last_event_id();
        while (true) {
            auto fresh = co_await shared_.buffer.wait_since(cursor, 200ms);
            if (fresh.empty()) {
                co_await events.send_comment("heartbeat");
            }
            for (const auto& entry : fresh) {
                co_await events.send_data(*entry.message, entry.id);
                cursor = entry.id;
            }
        }
    }
    void on_connection_close() override { ++shared_.closed; }

  private:
    Shared& shared_;
};

class BadEventHandler : public RequestHandler {
  public:
    Task<void> get() override {
        gale::web::EventSource events(*this);
        ServerSentEvent bad;
        bad.event = "x\ny";
        co_await events.send(std::move(bad));
    }
};

struct EventApp {
    explicit EventApp(Shared& shared) {
        std::vector<gale::web::Route> routes;
        routes.push_back(route<EventsHandler>(
            "/events", [&shared] { return std::make_unique<EventsHandler>(shared); }));
        routes.push_back(route<FeedHandler>(
            "/feed", [&shared] { return std::make_unique<FeedHandler>(shared); }));
        routes.push_back(route<BadEventHandler>("/bad"));
        application = std::make_unique<gale::web::Application>(std::move(routes));
        port = application->listen(0, "127.0.0.1").front().port();
    }
    std::unique_ptr<gale::web::Application> application;
    std::uint16_t port = 0;
};

// Reads one chunk of a chunked response body.
Task<std::string> read_chunk(gale::IOStream& stream) {
    std::string size_line = co_await stream.read_until("\r\n", 1024);
    std::size_t size = std::stoul(size_line, nullptr, 16);
    std::string chunk = co_await stream.read_bytes(size + 2);
    chunk.resize(size);
    co_return chunk;
}

// Reads chunks until `parser` has produced `count` events.
Task<std::vector<ServerSentEvent>> read_events(gale::IOStream& stream, EventStreamParser& parser,
                                               std::size_t count) {
    std::vector<ServerSentEvent> events;
    // do-while, not while: GCC 12 at -O2 evaluated a `while (events.size() < count)` that
    // comes before the first co_await as false (the loop never ran); see docs/pitfalls.md.
    do {
        std::string piece = co_await read_chunk(stream);
        for (auto& event : parser.feed(piece)) {
            events.push_back(std::move(event));
        }
    } while (events.size() < count);
    co_return events;
}

}  // namespace

TEST_CASE("EventSource: head, retry, events, comments, Last-Event-ID", "[web][sse]") {
    Shared shared;
    auto body = [](Shared& state) -> Task<void> {
        EventApp app(state);
        auto first = co_await gale::test::http_fetch(app.port, "GET", "/events");
        CHECK(first.status == 200);
        CHECK(first.headers.get_or("content-type", "") == "text/event-stream; charset=utf-8");
        CHECK(first.headers.get_or("cache-control", "") == "no-cache");
        CHECK(first.headers.get_or("x-accel-buffering", "") == "no");
        CHECK(!first.headers.contains("etag"));
        CHECK(first.body.rfind("retry: 1500\n\n", 0) == 0);
        EventStreamParser parser;
        auto events = parser.feed(first.body);
        REQUIRE(events.size() == 2);
        CHECK(events[0].data == "resumed after none");
        CHECK(events[0].id == std::optional<std::string>("1"));
        CHECK(events[1].event == "done");
        CHECK(events[1].data == "line one\nline two");
        CHECK(parser.last_event_id() == "2");
        CHECK(parser.comments_seen() == 1);
        CHECK(parser.reconnection_time() == std::optional<std::chrono::milliseconds>(1500ms));

        // A browser reconnecting sends the last id it saw.
        auto again = co_await gale::test::http_fetch(
            app.port, "GET", "/events", "Last-Event-ID: " + parser.last_event_id() + "\r\n");
        EventStreamParser second;
        auto resumed = second.feed(again.body);
        REQUIRE(!resumed.empty());
        CHECK(resumed[0].data == "resumed after 2");
    };
    gale::test::run(body(shared));
}

TEST_CASE("EventSource: each event is on the wire before the handler goes on", "[web][sse]") {
    Shared shared;
    auto body = [](Shared& state) -> Task<void> {
        EventApp app(state);
        auto stream =
            co_await gale::connect_to(*gale::SocketAddress::from_ip("127.0.0.1", app.port));
        co_await stream.write("GET /events?wait=1 HTTP/1.1\r\nHost: a\r\n\r\n");
        std::string head = co_await stream.read_until("\r\n\r\n", 16 * 1024);
        CHECK(head.find("Transfer-Encoding: chunked") != std::string::npos);
        EventStreamParser parser;
        auto first = co_await read_events(stream, parser, 1);  // while the handler waits
        REQUIRE(first.size() == 1);
        CHECK(first[0].data == "resumed after none");
        state.proceed.set();
        auto last = co_await read_events(stream, parser, 1);
        REQUIRE(last.size() == 1);
        CHECK(last[0].event == "done");
    };
    gale::test::run(body(shared));
}

TEST_CASE("EventSource: resumes from Last-Event-ID, heartbeats, no waiter left on disconnect",
          "[web][sse]") {
    Shared shared;
    auto body = [](Shared& state) -> Task<void> {
        EventApp app(state);
        for (int i = 1; i <= 5; ++i) {
            state.buffer.add(std::to_string(i), "message " + std::to_string(i));
        }
        auto stream =
            co_await gale::connect_to(*gale::SocketAddress::from_ip("127.0.0.1", app.port));
        co_await stream.write("GET /feed HTTP/1.1\r\nHost: a\r\nLast-Event-ID: 3\r\n\r\n");
        co_await stream.read_until("\r\n\r\n", 16 * 1024);
        EventStreamParser parser;
        auto backlog = co_await read_events(stream, parser, 2);
        REQUIRE(backlog.size() == 2);
        CHECK(backlog[0].data == "message 4");
        CHECK(backlog[1].id == std::optional<std::string>("5"));
        state.buffer.add("6", "message 6");
        auto live = co_await read_events(stream, parser, 1);
        REQUIRE(live.size() == 1);
        CHECK(live[0].data == "message 6");
        while (parser.comments_seen() == 0) {  // a heartbeat every 200 ms while idle
            std::string piece = co_await read_chunk(stream);
            parser.feed(piece);
        }
        auto one_waiter = [&state] { return state.buffer.waiter_count() == 1; };
        co_await gale::test::eventually(one_waiter);
        CHECK(state.buffer.waiter_count() == 1);
        stream.close();
        auto all_gone = [&state] { return state.buffer.waiter_count() == 0 && state.closed != 0; };
        co_await gale::test::eventually(all_gone);
        CHECK(state.buffer.waiter_count() == 0);
        CHECK(state.closed == 1);
    };
    gale::test::run(body(shared));
}

TEST_CASE("EventSource: a malformed event is a 500 before anything is sent", "[web][sse]") {
    Shared shared;
    auto body = [](Shared& state) -> Task<void> {
        EventApp app(state);
        auto response = co_await gale::test::http_fetch(app.port, "GET", "/bad");
        CHECK(response.status == 500);
    };
    gale::test::run(body(shared));
}
