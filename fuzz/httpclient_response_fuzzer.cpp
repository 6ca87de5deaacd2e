// Fuzzes the HTTP client's response handling end to end: a gale TCPServer on 127.0.0.1 answers
// every request with the fuzz input (then closes), and AsyncHTTPClient fetches it. Framing,
// chunked bodies, gzip, 1xx, limits and the pool's reuse decisions all run on hostile bytes;
// the fetch must end with a response or one of the client's errors, without hanging, crashing
// or leaking. The input's first byte picks request options (method, decoding, streaming).

#include <gale/httpclient/client.hpp>
#include <gale/ioloop/tcp_server.hpp>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

namespace {

std::string current_input;

gale::Task<void> answer(gale::IOStream stream, gale::SocketAddress) {
    try {
        co_await stream.read_until("\r\n\r\n", 64 * 1024);
        co_await stream.write(std::string_view(current_input));
        co_await stream.flush();
    } catch (const gale::Error&) {
    }
    stream.close();
}

struct Harness {
    Harness() : loop(gale::IOLoopOptions{.log_backend = false}), server(answer) {
        loop.make_current();
        port = server.listen(0, "127.0.0.1").front().port();
        gale::httpclient::ClientOptions options;
        options.max_body_size = 1024 * 1024;
        options.max_header_size = 16 * 1024;
        client = std::make_unique<gale::httpclient::AsyncHTTPClient>(options);
    }
    ~Harness() {
        client.reset();
        server.stop();
    }
    gale::IOLoop loop;
    gale::TCPServer server;
    std::uint16_t port = 0;
    std::unique_ptr<gale::httpclient::AsyncHTTPClient> client;
};

gale::Task<void> fetch_once(gale::httpclient::AsyncHTTPClient* client, std::uint16_t port,
                            std::uint8_t flags) {
    gale::httpclient::HTTPRequest request("http://127.0.0.1:" + std::to_string(port) + "/fuzz",
                                          (flags & 1) != 0 ? "HEAD" : "GET");
    request.follow_redirects = false;
    request.decompress_response = (flags & 2) != 0;
    request.request_timeout = std::chrono::seconds(2);
    std::size_t streamed = 0;
    if ((flags & 4) != 0) {
        request.streaming_callback = [&streamed](std::string_view chunk) {
            streamed += chunk.size();
        };
    }
    if ((flags & 8) != 0) {
        request.header_callback = [](std::string_view line) {
            if (line.empty()) {
                std::abort();  // a reported line always has its CRLF
            }
        };
    }
    try {
        auto response = co_await client->fetch(std::move(request), false);
        if (response.code < 100 || response.code > 599) {
            std::abort();
        }
    } catch (const gale::httpclient::HTTPClientError&) {
        // a typed failure is the expected outcome for most inputs
    }
}

Harness* harness = nullptr;

// At exit the client, the server's connections and the loop are taken down properly, so the
// leak check sees only what a fetch really leaked.
void tear_down() {
    delete harness;
    harness = nullptr;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (harness == nullptr) {
        harness = new Harness();  // one loop and server for the whole run
        std::atexit(tear_down);
    }
    if (size == 0) {
        return 0;
    }
    current_input.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
    harness->loop.run_sync(fetch_once(harness->client.get(), harness->port, data[0]),
                           std::chrono::seconds(10));
    return 0;
}
