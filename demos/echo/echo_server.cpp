// echo_server: echoes every byte back until the peer closes, then closes its side.
//
//   echo_server --port P [--address A] [--threads N] [--tls-cert F --tls-key F]
//
// With --threads N, N threads each run their own loop and listener on the same port
// (SO_REUSEPORT). SIGINT/SIGTERM stop accepting and let open connections finish for 5 s.

#include <gale/ioloop/shutdown.hpp>
#include <gale/ioloop/tcp_server.hpp>

#include "common/arguments.hpp"

#include <cstdio>

namespace {

gale::Task<void> echo(gale::IOStream stream, gale::SocketAddress) {
    while (true) {
        std::string data;
        try {
            data = co_await stream.read_some(64 * 1024);
        } catch (const gale::StreamClosedError&) {
            break;  // the peer closed (or reset): close our side too
        }
        co_await stream.write(std::move(data));
    }
    stream.close();
}

}  // namespace

int main(int argc, char** argv) {
    demo::Arguments arguments(
        argc, argv, {"port", "address", "threads", "tls-cert", "tls-key"}, {},
        "usage: echo_server --port P [--address A] [--threads N] [--tls-cert F --tls-key F]");
    if (!arguments.has("port")) {
        arguments.fail("--port is required");
    }
    auto port = static_cast<std::uint16_t>(arguments.number("port", 0, 0, 65535));
    auto threads = static_cast<unsigned>(arguments.number("threads", 1, 1, 256));
    if (arguments.has("tls-cert") != arguments.has("tls-key")) {
        arguments.fail("--tls-cert and --tls-key go together");
    }
    try {
        gale::TCPServerOptions server_options;
        if (arguments.has("tls-cert")) {
            gale::TLSServerOptions tls;
            tls.certificate_chain_file = arguments.text("tls-cert");
            tls.private_key_file = arguments.text("tls-key");
            server_options.tls = gale::TLSContext::server(tls);
        }
        gale::ListenOptions listen_options(arguments.text("address"));
        listen_options.reuse_port = threads > 1;
        gale::run_until_shutdown(threads, [&](unsigned index) -> gale::Task<void> {
            gale::TCPServer server(echo, server_options);
            auto addresses = server.listen(port, listen_options);
            if (index == 0) {
                for (const auto& address : addresses) {
                    std::printf("echo_server listening on %s (%u thread%s)\n",
                                address.to_string().c_str(), threads, threads > 1 ? "s" : "");
                }
                std::fflush(stdout);
            }
            co_await gale::wait_for_shutdown();
            co_await server.shutdown(std::chrono::seconds(5));
        });
    } catch (const std::exception& error) {
        std::fprintf(stderr, "echo_server: %s\n", error.what());
        return 1;
    }
    return 0;
}
