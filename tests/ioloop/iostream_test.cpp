#include <gale/ioloop/iostream.hpp>

#include <catch2/catch.hpp>

#include "support/helpers.hpp"

#include <sys/socket.h>
#include <unistd.h>

using namespace std::chrono_literals;

namespace {

struct StreamPair {
    gale::IOStream left;
    gale::IOStream right;
};

StreamPair make_pair(gale::IOStreamOptions options = {}) {
    auto [a, b] = gale::test::socket_pair();
    return {gale::IOStream(a, options), gale::IOStream(b, options)};
}

}  // namespace

TEST_CASE("bytes written on one end are read on the other", "[iostream]") {
    auto body = []() -> gale::Task<void> {
        auto [left, right] = make_pair();
        co_await left.write("hello\r\nworld");
        std::string line = co_await right.read_until("\r\n");
        CHECK(line == "hello\r\n");
        std::string word = co_await right.read_bytes(5);
        CHECK(word == "world");
        co_await left.write(std::string("abc"));
        std::string partial = co_await right.read_bytes(10, true);
        CHECK(partial == "abc");
        std::string nothing = co_await right.read_bytes(0);
        CHECK(nothing.empty());
    };
    gale::test::run(body());
}

TEST_CASE("read_until fails cleanly past max_bytes and closes the stream", "[iostream]") {
    auto body = []() -> gale::Task<void> {
        auto [left, right] = make_pair();
        co_await left.write(std::string(100, 'x'));
        CHECK_THROWS_AS(co_await right.read_until("\n", 50), gale::UnsatisfiableReadError);
        CHECK(right.closed());
    };
    gale::test::run(body());
}

TEST_CASE("a delimiter found past max_bytes still fails", "[iostream]") {
    auto body = []() -> gale::Task<void> {
        auto [left, right] = make_pair();
        co_await left.write(std::string(20, 'x') + "\n");
        CHECK_THROWS_AS(co_await right.read_until("\n", 10), gale::UnsatisfiableReadError);
    };
    gale::test::run(body());
}

TEST_CASE("the peer's close is seen after its data is read", "[iostream]") {
    auto body = []() -> gale::Task<void> {
        auto [left, right] = make_pair();
        co_await left.write("last words");
        left.close();
        std::string rest = co_await right.read_until_close();
        CHECK(rest == "last words");
        CHECK(right.closed());
        CHECK(right.error() == nullptr);
        CHECK_THROWS_AS(co_await right.read_bytes(1), gale::StreamClosedError);
    };
    gale::test::run(body());
}

TEST_CASE("read_until on a stream closed before the delimiter gives StreamClosedError",
          "[iostream]") {
    auto body = []() -> gale::Task<void> {
        auto [left, right] = make_pair();
        co_await left.write("partial");
        left.close();
        CHECK_THROWS_AS(co_await right.read_until("\n"), gale::StreamClosedError);
    };
    gale::test::run(body());
}

TEST_CASE("a reset by the peer is reported as an error", "[iostream]") {
    auto body = []() -> gale::Task<void> {
        auto [listener, port] = gale::test::listen_loopback();
        int client = gale::test::connect_loopback(port);
        int server_fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        gale::IOStream server(server_fd);
        linger reset{1, 0};
        ::setsockopt(client, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        ::close(client);
        try {
            co_await server.read_bytes(1);
            FAIL("read after a reset succeeded");
        } catch (const gale::StreamClosedError& error) {
            CHECK(std::string(error.what()).find("reset") != std::string::npos);
        }
        CHECK(server.error() != nullptr);
        ::close(listener);
    };
    gale::test::run(body());
}

TEST_CASE("a shared buffer is written to several streams without copies", "[iostream]") {
    auto body = []() -> gale::Task<void> {
        auto first = make_pair();
        auto second = make_pair();
        auto frame = std::make_shared<const std::string>(std::string(100'000, 'f'));
        co_await first.left.write("a");
        co_await first.left.write(frame);
        co_await first.left.write("z");  // after a shared chunk: not coalesced into it
        co_await second.left.write(frame);
        std::string one = co_await first.right.read_bytes(100'002);
        std::string two = co_await second.right.read_bytes(100'000);
        CHECK(one == "a" + *frame + "z");
        CHECK(two == *frame);
        CHECK(frame.use_count() == 1);  // both streams released it once sent
    };
    gale::test::run(body());
}
