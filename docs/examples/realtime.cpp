// The real-time guide's example (docs/realtime.md): one MessageBuffer behind a long-polling
// endpoint and a server-sent event stream; a client polls, another streams, then it exits.
#include <gale/httpclient/client.hpp>
#include <gale/ioloop/combinators.hpp>
#include <gale/web/application.hpp>
#include <gale/web/event_source.hpp>
#include <gale/web/message_buffer.hpp>

#include <cstdio>

using Buffer = gale::web::MessageBuffer<std::string>;

// POST /updates?cursor=ID: the messages after ID, waiting up to 30 s for one.
class UpdatesHandler : public gale::web::RequestHandler {
  public:
    explicit UpdatesHandler(Buffer& buffer) : buffer_(buffer) {}
    gale::Task<void> post() override {
        std::optional<std::string> cursor;
        if (auto given = get_argument("cursor", ""); !given.empty()) {
            cursor = given;
        }
        auto fresh = co_await buffer_.wait_since(cursor, std::chrono::seconds(30));
        nlohmann::json messages = nlohmann::json::array();
        for (const auto& entry : fresh) {
            messages.push_back({{"id", entry.id}, {"body", *entry.message}});
        }
        write(nlohmann::json{{"messages", messages}});  // [] after 30 s: the client polls again
    }

  private:
    Buffer& buffer_;
};

// GET /events: the same messages as a text/event-stream, resuming after Last-Event-ID.
class EventsHandler : public gale::web::RequestHandler {
  public:
    explicit EventsHandler(Buffer& buffer) : buffer_(buffer) {}
    gale::Task<void> get() override {
        gale::web::EventSource events(*this);
        co_await events.start(std::chrono::seconds(2));  // reconnect after 2 s
        std::optional<std::string> cursor = events.last_event_id();
        while (events.events_sent() < 2) {  // a real feed loops until the client leaves
            auto fresh = co_await buffer_.wait_since(cursor, std::chrono::seconds(15));
            if (fresh.empty()) {
                co_await events.send_comment("heartbeat");  // keeps proxies from timing out
            }
            for (const auto& entry : fresh) {
                co_await events.send_data(*entry.message, entry.id);
                cursor = entry.id;
            }
        }
    }

  private:
    Buffer& buffer_;
};

gale::Task<void> main_task() {
    Buffer buffer(200);  // the last 200 messages; outlives the application
    gale::web::Application app({
        gale::web::route<UpdatesHandler>(
            "/updates", [&buffer] { return std::make_unique<UpdatesHandler>(buffer); }),
        gale::web::route<EventsHandler>(
            "/events", [&buffer] { return std::make_unique<EventsHandler>(buffer); }),
    });
    std::uint16_t port = app.listen(0, "127.0.0.1").front().port();
    std::string base = "http://127.0.0.1:" + std::to_string(port);
    buffer.add("1", "first");

    gale::httpclient::AsyncHTTPClient client;
    gale::httpclient::HTTPRequest poll(base + "/updates?cursor=1", "POST");
    poll.body = "";  // POST needs a body, even an empty one (as in Tornado)
    gale::httpclient::HTTPRequest stream(base + "/events");
    stream.headers.set("Last-Event-ID", "0");  // unknown: everything kept is sent
    stream.streaming_callback = [](std::string_view chunk) {
        std::printf("stream: %.*s", static_cast<int>(chunk.size()), chunk.data());
    };
    // The poll waits (nothing after "1" yet) until "second" arrives 50 ms later.
    auto publish = [](Buffer& target) -> gale::Task<void> {
        co_await gale::sleep(std::chrono::milliseconds(50));
        target.add("2", "second");
    };
    auto [polled, streamed, published] = co_await gale::when_all(
        client.fetch(std::move(poll)), client.fetch(std::move(stream)), publish(buffer));
    std::printf("poll: %s\n", polled.body.c_str());
    co_await app.shutdown(std::chrono::seconds(1));
}

int main() {
    gale::IOLoop loop;
    loop.run_sync(main_task());
}
