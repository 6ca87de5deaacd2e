// HTTPServer with a plain callback, no web framework (docs/http.md): a streamed response.
#include <gale/http/server.hpp>
#include <gale/ioloop/tcp_client.hpp>

#include <cstdio>

gale::Task<void> handle(gale::http::HTTPRequest& request, gale::http::HTTPResponse& response) {
    if (request.path() == "/count") {
        response.set_header("Content-Type", "text/plain");
        for (int i = 1; i <= 3; ++i) {
            response.write(std::to_string(i) + "\n");
            co_await response.flush();  // sent now, as a chunk
        }
        co_return;
    }
    response.set_status(404);
    response.write("not found\n");
}

gale::Task<void> main_task() {
    gale::http::HTTPServer server(handle);
    std::uint16_t port = server.listen(0, "127.0.0.1").front().port();
    gale::IOStream client =
        co_await gale::connect_to(*gale::SocketAddress::from_ip("127.0.0.1", port));
    co_await client.write("GET /count HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    std::string response = co_await client.read_until_close();
    std::printf("%s\n", response.c_str());
    co_await server.shutdown(std::chrono::seconds(1));
}

int main() {
    gale::IOLoop loop;
    loop.run_sync(main_task());
}
