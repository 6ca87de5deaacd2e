#pragma once
// A gale WebSocket server for the connection tests, on 127.0.0.1 with an ephemeral port:
// /ws echoes (same type), /small echoes with a 64 KiB message limit, /plain echoes without
// compression; the options of each come from `EchoSettings`.

#include <gale/web/application.hpp>
#include <gale/web/websocket_handler.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace gale::websocket::test {

class EchoSocket : public web::WebSocketHandler {
  public:
    explicit EchoSocket(web::WebSocketOptions options) : options_(std::move(options)) {}
    web::WebSocketOptions websocket_options() override { return options_; }
    Task<void> on_message(std::string message, bool binary) override {
        co_await write_message(std::move(message), binary);
    }

  private:
    web::WebSocketOptions options_;
};

inline web::WebSocketOptions echo_options(bool compression, std::size_t max_message_size) {
    web::WebSocketOptions options;
    options.compression = compression;
    options.max_message_size = max_message_size;
    options.close_timeout = std::chrono::seconds(2);
    return options;
}

template <class Handler, class... Arguments>
web::Route socket_route(std::string pattern, Arguments... arguments) {
    return web::route<Handler>(std::move(pattern),
                               [arguments...] { return std::make_unique<Handler>(arguments...); });
}

struct TestServer {
    explicit TestServer(std::vector<web::Route> extra = {}) {
        std::vector<web::Route> routes;
        routes.push_back(socket_route<EchoSocket>("/ws", echo_options(true, 16 * 1024 * 1024)));
        routes.push_back(socket_route<EchoSocket>("/small", echo_options(true, 64 * 1024)));
        routes.push_back(socket_route<EchoSocket>("/plain", echo_options(false, 16 * 1024 * 1024)));
        for (auto& route : extra) {
            routes.push_back(std::move(route));
        }
        application = std::make_unique<web::Application>(std::move(routes));
        port = application->listen(0, "127.0.0.1").front().port();
    }
    std::unique_ptr<web::Application> application;
    std::uint16_t port = 0;
};

}  // namespace gale::websocket::test
