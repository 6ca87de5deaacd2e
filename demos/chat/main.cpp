// chat: Tornado's chat demo — WebSocket and long-polling clients in one room — on one loop.
//
//   chat --port P [--address 127.0.0.1] [--assets DIR]
//
// Prints "chat listening on http://ADDRESS:PORT/" once it accepts connections (with --port 0,
// the port the system chose). SIGINT/SIGTERM: closes the WebSockets (1001), lets requests
// finish for up to 5 s, and exits.

#include <gale/ioloop/shutdown.hpp>

#include "chat/chat_app.hpp"
#include "common/arguments.hpp"

#include <cstdio>
#include <exception>

namespace {

gale::Task<void> serve_chat(chat::ChatOptions options, std::uint16_t port, std::string address) {
    chat::ChatServer server(std::move(options));
    std::uint16_t bound = server.listen(port, address);
    bool ipv6 = address.find(':') != std::string::npos;
    std::printf("chat listening on http://%s%s%s:%u/\n", ipv6 ? "[" : "", address.c_str(),
                ipv6 ? "]" : "", static_cast<unsigned>(bound));
    std::fflush(stdout);
    co_await gale::wait_for_shutdown();
    co_await server.shutdown(std::chrono::seconds(5));
}

}  // namespace

int main(int argc, char** argv) {
    demo::Arguments arguments(argc, argv, {"port", "address", "assets"}, {},
                              "usage: chat --port P [--address 127.0.0.1] [--assets DIR]");
    if (!arguments.has("port")) {
        arguments.fail("--port is required");
    }
    auto port = static_cast<std::uint16_t>(arguments.number("port", 0, 0, 65535));
    std::string address = arguments.text("address", "127.0.0.1");
    try {
        chat::ChatOptions options;
        options.assets = chat::find_assets(arguments.text("assets"));
        // One loop: both transports share the room, which belongs to one loop.
        gale::run_until_shutdown(1, [&options, port, &address](unsigned) {
            return serve_chat(options, port, address);  // copies: the task owns its arguments
        });
    } catch (const std::exception& error) {
        std::fprintf(stderr, "chat: %s\n", error.what());
        return 1;
    }
    return 0;
}
