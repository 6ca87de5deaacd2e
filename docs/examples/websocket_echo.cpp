// The WebSocket guide's example (docs/websocket.md): an echo endpoint and a room that relays
// each message to everyone else, then a client that talks to both and exits.
#include <gale/web/application.hpp>
#include <gale/web/websocket_handler.hpp>
#include <gale/websocket/broadcast.hpp>
#include <gale/websocket/client.hpp>

#include <cstdio>

class EchoSocket : public gale::web::WebSocketHandler {
  public:
    gale::Task<void> on_message(std::string message, bool binary) override {
        co_await write_message(std::move(message), binary);  // waits while the peer lags
    }
};

// Every member of the room gets each message once; it is framed (and compressed) only once.
class RoomSocket : public gale::web::WebSocketHandler {
  public:
    explicit RoomSocket(gale::websocket::Broadcaster& room) : room_(room) {}

    gale::web::WebSocketOptions websocket_options() override {
        gale::web::WebSocketOptions options;
        options.compression = true;  // permessage-deflate when the client offers it
        options.ping_interval = std::chrono::seconds(20);  // detect dead peers
        return options;
    }
    gale::Task<void> open() override {
        room_.subscribe(connection());
        co_return;
    }
    gale::Task<void> on_message(std::string message, bool binary) override {
        room_.publish(message, binary, connection().get());  // never waits
        co_return;
    }
    void on_close() override { room_.unsubscribe(*connection()); }

  private:
    gale::websocket::Broadcaster& room_;
};

gale::Task<void> main_task() {
    gale::websocket::Broadcaster room;  // outlives the application below
    gale::web::Application app({
        gale::web::route<EchoSocket>("/echo"),
        gale::web::route<RoomSocket>("/room",
                                     [&room] { return std::make_unique<RoomSocket>(room); }),
    });
    std::uint16_t port = app.listen(0, "127.0.0.1").front().port();
    std::string base = "ws://127.0.0.1:" + std::to_string(port);

    auto echo = co_await gale::websocket::websocket_connect(base + "/echo");
    co_await echo.write_message("hello");
    std::optional<gale::websocket::Message> reply = co_await echo.read_message();
    std::printf("echo: %s\n", reply ? reply->data.c_str() : "(closed)");
    co_await echo.close();

    gale::websocket::ClientOptions options;
    options.compression = true;
    auto alice = co_await gale::websocket::websocket_connect(base + "/room", options);
    auto bob = co_await gale::websocket::websocket_connect(base + "/room", options);
    while (room.size() < 2) {  // open() runs on the server just after the handshake
        co_await gale::sleep(std::chrono::milliseconds(1));
    }
    co_await alice.write_message("hi, room");
    auto heard = co_await bob.read_message();
    std::printf("bob heard: %s\n", heard ? heard->data.c_str() : "(closed)");

    co_await app.shutdown(std::chrono::seconds(1));  // closes both with 1001 (going away)
    auto after = co_await bob.read_message();
    std::printf("bob's connection closed: %s, code %d\n", after ? "no" : "yes",
                bob.close_code().value_or(0));
}

int main() {
    gale::IOLoop loop;
    loop.run_sync(main_task());
}
