// A TCP server and a client in one program (docs/ioloop.md).
#include <gale/ioloop/tcp_client.hpp>
#include <gale/ioloop/tcp_server.hpp>

#include <cstdio>

gale::Task<void> shout(gale::IOStream stream, gale::SocketAddress peer) {
    try {
        while (true) {
            std::string line = co_await stream.read_until("\n", 1024);
            for (char& c : line) {
                c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            }
            co_await stream.write(std::move(line));
        }
    } catch (const gale::StreamClosedError&) {
        std::printf("%s left\n", peer.to_string().c_str());
    }
}

gale::Task<void> main_task() {
    gale::TCPServer server(shout);
    std::uint16_t port = server.listen(0, "127.0.0.1").front().port();  // 0: any free port

    gale::TCPClient client;
    gale::IOStream stream = co_await client.connect("127.0.0.1", port);
    co_await stream.write("hello\n");
    std::string reply = co_await stream.read_until("\n");
    std::printf("reply: %s", reply.c_str());
    stream.close();

    co_await server.shutdown(std::chrono::seconds(1));
}

int main() {
    gale::IOLoop loop;
    loop.run_sync(main_task());
}
