#include <gale/ioloop/combinators.hpp>
#include <gale/ioloop/tcp_client.hpp>
#include <gale/ioloop/tcp_server.hpp>

#include <catch2/catch.hpp>

#include "support/helpers.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

gale::Task<void> echo(gale::IOStream stream, gale::SocketAddress) {
    while (true) {
        std::string data;
        try {
            data = co_await stream.read_some();
        } catch (const gale::StreamClosedError&) {
            co_return;
        }
        co_await stream.write(std::move(data));
    }
}

std::uint16_t first_port(const std::vector<gale::SocketAddress>& addresses) {
    REQUIRE_FALSE(addresses.empty());
    return addresses.front().port();
}

}  // namespace

TEST_CASE("SocketAddress::ip writes addresses as inet_ntop does", "[tcp]") {
    std::mt19937 random(20261208);
    std::vector<std::string> addresses = {"0.0.0.0",
                                          "255.255.255.255",
                                          "127.0.0.1",
                                          "10.0.0.1",
                                          "1.2.3.4",
                                          "192.168.100.200",
                                          "::1",
                                          "::",
                                          "2001:db8::ff00:42:8329",
                                          "::ffff:10.1.2.3"};
    for (int i = 0; i < 2000; ++i) {
        const std::uint32_t bits = random();
        char text[INET_ADDRSTRLEN] = {};
        REQUIRE(::inet_ntop(AF_INET, &bits, text, sizeof text) != nullptr);
        addresses.emplace_back(text);
    }
    for (const std::string& text : addresses) {
        CAPTURE(text);
        auto address = gale::SocketAddress::from_ip(text, 80);
        REQUIRE(address);
        CHECK(address->ip() == text);
    }
}

TEST_CASE("TCPServer and TCPClient echo over loopback", "[tcp]") {
    auto body = []() -> gale::Task<void> {
        gale::TCPServer server(echo);
        auto port = first_port(server.listen(0, "127.0.0.1"));
        gale::TCPClient client;
        gale::IOStream stream = co_await client.connect("127.0.0.1", port);
        co_await stream.write("ping\n");
        std::string reply = co_await stream.read_until("\n");
        CHECK(reply == "ping\n");
        CHECK(server.connection_count() == 1);
        stream.close();
        co_await server.shutdown(1s);
        CHECK(server.connection_count() == 0);
    };
    gale::test::run(body());
}

TEST_CASE("TCPClient resolves localhost and falls back across families", "[tcp]") {
    auto body = []() -> gale::Task<void> {
        gale::TCPServer server(echo);
        // IPv4 only: a ::1 attempt (if localhost resolves to it first) is refused, then v4 wins.
        auto port = first_port(server.listen(0, "127.0.0.1"));
        gale::TCPClient client;
        gale::IOStream stream = co_await client.connect("localhost", port);
        co_await stream.write("x");
        std::string reply = co_await stream.read_bytes(1);
        CHECK(reply == "x");
    };
    gale::test::run(body());
}

TEST_CASE("connecting to a closed port fails with ConnectError naming the target", "[tcp]") {
    auto body = []() -> gale::Task<void> {
        auto [listener, port] = gale::test::listen_loopback();
        ::close(listener);  // nothing listens there now
        gale::TCPClient client;
        try {
            co_await client.connect("127.0.0.1", static_cast<std::uint16_t>(port));
            FAIL("connected to a closed port");
        } catch (const gale::ConnectError& error) {
            CHECK(std::string(error.what()).find(std::to_string(port)) != std::string::npos);
        }
    };
    gale::test::run(body());
}

TEST_CASE("resolving a bad host name fails with ResolveError", "[tcp]") {
    auto body = []() -> gale::Task<void> {
        gale::TCPClient client;
        CHECK_THROWS_AS(co_await client.connect("no-such-host.invalid", 80), gale::ResolveError);
    };
    gale::test::run(body());
}

TEST_CASE("a connect timeout cancels the attempt", "[tcp]") {
    auto body = []() -> gale::Task<void> {
        // A listener whose backlog is full never completes further handshakes.
        auto [listener, port] = gale::test::listen_loopback();
        ::listen(listener, 0);
        std::vector<int> fillers;
        for (int i = 0; i < 8; ++i) {
            int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            sockaddr_in address{};
            address.sin_family = AF_INET;
            address.sin_port = htons(static_cast<std::uint16_t>(port));
            address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
            fillers.push_back(fd);
        }
        gale::TCPClient client;
        auto started = gale::IOLoop::Clock::now();
        bool timed_out = false;
        try {
            gale::ConnectOptions options;
            options.timeout = 200ms;
            co_await client.connect("127.0.0.1", static_cast<std::uint16_t>(port), options);
        } catch (const gale::TimeoutError&) {
            timed_out = true;
        } catch (const gale::ConnectError&) {
            timed_out = true;  // some kernels refuse instead of dropping the SYN
        }
        CHECK(timed_out);
        CHECK(gale::IOLoop::Clock::now() - started < 5s);
        for (int fd : fillers) {
            ::close(fd);
        }
        ::close(listener);
    };
    gale::test::run(body());
}

TEST_CASE("max_connections pauses accepting until a connection closes", "[tcp]") {
    auto body = []() -> gale::Task<void> {
        gale::TCPServerOptions options;
        options.max_connections = 2;
        gale::TCPServer server(echo, options);
        auto port = first_port(server.listen(0, "127.0.0.1"));
        gale::TCPClient client;
        auto first = co_await client.connect("127.0.0.1", port);
        auto second = co_await client.connect("127.0.0.1", port);
        auto third = co_await client.connect("127.0.0.1", port);  // queued in the backlog
        co_await third.write("3");
        bool served = true;
        try {
            co_await gale::with_timeout(100ms, third.read_bytes(1));
        } catch (const gale::TimeoutError&) {
            served = false;
        }
        CHECK_FALSE(served);
        CHECK(server.connection_count() == 2);
        first.close();
        std::string reply = co_await gale::with_timeout(5s, third.read_bytes(1));
        CHECK(reply == "3");
    };
    gale::test::run(body());
}

TEST_CASE("shutdown cancels connections still open after the grace period", "[tcp]") {
    auto body = []() -> gale::Task<void> {
        gale::TCPServer server(echo);
        auto port = first_port(server.listen(0, "127.0.0.1"));
        gale::TCPClient client;
        auto idle = co_await client.connect("127.0.0.1", port);
        co_await gale::sleep(10ms);
        CHECK(server.connection_count() == 1);
        auto started = gale::IOLoop::Clock::now();
        co_await server.shutdown(50ms);
        CHECK(server.connection_count() == 0);
        CHECK(gale::IOLoop::Clock::now() - started < 5s);
        std::string rest = co_await idle.read_until_close();
        CHECK(rest.empty());
        gale::ConnectOptions quick;
        quick.timeout = 1s;
        CHECK_THROWS_AS(co_await client.connect("127.0.0.1", port, quick), gale::ConnectError);
    };
    gale::test::run(body());
}

TEST_CASE("write backpressure: a writer to a reader that stops reading suspends",
          "[tcp][backpressure]") {
    auto body = []() -> gale::Task<void> {
        auto [a, b] = gale::test::socket_pair();
        gale::IOStreamOptions options;
        options.write_high_water = 256 * 1024;
        options.write_low_water = 64 * 1024;
        options.max_buffer_size = 256 * 1024;
        gale::IOStream writer(a, options);
        gale::IOStream reader(b, options);
        std::string chunk(64 * 1024, 'x');
        std::size_t written = 0;
        bool suspended = false;
        try {
            co_await gale::with_timeout(
                300ms,
                [](gale::IOStream& stream, std::string data,
                   std::size_t& total) -> gale::Task<void> {
                    while (true) {
                        auto written_now = stream.write(data);  // queued at once, counted now
                        total += data.size();
                        co_await std::move(written_now);
                    }
                }(writer, chunk, written));
        } catch (const gale::TimeoutError&) {
            suspended = true;
        }
        CHECK(suspended);
        // Bounded: socket buffers + the reader's buffer + the high-water mark, not gigabytes.
        CHECK(written < 64 * 1024 * 1024);
        CHECK(writer.pending_output() <= options.write_high_water + chunk.size());
        // Reading everything lets the queue drain.
        std::size_t received = 0;
        while (received < written) {
            std::string data = co_await reader.read_some(1 << 20);
            received += data.size();
        }
        CHECK(received == written);
    };
    gale::test::run(body());
}

namespace {

// The client half of the 10,000-connection test, run in a child process (each process then
// needs only ~10,000 descriptors): opens every connection, then each echoes one message.
gale::Task<int> ten_thousand_clients(std::uint16_t port, int count) {
    std::vector<gale::IOStream> clients;
    clients.reserve(static_cast<std::size_t>(count));
    auto address = *gale::SocketAddress::from_ip("127.0.0.1", port);
    for (int i = 0; i < count; ++i) {
        clients.push_back(co_await gale::connect_to(address));
    }
    std::vector<gale::Task<bool>> exchanges;
    for (int i = 0; i < count; ++i) {
        exchanges.push_back([](gale::IOStream& stream, int index) -> gale::Task<bool> {
            std::string message = "message " + std::to_string(index) + "\n";
            co_await stream.write(message);
            std::string reply = co_await stream.read_until("\n");
            co_return reply == message;
        }(clients[static_cast<std::size_t>(i)], i));
    }
    auto results = co_await gale::when_all(std::move(exchanges));
    int good = 0;
    for (bool ok : results) {
        good += ok ? 1 : 0;
    }
    co_return good == count ? 0 : 1;
}

void raise_descriptor_limit() {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
}

}  // namespace

constexpr int scale_connections = 10'000;

TEST_CASE("10,000 concurrent loopback connections echo", "[tcp][scale]") {
    constexpr int count = scale_connections;
    raise_descriptor_limit();
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    REQUIRE(limit.rlim_cur >= count + 100);
    auto body = []() -> gale::Task<void> {
        gale::TCPServer server(echo);
        auto port = first_port(server.listen(0, "127.0.0.1"));
        pid_t child = ::fork();
        if (child == 0) {
            int status = 2;
            try {
                gale::IOLoop loop(gale::IOLoopOptions{.log_backend = false});
                loop.make_current();
                status = loop.run_sync(ten_thousand_clients(port, scale_connections),
                                       std::chrono::seconds(180));
            } catch (...) {
                status = 3;
            }
            ::_exit(status);
        }
        REQUIRE(child > 0);
        std::size_t most_connections = 0;
        int status = 0;
        while (::waitpid(child, &status, WNOHANG) == 0) {
            most_connections = std::max(most_connections, server.connection_count());
            co_await gale::sleep(10ms);
        }
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
        CHECK(most_connections == scale_connections);
        co_await server.shutdown(5s);
    };
    gale::test::run(body(), std::chrono::seconds(240));
}

TEST_CASE("Unix socket server", "[tcp]") {
    auto body = []() -> gale::Task<void> {
        gale::test::TemporaryDirectory directory;
        std::string path = directory.file("echo.sock");
        gale::TCPServer server(echo);
        server.add_socket(gale::bind_unix_socket(path));
        auto stream = co_await gale::connect_to(gale::SocketAddress::from_unix_path(path));
        co_await stream.write("unix");
        std::string reply = co_await stream.read_bytes(4);
        CHECK(reply == "unix");
        CHECK_THROWS_AS(
            gale::bind_unix_socket(directory.file("../" + directory.path().filename().string())),
            gale::Error);  // a directory: not replaced
    };
    gale::test::run(body());
}
