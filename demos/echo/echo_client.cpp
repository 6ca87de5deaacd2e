// echo_client: talks to an echo server.
//
//   echo_client --port P [--host H] [--tls] [--ca F] [--insecure] [MESSAGE...]
//
// With messages, sends each (with a newline) and prints what comes back; without, sends
// standard input line by line and prints the echo of each line.

#include <gale/ioloop/executor.hpp>
#include <gale/ioloop/tcp_client.hpp>

#include "common/arguments.hpp"

#include <cstdio>
#include <iostream>
#include <optional>

namespace {

struct Settings {
    std::string host;
    std::uint16_t port = 0;
    bool tls = false;
    std::string ca_file;
    bool insecure = false;
    std::vector<std::string> messages;
};

std::optional<std::string> read_stdin_line() {
    std::string line;
    if (!std::getline(std::cin, line)) {
        return std::nullopt;
    }
    return line;
}

gale::Task<int> talk(Settings settings) {
    gale::ConnectOptions options;
    if (settings.tls) {
        gale::TLSClientOptions tls;
        tls.ca_file = settings.ca_file;
        tls.verify_peer = !settings.insecure;
        options.tls = gale::TLSContext::client(tls);
    }
    gale::TCPClient client;
    gale::IOStream stream = co_await client.connect(settings.host, settings.port, options);
    bool from_stdin = settings.messages.empty();
    std::size_t next = 0;
    while (true) {
        std::optional<std::string> line;
        if (from_stdin) {
            line = co_await gale::run_in_executor(read_stdin_line);  // stdin blocks: off the loop
        } else if (next < settings.messages.size()) {
            line = settings.messages[next++];
        }
        if (!line) {
            break;
        }
        co_await stream.write(*line + "\n");
        std::string reply = co_await stream.read_until("\n", 1 << 20);
        std::fwrite(reply.data(), 1, reply.size(), stdout);
        std::fflush(stdout);
    }
    stream.close();
    co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
    demo::Arguments arguments(
        argc, argv, {"port", "host", "ca"}, {"tls", "insecure"},
        "usage: echo_client --port P [--host H] [--tls] [--ca F] [--insecure] [MESSAGE...]");
    if (!arguments.has("port")) {
        arguments.fail("--port is required");
    }
    Settings settings;
    settings.host = arguments.text("host", "127.0.0.1");
    settings.port = static_cast<std::uint16_t>(arguments.number("port", 0, 1, 65535));
    settings.tls = arguments.has("tls");
    settings.ca_file = arguments.text("ca");
    settings.insecure = arguments.has("insecure");
    settings.messages = arguments.positional();
    try {
        gale::IOLoop loop;
        return loop.run_sync(talk(std::move(settings)));
    } catch (const std::exception& error) {
        std::fprintf(stderr, "echo_client: %s\n", error.what());
        return 1;
    }
}
