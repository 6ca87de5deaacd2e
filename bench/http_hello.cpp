// http_hello: the HTTP layer alone (no web framework), for the peer benchmarks:
// GET /plaintext -> "Hello, World!", GET /json -> {"message":"Hello, World!"} serialised per
// request. Listens on 127.0.0.1.
//
//   http_hello PORT [THREADS]
#include <gale/http/server.hpp>
#include <gale/ioloop/shutdown.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>

namespace {

gale::Task<void> handle(gale::http::HTTPRequest& request, gale::http::HTTPResponse& response) {
    if (request.path() == "/plaintext") {
        response.set_header("Content-Type", "text/plain");
        response.write("Hello, World!");
    } else if (request.path() == "/json") {
        response.set_header("Content-Type", "application/json");
        response.write(nlohmann::json{{"message", "Hello, World!"}}.dump());
    } else {
        response.set_status(404);
    }
    co_return;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: http_hello PORT [THREADS]\n");
        return 2;
    }
    auto port = static_cast<std::uint16_t>(std::atoi(argv[1]));
    unsigned threads = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 1;
    gale::run_until_shutdown(threads, [port, threads](unsigned) -> gale::Task<void> {
        gale::http::HTTPServer server(handle);
        gale::ListenOptions listen("127.0.0.1");
        listen.reuse_port = threads > 1;
        server.listen(port, listen);
        co_await gale::wait_for_shutdown();
        co_await server.shutdown(std::chrono::seconds(1));
    });
}
