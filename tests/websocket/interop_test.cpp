// Interoperability with real peers: Python's `websockets` (Debian's 10.x) and `autobahn`
// clients against gale's server, and gale's client (`websocket_connect`) against their echo
// servers, with and without permessage-deflate. Messages of every frame-length boundary
// (0, 125, 126, 65535, 65536 bytes) and 1 MiB, text and binary, must come back intact; the
// negotiated extension is checked on both ends; close codes and reasons round-trip.

#include <gale/websocket/client.hpp>

#include <catch2/catch.hpp>

#include "python_peer.hpp"
#include "test_server.hpp"

#include <support/helpers.hpp>

#include <array>
#include <memory>
#include <optional>
#include <string>

namespace {

using namespace std::chrono_literals;
using gale::Task;
using gale::websocket::ClientConnection;
using gale::websocket::ClientOptions;
using gale::websocket::Message;
using gale::websocket::test::EchoSocket;
using gale::websocket::test::PythonPeer;
using gale::websocket::test::TestServer;

// The sizes the Python peers use too (peers/common.py).
constexpr std::array<std::size_t, 6> sizes{0, 125, 126, 65535, 65536, 1 << 20};

// What gale's server saw of one connection.
struct Observed {
    int opened = 0;
    int closed = 0;
    bool compressed = false;
    std::optional<int> close_code;
    std::string close_reason;
};

// The test server's echo, recording what it negotiated and how the connection ended.
class RecordingSocket : public EchoSocket {
  public:
    RecordingSocket(gale::web::WebSocketOptions options, std::shared_ptr<Observed> observed)
        : EchoSocket(std::move(options)), observed_(std::move(observed)) {}
    Task<void> open() override {
        ++observed_->opened;
        observed_->compressed = deflate_parameters().has_value();
        co_return;
    }
    void on_close() override {
        ++observed_->closed;
        observed_->close_code = close_code();
        observed_->close_reason = close_reason();
    }

  private:
    std::shared_ptr<Observed> observed_;
};

// gale's test server with /record (compression accepted) and /record-plain (declined).
struct RecordingServer {
    RecordingServer() : server(routes(observed)) {}
    static std::vector<gale::web::Route> routes(const std::shared_ptr<Observed>& observed) {
        using gale::websocket::test::echo_options;
        using gale::websocket::test::socket_route;
        std::vector<gale::web::Route> extra;
        extra.push_back(
            socket_route<RecordingSocket>("/record", echo_options(true, 16 << 20), observed));
        extra.push_back(socket_route<RecordingSocket>("/record-plain",
                                                      echo_options(false, 16 << 20), observed));
        return extra;
    }
    std::string url(const std::string& path) const {
        return "ws://127.0.0.1:" + std::to_string(server.port) + path;
    }
    std::shared_ptr<Observed> observed = std::make_shared<Observed>();
    TestServer server;
};

std::string text_payload(std::size_t size) {
    std::string text(size, ' ');
    for (std::size_t index = 0; index < size; ++index) {
        text[index] = static_cast<char>(32 + (index * 7919) % 95);
    }
    return text;
}

std::string binary_payload(std::size_t size) {
    std::string bytes(size, '\0');
    for (std::size_t index = 0; index < size; ++index) {
        bytes[index] = static_cast<char>((index * 131 + 7) % 256);
    }
    return bytes;
}

// A Python client's report and what the server saw, once the client exited.
struct ClientRun {
    int status = -1;
    std::vector<std::string> lines;
    std::string transcript;
    Observed observed;

    bool has(const std::string& line) const {
        return std::find(lines.begin(), lines.end(), line) != lines.end();
    }
};

Task<ClientRun> finish(PythonPeer* client, std::shared_ptr<Observed> observed) {
    ClientRun run;
    run.status = co_await client->wait_exit();
    // The server's on_close may come a moment after the client saw the close frame.
    for (int attempt = 0; attempt < 500 && observed->closed == 0; ++attempt) {
        co_await gale::sleep(10ms);
    }
    run.lines = client->lines();
    run.transcript = client->transcript();
    run.observed = *observed;
    co_return run;
}

// Runs a Python client script against a fresh recording server.
Task<ClientRun> client_session(std::string script, std::string path, std::string arguments) {
    RecordingServer server;
    PythonPeer client(script, "'" + server.url(path) + "' " + arguments);
    co_return co_await finish(&client, server.observed);
}

ClientRun run_client(std::string script, std::string path, std::string arguments) {
    return gale::test::run(client_session(std::move(script), std::move(path), std::move(arguments)),
                           120s);
}

void check_echoes(const ClientRun& run, bool fragmented) {
    for (std::size_t size : sizes) {
        CHECK(run.has("text " + std::to_string(size) + " ok"));
        CHECK(run.has("binary " + std::to_string(size) + " ok"));
    }
    if (fragmented) {
        CHECK(run.has("fragmented ok"));
    }
    CHECK(run.has("pong ok"));
}

}  // namespace

TEST_CASE("a websockets client: echoes, compression negotiated, close 4000 with a reason",
          "[websocket][interop]") {
    const ClientRun run = run_client("websockets_client.py", "/record", "on 'close=4000:bye now'");
    INFO(run.transcript);
    CHECK(run.status == 0);
    CHECK(run.has("extensions permessage-deflate"));
    CHECK(run.observed.compressed);
    check_echoes(run, true);
    // gale answers a close frame with the same code (RFC 6455 §5.5.1).
    CHECK(run.has("closed 4000 -"));
    CHECK(run.observed.opened == 1);
    CHECK(run.observed.closed == 1);
    CHECK(run.observed.close_code == 4000);
    CHECK(run.observed.close_reason == "bye now");
}

TEST_CASE("a websockets client: a server without compression declines the offer",
          "[websocket][interop]") {
    const ClientRun run = run_client("websockets_client.py", "/record-plain", "on close=1000");
    INFO(run.transcript);
    CHECK(run.status == 0);
    CHECK(run.has("extensions -"));
    CHECK_FALSE(run.observed.compressed);
    check_echoes(run, true);
    CHECK(run.has("closed 1000 -"));
    CHECK(run.observed.close_code == 1000);
}

TEST_CASE("a websockets client that offers nothing gets no compression", "[websocket][interop]") {
    const ClientRun run = run_client("websockets_client.py", "/record", "off close=1000");
    INFO(run.transcript);
    CHECK(run.status == 0);
    CHECK(run.has("extensions -"));
    CHECK_FALSE(run.observed.compressed);
    check_echoes(run, true);
    CHECK(run.observed.close_code == 1000);
}

TEST_CASE("a websockets client is closed with 1001 when the application shuts down",
          "[websocket][interop]") {
    auto body = []() -> Task<ClientRun> {
        RecordingServer server;
        PythonPeer client("websockets_client.py", "'" + server.url("/record") + "' on wait");
        const std::string waiting = co_await client.wait_for_line("waiting");
        if (!waiting.empty()) {
            co_await server.server.application->shutdown(10s);
        }
        co_return co_await finish(&client, server.observed);
    };
    const ClientRun run = gale::test::run(body(), 120s);
    INFO(run.transcript);
    CHECK(run.status == 0);
    CHECK(run.has("waiting"));
    check_echoes(run, true);
    CHECK(run.has("closed 1001 server_shutting_down"));
    // The client answered with the same code, which ends the closing handshake.
    CHECK(run.observed.close_code == 1001);
}

TEST_CASE("an autobahn client: echoes with and without compression, close 1000",
          "[websocket][interop]") {
    for (const bool compression : {true, false}) {
        INFO("compression " << compression);
        const ClientRun run =
            run_client("autobahn_client.py", "/record", compression ? "on" : "off");
        INFO(run.transcript);
        CHECK(run.status == 0);
        CHECK(run.has(compression ? "extensions permessage-deflate" : "extensions -"));
        CHECK(run.observed.compressed == compression);
        check_echoes(run, false);
        CHECK(run.has("closed 1000 - clean"));
        CHECK(run.observed.close_code == 1000);
        CHECK(run.observed.close_reason == "done");
    }
}

namespace {

// Pongs seen by gale's client.
struct PongRecorder : gale::websocket::ConnectionObserver {
    virtual ~PongRecorder() = default;
    void on_pong(std::string_view payload) override { pongs.emplace_back(payload); }
    std::vector<std::string> pongs;
};

// What gale's client saw of a Python server.
struct ServerRun {
    bool compressed = false;
    std::string server_extensions;
    std::vector<std::string> failed_echoes;
    std::vector<std::string> pongs;
    std::optional<int> client_close_code;
    std::string client_close_reason;
    bool closed_after_client_close = false;
    std::optional<int> server_close_code;
    std::string server_close_reason;
    bool read_after_server_close = true;
};

Task<void> echo_everything(ClientConnection socket, ServerRun* run) {
    for (std::size_t size : sizes) {
        for (const bool binary : {false, true}) {
            std::string payload = binary ? binary_payload(size) : text_payload(size);
            co_await socket.write_message(payload, binary);
            std::optional<Message> answer = co_await socket.read_message();
            if (!answer || answer->data != payload || answer->binary != binary) {
                run->failed_echoes.push_back((binary ? "binary " : "text ") + std::to_string(size));
            }
        }
    }
}

Task<ServerRun> talk_to(std::uint16_t port, bool compression) {
    const std::string base = "ws://127.0.0.1:" + std::to_string(port);
    ClientOptions options;
    options.compression = compression;
    options.connect_timeout = 20s;
    ServerRun run;
    ClientConnection socket =
        co_await gale::websocket::websocket_connect(base + "/extensions", options);
    run.compressed = socket.deflate().has_value();
    std::optional<Message> extensions = co_await socket.read_message();
    run.server_extensions = extensions ? extensions->data : "(closed)";
    co_await echo_everything(socket, &run);
    // The pong is answered before the echo that follows the ping, and read on the way to it.
    PongRecorder recorder;
    socket.connection()->set_observer(&recorder);
    socket.ping("interop");
    co_await socket.write_message("after the ping");
    std::optional<Message> after = co_await socket.read_message();
    socket.connection()->set_observer(nullptr);
    run.pongs = recorder.pongs;
    if (!after || after->data != "after the ping") {
        run.failed_echoes.push_back("after the ping");
    }
    co_await socket.close(4000, "client bye");
    run.client_close_code = socket.close_code();
    run.client_close_reason = socket.close_reason();
    run.closed_after_client_close = !socket.is_open();

    ClientConnection closing =
        co_await gale::websocket::websocket_connect(base + "/close", options);
    co_await closing.write_message("close me");
    std::optional<Message> nothing = co_await closing.read_message();
    run.read_after_server_close = nothing.has_value();
    run.server_close_code = closing.close_code();
    run.server_close_reason = closing.close_reason();
    co_return run;
}

// Starts a Python echo server (it prints its port first) and talks to it.
Task<ServerRun> server_session(std::string script, bool compression) {
    PythonPeer server(script, compression ? "on" : "off");
    const std::string port = co_await server.wait_for_line("");
    if (port.empty()) {
        throw gale::Error(script + " did not start: " + server.transcript());
    }
    co_return co_await talk_to(static_cast<std::uint16_t>(std::stoi(port)), compression);
}

ServerRun run_against(std::string script, bool compression) {
    return gale::test::run(server_session(std::move(script), compression), 120s);
}

}  // namespace

TEST_CASE("gale's client against websockets and autobahn echo servers", "[websocket][interop]") {
    for (const char* script : {"websockets_server.py", "autobahn_server.py"}) {
        for (const bool compression : {true, false}) {
            INFO(script << ", compression " << compression);
            const ServerRun run = run_against(script, compression);
            CHECK(run.compressed == compression);
            if (compression) {
                CHECK_THAT(run.server_extensions, Catch::StartsWith("permessage-deflate"));
            } else {
                CHECK(run.server_extensions == "none");
            }
            CHECK(run.failed_echoes.empty());
            CHECK(run.pongs == std::vector<std::string>{"interop"});
            // Both servers echo the client's close code and reason.
            CHECK(run.closed_after_client_close);
            CHECK(run.client_close_code == 4000);
            CHECK(run.client_close_reason == "client bye");
            CHECK_FALSE(run.read_after_server_close);
            CHECK(run.server_close_code == 4001);
            CHECK(run.server_close_reason == "server says bye");
        }
    }
}
