#include <gale/http/compression.hpp>
#include <gale/http/date.hpp>
#include <gale/http/server.hpp>
#include <gale/ioloop/combinators.hpp>
#include <gale/ioloop/tcp_client.hpp>

#include <catch2/catch.hpp>

#include "support/helpers.hpp"

#include <cstdlib>
#include <ctime>

using namespace std::chrono_literals;
using gale::http::HTTPRequest;
using gale::http::HTTPResponse;

namespace {

// The handler behind most tests: a few endpoints that exercise the server.
gale::Task<void> test_handler(HTTPRequest& request, HTTPResponse& response) {
    std::string_view path = request.path();
    if (path == "/hello") {
        response.headers().set("Content-Type", "text/plain");
        response.write("Hello, World!");
    } else if (path == "/echo") {
        std::string body = co_await request.read_body();
        response.headers().set("Content-Type", std::string(request.headers().get_or(
                                                   "content-type", "application/octet-stream")));
        response.write(body);
    } else if (path == "/stream") {
        response.headers().set("Content-Type", "text/plain");
        for (int i = 0; i < 3; ++i) {
            response.write("line " + std::to_string(i) + "\n");
            co_await response.flush();
        }
    } else if (path == "/no-content") {
        response.set_status(204);
        response.write("ignored");
    } else if (path == "/big") {
        response.headers().set("Content-Type", "text/plain");
        response.write(std::string(100'000, 'a'));
    } else if (path == "/big-upper-case-type") {
        response.headers().set("Content-Type", "TEXT/Plain ; charset=utf-8");
        response.write(std::string(100'000, 'a'));
    } else if (path == "/big-event-stream") {
        response.headers().set("Content-Type", "text/event-stream");
        response.write(std::string(100'000, 'a'));
    } else if (path == "/big-json-suffix") {
        response.headers().set("Content-Type", "application/Problem+JSON");
        response.write(std::string(100'000, 'a'));
    } else if (path == "/throw") {
        throw std::runtime_error("handler bug");
    } else if (path == "/forbidden") {
        throw gale::http::HTTPError(403, "not for you");
    } else if (path == "/headers") {
        response.headers().set("X-Remote-Ip", std::string(request.remote_ip()));
        response.headers().set("X-Protocol", std::string(request.protocol()));
        response.write(std::string(request.host()));
    } else if (path == "/override") {
        // The handler's Server, Date and Connection replace the defaults; its framing fields
        // do not count: the connection frames the body itself.
        response.headers().set("server", "custom/1.0");
        response.headers().set("DATE", "Thu, 01 Jan 1970 00:00:00 GMT");
        response.headers().set("Connection", "close");
        response.headers().set("Content-Length", "999");
        response.headers().set("X-Between", "2");
        response.headers().set("Transfer-Encoding", "gzip");
        response.headers().set("X-After", "3");
        response.write("overridden");
    } else if (path == "/own-server") {
        response.headers().set("Server", "mine");
        response.write("x");
    } else if (path == "/own-date") {
        response.headers().set("Date", "Thu, 01 Jan 1970 00:00:00 GMT");
        response.write("x");
    } else if (path == "/inject") {
        response.headers().set("X-Bad", "a\r\nSet-Cookie: evil=1");
        response.write("x");
    } else if (path == "/inject-between") {
        // Checked fields around an unchecked one: the unchecked one is still checked.
        response.set_header("X-Good", "1");
        response.headers().add("X-Bad", "a\r\nSet-Cookie: evil=1");
        response.add_header("X-Also-Good", "2");
        response.write("x");
    } else if (path == "/inject-in-place") {
        // A checked field replaced in place through headers().
        response.set_header("X-Good", "1");
        response.headers().set("X-Good", "\n");
        response.write("x");
    } else if (path == "/checked-header") {
        response.set_header("X-Checked", "yes");
        response.add_header("X-Checked", "twice");
        int refused = 0;
        try {
            response.set_header("X-Bad", "a\r\nSet-Cookie: evil=1");
        } catch (const gale::Error&) {
            ++refused;
        }
        try {
            response.add_header("Bad Name", "x");
        } catch (const gale::Error&) {
            ++refused;
        }
        response.write("refused " + std::to_string(refused));
    } else if (path == "/download") {
        response.headers().set("Content-Length", "30000");
        for (int i = 0; i < 3; ++i) {
            response.write(std::string(10000, static_cast<char>('a' + i)));
            co_await response.flush();
        }
    } else if (path == "/short") {
        response.headers().set("Content-Length", "100");
        response.write("only ten!!");
        co_await response.flush();
    } else if (path == "/not-modified") {
        response.headers().set("Content-Type", "text/plain");
        response.headers().set("Content-Language", "en");
        response.headers().set("ETag", "\"v1\"");
        response.set_status(304);
    } else if (path == "/declared") {
        // A handler that declares its length and, for HEAD, writes nothing.
        response.headers().set("Content-Type", "text/plain");
        response.headers().set("Content-Length", "5000");
        if (request.method() != "HEAD") {
            response.write(std::string(5000, 'd'));
        }
    } else if (path == "/wait") {
        co_await gale::sleep(1h);  // cancelled when the client goes away
    } else {
        response.set_status(404);
        response.write("not found");
    }
    co_return;
}

struct Server {
    explicit Server(gale::http::HTTPServerOptions options = {})
        : server(test_handler, std::move(options)) {
        port = server.listen(0, "127.0.0.1").front().port();
    }
    gale::http::HTTPServer server;
    std::uint16_t port = 0;
};

gale::Task<gale::IOStream> connect(std::uint16_t port) {
    co_return co_await gale::connect_to(*gale::SocketAddress::from_ip("127.0.0.1", port));
}

// Sends raw bytes on a new connection and returns everything until the server closes.
gale::Task<std::string> exchange(std::uint16_t port, std::string request) {
    gale::IOStream stream = co_await connect(port);
    co_await stream.write(std::move(request));
    co_return co_await gale::with_timeout(10s, stream.read_until_close());
}

// Reads one response (head + Content-Length body) from a keep-alive connection.
gale::Task<std::string> read_response(gale::IOStream& stream) {
    std::string head = co_await gale::with_timeout(10s, stream.read_until("\r\n\r\n"));
    std::size_t length_at = head.find("Content-Length: ");
    std::size_t length = 0;
    if (length_at != std::string::npos) {
        length = std::stoul(head.substr(length_at + 16));
    }
    std::string body = co_await stream.read_bytes(length);
    co_return head + body;
}

std::string status_line(const std::string& response) {
    return response.substr(0, response.find("\r\n"));
}

}  // namespace

TEST_CASE("a GET gets a complete response", "[http][server]") {
    auto body = []() -> gale::Task<void> {
        Server server;
        std::string response = co_await exchange(
            server.port, "GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        CHECK(status_line(response) == "HTTP/1.1 200 OK");
        CHECK(response.find("Content-Length: 13\r\n") != std::string::npos);
        CHECK(response.find("Content-Type: text/plain\r\n") != std::string::npos);
        CHECK(response.find("Date: ") != std::string::npos);
        CHECK(response.find("Server: gale\r\n") != std::string::npos);
        CHECK(response.find("Connection: close\r\n") != std::string::npos);
        CHECK(response.substr(response.size() - 13) == "Hello, World!");
    };
    gale::test::run(body());
}

TEST_CASE("the handler's Server, Date and Connection fields replace the defaults",
          "[http][server]") {
    auto body = []() -> gale::Task<void> {
        Server server;
        std::string response =
            co_await exchange(server.port, "GET /override HTTP/1.1\r\nHost: a\r\n\r\n");
        auto count = [&response](std::string_view needle) {
            std::size_t found = 0;
            for (std::size_t at = response.find(needle); at != std::string::npos;
                 at = response.find(needle, at + 1)) {
                ++found;
            }
            return found;
        };
        CHECK(status_line(response) == "HTTP/1.1 200 OK");
        CHECK(count("server: custom/1.0\r\n") == 1);
        CHECK(count("Server: ") == 0);
        CHECK(count("DATE: Thu, 01 Jan 1970 00:00:00 GMT\r\n") == 1);
        CHECK(count("Date: ") == 0);
        CHECK(count("Connection: close\r\n") == 1);  // the handler's, not a second one
        CHECK(count("Content-Length: 10\r\n") == 1);
        CHECK(count("999") == 0);
        CHECK(count("gzip") == 0);
        CHECK(count("\r\nX-Between: 2\r\nX-After: 3\r\n") == 1);  // the fields around them
        CHECK(count("Transfer-Encoding") == 0);
        CHECK(response.substr(response.size() - 10) == "overridden");
    };
    gale::test::run(body());
}

// Server and Date are written as one block kept per server and rebuilt each second; a
// handler's own Server or Date replaces only that field.
TEST_CASE("the Date field follows the clock, and a handler's Server or Date replaces only it",
          "[http][server]") {
    auto body = []() -> gale::Task<void> {
        Server server;
        auto field = [](const std::string& response, std::string_view name) {
            std::size_t at = response.find("\r\n" + std::string(name) + ": ");
            if (at == std::string::npos ||
                response.find("\r\n" + std::string(name) + ": ", at + 1) != std::string::npos) {
                return std::string("(missing or repeated)");
            }
            at += name.size() + 4;
            return response.substr(at, response.find("\r\n", at) - at);
        };
        auto date_of = [&field](const std::string& response) {
            return gale::http::parse_http_date(field(response, "Date")).value_or(0);
        };
        std::string first = co_await exchange(
            server.port, "GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        const std::time_t first_date = date_of(first);
        CHECK(std::abs(first_date - std::time(nullptr)) <= 1);
        CHECK(field(first, "Server") == "gale");
        co_await gale::sleep(std::chrono::milliseconds(1100));
        std::string second = co_await exchange(
            server.port, "GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        CHECK(date_of(second) > first_date);
        CHECK(field(second, "Server") == "gale");
        std::string own_server = co_await exchange(
            server.port, "GET /own-server HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        CHECK(field(own_server, "Server") == "mine");
        CHECK(std::abs(date_of(own_server) - std::time(nullptr)) <= 1);
        std::string own_date = co_await exchange(
            server.port, "GET /own-date HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        CHECK(field(own_date, "Date") == "Thu, 01 Jan 1970 00:00:00 GMT");
        CHECK(field(own_date, "Server") == "gale");
    };
    gale::test::run(body());
}

TEST_CASE("keep-alive serves several requests on one connection", "[http][server]") {
    auto body = []() -> gale::Task<void> {
        Server server;
        gale::IOStream stream = co_await connect(server.port);
        for (int i = 0; i < 3; ++i) {
            co_await stream.write("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
            std::string response = co_await read_response(stream);
            CHECK(status_line(response) == "HTTP/1.1 200 OK");
            CHECK(response.find("Connection:") == std::string::npos);
        }
        CHECK(server.server.connection_count() == 1);
    };
    gale::test::run(body());
}

TEST_CASE("pipelined requests are answered in order, in one write", "[http][server]") {
    auto body = []() -> gale::Task<void> {
        Server server;
        gale::IOStream stream = co_await connect(server.port);
        co_await stream.write(
            "GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /missing HTTP/1.1\r\nHost: a\r\n\r\n"
            "GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        std::string all = co_await gale::with_timeout(10s, stream.read_until_close());
        std::size_t first = all.find("HTTP/1.1 200");
        std::size_t second = all.find("HTTP/1.1 404");
        std::size_t third = all.find("HTTP/1.1 200", first + 1);
        CHECK(first == 0);
        CHECK(second != std::string::npos);
        CHECK(third != std::string::npos);
        CHECK(first < second);
        CHECK(second < third);
    };
    gale::test::run(body());
}

TEST_CASE("a bad request pipelined after a good one still gets its error status",
          "[http][server][bad]") {
    auto body = []() -> gale::Task<void> {
        Server server;
        for (std::string bad :
             {"GET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
              "GET / HTTP/9.1\r\nHost: a\r\n\r\n"}) {
            INFO(bad);
            gale::IOStream stream = co_await connect(server.port);
            co_await stream.write("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n" + bad);
            std::string all = co_await gale::with_timeout(10s, stream.read_until_close());
            CHECK(all.find("HTTP/1.1 200 OK") == 0);
            std::size_t error =
                all.find(bad.find("9.1") != std::string::npos ? "HTTP/1.1 505" : "HTTP/1.1 400");
            CHECK(error != std::string::npos);
            CHECK(all.find("Connection: close", error) != std::string::npos);
        }
    };
    gale::test::run(body());
}

TEST_CASE("HTTP/1.0 closes unless asked to keep alive, and is answered as HTTP/1.1",
          "[http][server]") {
    auto body = []() -> gale::Task<void> {
        Server server;
        std::string closed = co_await exchange(server.port, "GET /hello HTTP/1.0\r\n\r\n");
        CHECK(status_line(closed) == "HTTP/1.1 200 OK");  // RFC 9110 §2.5
        CHECK(closed.find("Connection: close\r\n") != std::string::npos);
        gale::IOStream stream = co_await connect(server.port);
        co_await stream.write("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        std::string kept = co_await read_response(stream);
        CHECK(kept.find("Connection: keep-alive\r\n") != std::string::npos);
        co_await stream.write("GET /hello HTTP/1.0\r\n\r\n");
        std::string last = co_await gale::with_timeout(10s, stream.read_until_close());
        CHECK(status_line(last) == "HTTP/1.1 200 OK");
    };
    gale::test::run(body());
}

TEST_CASE("bad requests get their status and the connection is closed", "[http][server][bad]") {
    gale::http::HTTPServerOptions options;
    options.limits.max_request_line = 1024;
    options.limits.max_head_size = 4096;
    options.max_body_size = 1000;
    auto body = [](gale::http::HTTPServerOptions server_options) -> gale::Task<void> {
        Server server(server_options);
        struct Case {
            std::string request;
            std::string status;
        };
        std::vector<Case> cases = {
            {"GET / HTTP/1.1\nHost: a\n\n", "HTTP/1.1 400"},
            {"GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400"},
            {"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: "
             "chunked\r\n\r\n",
             "HTTP/1.1 400"},
            {"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 400"},
            {"GET /" + std::string(2000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 414"},
            {"GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(5000, 'x') + "\r\n\r\n",
             "HTTP/1.1 431"},
            {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", "HTTP/1.1 505"},
            {"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
             "HTTP/1.1 501"},
            {"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n", "HTTP/1.1 413"},
            {"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
             "HTTP/1.1 400"},
            {"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" +
                 std::string(2048, 'b') + "\r\n0\r\n\r\n",
             "HTTP/1.1 413"},
            {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "HTTP/1.1 400"},
        };
        for (const Case& test : cases) {
            INFO(test.request.substr(0, 80));
            std::string response = co_await exchange(server.port, test.request);
            CHECK(status_line(response).substr(0, 12) == test.status);
            CHECK(response.find("Connection: close") != std::string::npos);
        }
        // After all that, the server still serves.
        std::string response = co_await exchange(
            server.port, "GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        CHECK(status_line(response) == "HTTP/1.1 200 OK");
    };
    gale::test::run(body(options));
}

TEST_CASE("request bodies: Content-Length, chunked and 100-continue", "[http][server]") {
    auto body = []() -> gale::Task<void> {
        Server server;
        std::string by_length =
            co_await exchange(server.port,
                              "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Type: "
                              "text/x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
        CHECK(by_length.find("Content-Type: text/x\r\n") != std::string::npos);
        CHECK(by_length.substr(by_length.size() - 5) == "hello");

        std::string chunked =
            co_await exchange(server.port,
                              "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
                              "chunked\r\nConnection: close\r\n\r\n"
                              "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n");
        CHECK(chunked.substr(chunked.size() - 11) == "hello world");

        gale::IOStream stream = co_await connect(server.port);
        co_await stream.write(
            "PUT /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
        std::string interim = co_await gale::with_timeout(10s, stream.read_until("\r\n\r\n"));
        CHECK(interim == "HTTP/1.1 100 Continue\r\n\r\n");
        co_await stream.write("data");
        std::string final_response = co_await read_response(stream);
        CHECK(status_line(final_response) == "HTTP/1.1 200 OK");
        CHECK(final_response.substr(final_response.size() - 4) == "data");

        // A body sent with the head needs no 100 (RFC 9110 §10.1.1): the answer comes first.
        std::string eager = co_await exchange(
            server.port,
            "PUT /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: "
            "4\r\nConnection: close\r\n\r\ndata");
        CHECK(status_line(eager) == "HTTP/1.1 200 OK");
        CHECK(eager.substr(eager.size() - 4) == "data");
    };
    gale::test::run(body());
}

TEST_CASE("HEAD, 204 and streamed responses", "[http][server]") {
    auto body = []() -> gale::Task<void> {
        Server server;
        std::string head = co_await exchange(
            server.port, "HEAD /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        CHECK(head.find("Content-Length: 13\r\n") != std::string::npos);
        CHECK(head.substr(head.size() - 4) == "\r\n\r\n");  // no body

        std::string no_content = co_await exchange(
            server.port, "GET /no-content HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        CHECK(status_line(no_content) == "HTTP/1.1 204 No Content");
        CHECK(no_content.find("Content-Length") == std::string::npos);
        CHECK(no_content.substr(no_content.size() - 4) == "\r\n\r\n");

        std::string streamed = co_await exchange(
            server.port, "GET /stream HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        CHECK(streamed.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
        CHECK(streamed.find("7\r\nline 0\n\r\n7\r\nline 1\n\r\n7\r\nline 2\n\r\n0\r\n\r\n") !=
              std::string::npos);

        std::string old = co_await exchange(server.port, "GET /stream HTTP/1.0\r\n\r\n");
        CHECK(old.find("Transfer-Encoding") == std::string::npos);
        CHECK(old.substr(old.size() - 21) == "line 0\nline 1\nline 2\n");
    };
    gale::test::run(body());
}

TEST_CASE("gzip compression for clients that accept it", "[http][server]") {
    gale::http::HTTPServerOptions options;
    options.compress_response = true;
    auto body = [](gale::http::HTTPServerOptions server_options) -> gale::Task<void> {
        Server server(server_options);
        std::string compressed =
            co_await exchange(server.port,
                              "GET /big HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip, "
                              "br\r\nConnection: close\r\n\r\n");
        CHECK(compressed.find("Content-Encoding: gzip\r\n") != std::string::npos);
        CHECK(compressed.find("Vary: Accept-Encoding\r\n") != std::string::npos);
        std::string payload = compressed.substr(compressed.find("\r\n\r\n") + 4);
        CHECK(payload.size() < 2000);
        CHECK(gale::http::decompress(payload, 1 << 20) == std::string(100'000, 'a'));

        // Media type names are case-insensitive, and OWS may come before the parameters.
        for (std::string path : {"/big-upper-case-type", "/big-json-suffix"}) {
            std::string response = co_await exchange(
                server.port, "GET " + path +
                                 " HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n"
                                 "Connection: close\r\n\r\n");
            CHECK(response.find("Content-Encoding: gzip\r\n") != std::string::npos);
        }
        // Server-sent events must reach the client event by event: never compressed.
        std::string events = co_await exchange(
            server.port,
            "GET /big-event-stream HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n"
            "Connection: close\r\n\r\n");
        CHECK(events.find("Content-Encoding") == std::string::npos);
        CHECK(events.find("Content-Length: 100000\r\n") != std::string::npos);

        std::string plain = co_await exchange(
            server.port, "GET /big HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        CHECK(plain.find("Content-Encoding") == std::string::npos);
        CHECK(plain.find("Content-Length: 100000\r\n") != std::string::npos);

        std::string small = co_await exchange(
            server.port,
            "GET /hello HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n");
        CHECK(small.find("Content-Encoding") == std::string::npos);  // below the threshold

        // A 304 keeps the Vary its 200 would have had, not the representation's metadata.
        std::string not_modified = co_await exchange(
            server.port, "GET /not-modified HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        CHECK(status_line(not_modified) == "HTTP/1.1 304 Not Modified");
        CHECK(not_modified.find("Vary: Accept-Encoding\r\n") != std::string::npos);
        CHECK(not_modified.find("ETag: \"v1\"\r\n") != std::string::npos);
        CHECK(not_modified.find("Content-Type") == std::string::npos);
        CHECK(not_modified.find("Content-Language") == std::string::npos);
        CHECK(not_modified.find("Content-Length") == std::string::npos);

        // HEAD gets the fields GET would: with gzip the length is unknown and left out
        // (RFC 9110 §8.6), never the identity length.
        const std::string gzip = "Accept-Encoding: gzip\r\nConnection: close\r\n\r\n";
        std::string get =
            co_await exchange(server.port, "GET /declared HTTP/1.1\r\nHost: a\r\n" + gzip);
        CHECK(get.find("Content-Encoding: gzip\r\n") != std::string::npos);
        std::string head =
            co_await exchange(server.port, "HEAD /declared HTTP/1.1\r\nHost: a\r\n" + gzip);
        CHECK(head.find("Content-Encoding: gzip\r\n") != std::string::npos);
        CHECK(head.find("Vary: Accept-Encoding\r\n") != std::string::npos);
        CHECK(head.find("Content-Length") == std::string::npos);
        CHECK(head.find("Transfer-Encoding") == std::string::npos);
        CHECK(head.substr(head.find("\r\n\r\n") + 4).empty());
        std::string identity_head = co_await exchange(
            server.port, "HEAD /declared HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        CHECK(identity_head.find("Content-Length: 5000\r\n") != std::string::npos);
        CHECK(identity_head.find("Vary: Accept-Encoding\r\n") != std::string::npos);
    };
    gale::test::run(body(options));
}

TEST_CASE(
    "a body the handler leaves unread and cannot be skipped ends the connection, which the "
    "response says",
    "[http][server]") {
    auto body = []() -> gale::Task<void> {
        Server server;
        // Chunked, unread: the response says Connection: close and the next request is not read.
        std::string chunked =
            co_await exchange(server.port,
                              "POST /hello HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
                              "chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                              "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
        CHECK(status_line(chunked) == "HTTP/1.1 200 OK");
        CHECK(chunked.find("Connection: close\r\n") != std::string::npos);
        CHECK(chunked.find("HTTP/1.1", 1) == std::string::npos);
        // A small body of known length is skipped and the connection kept.
        gale::IOStream stream = co_await connect(server.port);
        co_await stream.write(
            "POST /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
            "GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        std::string both = co_await gale::with_timeout(10s, stream.read_until_close());
        CHECK(both.find("HTTP/1.1 200 OK") == 0);
        CHECK(both.find("HTTP/1.1 200 OK", 1) != std::string::npos);
        CHECK(both.find("Connection: close") > both.find("HTTP/1.1 200 OK", 1));
    };
    gale::test::run(body());
}

TEST_CASE("handler errors become error responses and the connection survives", "[http][server]") {
    auto body = []() -> gale::Task<void> {
        Server server;
        gale::IOStream stream = co_await connect(server.port);
        co_await stream.write("GET /throw HTTP/1.1\r\nHost: a\r\n\r\n");
        std::string failed = co_await read_response(stream);
        CHECK(status_line(failed) == "HTTP/1.1 500 Internal Server Error");
        CHECK(failed.find("handler bug") == std::string::npos);  // no details leak to clients
        co_await stream.write("GET /forbidden HTTP/1.1\r\nHost: a\r\n\r\n");
        std::string forbidden = co_await read_response(stream);
        CHECK(status_line(forbidden) == "HTTP/1.1 403 Forbidden");
        co_await stream.write("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
        std::string ok = co_await read_response(stream);
        CHECK(status_line(ok) == "HTTP/1.1 200 OK");
        // Header injection is refused: a 500 instead of a response carrying the header.
        co_await stream.write("GET /inject HTTP/1.1\r\nHost: a\r\n\r\n");
        std::string injected = co_await read_response(stream);
        CHECK(status_line(injected) == "HTTP/1.1 500 Internal Server Error");
        CHECK(injected.find("evil") == std::string::npos);
        for (std::string path : {"/inject-between", "/inject-in-place"}) {
            CAPTURE(path);
            co_await stream.write("GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n");
            std::string refused = co_await read_response(stream);
            CHECK(status_line(refused) == "HTTP/1.1 500 Internal Server Error");
            CHECK(refused.find("evil") == std::string::npos);
            CHECK(refused.find("X-Good") == std::string::npos);
        }
        // set_header and add_header check at once; what they refused is not in the response.
        co_await stream.write("GET /checked-header HTTP/1.1\r\nHost: a\r\n\r\n");
        std::string checked = co_await read_response(stream);
        CHECK(status_line(checked) == "HTTP/1.1 200 OK");
        CHECK(checked.find("X-Checked: yes\r\nX-Checked: twice\r\n") != std::string::npos);
        CHECK(checked.find("X-Bad") == std::string::npos);
        CHECK(checked.find("Bad Name") == std::string::npos);
        CHECK(checked.find("\r\n\r\nrefused 2") != std::string::npos);
    };
    gale::test::run(body());
}

TEST_CASE("xheaders from a trusted proxy", "[http][server]") {
    gale::http::HTTPServerOptions options;
    options.xheaders = true;
    options.trusted_proxies = {"127.0.0.1", "10.0.0.1"};
    auto body = [](gale::http::HTTPServerOptions server_options) -> gale::Task<void> {
        Server server(server_options);
        std::string response =
            co_await exchange(server.port,
                              "GET /headers HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-For: "
                              "1.2.3.4, 5.6.7.8, 10.0.0.1\r\n"
                              "X-Forwarded-Proto: https\r\nConnection: close\r\n\r\n");
        CHECK(response.find("X-Remote-Ip: 5.6.7.8\r\n") != std::string::npos);
        CHECK(response.find("X-Protocol: https\r\n") != std::string::npos);
        std::string bogus = co_await exchange(server.port,
                                              "GET /headers HTTP/1.1\r\nHost: a\r\nX-Real-IP: "
                                              "not-an-ip\r\nConnection: close\r\n\r\n");
        CHECK(bogus.find("X-Remote-Ip: 127.0.0.1\r\n") != std::string::npos);
        // Per request: on a kept-alive connection, the next request without the fields is
        // from the peer again.
        std::string both = co_await exchange(
            server.port,
            "GET /headers HTTP/1.1\r\nHost: a\r\nX-Real-IP: 9.9.9.9\r\nX-Scheme: https\r\n\r\n"
            "GET /headers HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        const std::size_t second = both.find("HTTP/1.1 200", 1);
        REQUIRE(second != std::string::npos);
        CHECK(both.substr(0, second).find("X-Remote-Ip: 9.9.9.9\r\n") != std::string::npos);
        CHECK(both.substr(0, second).find("X-Protocol: https\r\n") != std::string::npos);
        CHECK(both.substr(second).find("X-Remote-Ip: 127.0.0.1\r\n") != std::string::npos);
        CHECK(both.substr(second).find("X-Protocol: http\r\n") != std::string::npos);
    };
    gale::test::run(body(options));
}

TEST_CASE("slow and idle clients are cut off", "[http][server][timeout]") {
    gale::http::HTTPServerOptions options;
    options.header_timeout = 1s;
    options.idle_timeout = 1s;
    auto body = [](gale::http::HTTPServerOptions server_options) -> gale::Task<void> {
        Server server(server_options);
        auto started = gale::IOLoop::Clock::now();
        gale::IOStream slow = co_await connect(server.port);
        co_await slow.write("GET /hello HTTP/1.1\r\nHost: a\r\n");  // never finishes the head
        std::string answer = co_await gale::with_timeout(10s, slow.read_until_close());
        CHECK(status_line(answer) == "HTTP/1.1 408 Request Timeout");
        CHECK(answer.find("\r\nDate: ") != std::string::npos);  // as on every 4xx (RFC 9110 §6.6.1)
        CHECK(answer.find("\r\nConnection: close\r\n") != std::string::npos);
        CHECK(gale::IOLoop::Clock::now() - started < 5s);

        gale::IOStream idle = co_await connect(server.port);
        std::string nothing = co_await gale::with_timeout(10s, idle.read_until_close());
        CHECK(nothing.empty());
    };
    gale::test::run(body(options));
}

TEST_CASE("a body that trickles in below the minimum rate is cut off", "[http][server][timeout]") {
    gale::http::HTTPServerOptions options;
    options.min_body_rate = 100;  // bytes per second, after
    options.min_body_rate_grace = 1s;
    auto body = [](gale::http::HTTPServerOptions server_options) -> gale::Task<void> {
        Server server(server_options);
        auto started = gale::IOLoop::Clock::now();
        gale::IOStream slow = co_await connect(server.port);
        co_await slow.write("PUT /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n");
        // A byte every 100 ms never stalls the body, so body_timeout alone would not help.
        std::string head;
        for (int sent = 0; sent < 50 && head.empty(); ++sent) {
            co_await slow.write("x");
            try {
                head = co_await gale::with_timeout(100ms, slow.read_until("\r\n\r\n"));
            } catch (const gale::TimeoutError&) {
            }
        }
        CHECK(status_line(head) == "HTTP/1.1 408 Request Timeout");
        CHECK(head.find("\r\nConnection: close\r\n") != std::string::npos);
        const auto elapsed = gale::IOLoop::Clock::now() - started;
        CHECK(elapsed >= 1s);  // the grace period
        CHECK(elapsed < 4s);

        // A body that arrives at once is never judged, however long the handler takes.
        std::string fast =
            co_await exchange(server.port,
                              "PUT /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: "
                              "close\r\n\r\nabc");
        CHECK(status_line(fast) == "HTTP/1.1 200 OK");
    };
    gale::test::run(body(options));
}

TEST_CASE("a client that disconnects cancels its handler", "[http][server]") {
    auto body = []() -> gale::Task<void> {
        Server server;
        {
            gale::IOStream stream = co_await connect(server.port);
            co_await stream.write("GET /wait HTTP/1.1\r\nHost: a\r\n\r\n");
            co_await gale::sleep(50ms);
            CHECK(server.server.connection_count() == 1);
        }  // closed here
        for (int i = 0; i < 100 && server.server.connection_count() > 0; ++i) {
            co_await gale::sleep(10ms);
        }
        CHECK(server.server.connection_count() == 0);
    };
    gale::test::run(body());
}

TEST_CASE("graceful shutdown closes idle connections and drains busy ones", "[http][server]") {
    auto body = []() -> gale::Task<void> {
        Server server;
        gale::IOStream idle = co_await connect(server.port);
        co_await idle.write("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
        co_await read_response(idle);
        co_await server.server.shutdown(2s);
        CHECK(server.server.connection_count() == 0);
        std::string rest = co_await gale::with_timeout(5s, idle.read_until_close());
        CHECK(rest.empty());
    };
    gale::test::run(body());
}

TEST_CASE("a declared Content-Length streams a fixed-length body", "[http][server]") {
    auto body = []() -> gale::Task<void> {
        Server server;
        gale::IOStream stream = co_await connect(server.port);
        co_await stream.write("GET /download HTTP/1.1\r\nHost: a\r\n\r\n");
        std::string response = co_await read_response(stream);
        CHECK(response.find("Content-Length: 30000\r\n") != std::string::npos);
        CHECK(response.find("Transfer-Encoding") == std::string::npos);
        CHECK(response.substr(response.size() - 30000) ==
              std::string(10000, 'a') + std::string(10000, 'b') + std::string(10000, 'c'));
        co_await stream.write("HEAD /download HTTP/1.1\r\nHost: a\r\n\r\n");
        std::string head = co_await gale::with_timeout(10s, stream.read_until("\r\n\r\n"));
        CHECK(head.find("Content-Length: 30000\r\n") != std::string::npos);
        // The connection is still in sync: the HEAD response had no body.
        co_await stream.write("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
        std::string next = co_await read_response(stream);
        CHECK(status_line(next) == "HTTP/1.1 200 OK");
        // A body shorter than declared ends the connection rather than desynchronising it.
        co_await stream.write("GET /short HTTP/1.1\r\nHost: a\r\n\r\n");
        std::string rest = co_await gale::with_timeout(10s, stream.read_until_close());
        CHECK(rest.find("Content-Length: 100") != std::string::npos);
    };
    gale::test::run(body());
}

namespace {

// After a 101 the handler hands the connection to a task of its own: an echo of lines that
// answers with the request's path and a header first, from a detached copy of the request.
gale::Task<void> echo_lines(gale::IOStream stream, std::unique_ptr<HTTPRequest> request) {
    std::string greeting = std::string(request->path()) + " " +
                           std::string(request->headers().get_or("x-probe", "-")) + " " +
                           std::string(request->method()) + " " +
                           std::string(request->remote_ip()) + "\n";
    co_await stream.write(std::move(greeting));
    while (true) {
        std::string line = co_await stream.read_until("\n");
        if (line == "quit\n") {
            break;
        }
        co_await stream.write(std::move(line));
    }
}

gale::Task<void> upgrading_handler(HTTPRequest& request, HTTPResponse& response) {
    response.set_status(101);
    response.headers().set("Upgrade", "lines");
    response.headers().set("Connection", "upgrade");
    co_await response.finish();
    gale::IOStream stream = request.detach_stream();
    std::unique_ptr<HTTPRequest> copy = request.detached_copy();
    CHECK(copy->connection_closed());  // HTTP no longer watches this connection
    CHECK(copy->body_complete());
    CHECK_THROWS_AS(copy->read_body(), gale::Error);
    CHECK_THROWS_AS(copy->detach_stream(), gale::Error);
    request.continue_with(echo_lines(std::move(stream), std::move(copy)));
}

// Connects, asks for an upgrade to "lines" and returns the stream once the 101 is read.
gale::Task<gale::IOStream> open_lines(std::uint16_t port, std::string target,
                                      std::string extra_headers) {
    gale::IOStream client = co_await connect(port);
    std::string request = "GET " + target + " HTTP/1.1\r\nHost: a\r\n" + extra_headers +
                          "Upgrade: lines\r\nConnection: upgrade\r\n\r\n";
    co_await client.write(std::move(request));
    std::string head = co_await gale::with_timeout(10s, client.read_until("\r\n\r\n"));
    CHECK(status_line(head) == "HTTP/1.1 101 Switching Protocols");
    co_return client;
}

}  // namespace

TEST_CASE("after a 101 the connection continues in a task of the handler's choosing",
          "[http][server][upgrade]") {
    auto body = []() -> gale::Task<void> {
        gale::http::HTTPServer server(upgrading_handler);
        const std::uint16_t port = server.listen(0, "127.0.0.1").front().port();
        gale::IOStream client = co_await open_lines(port, "/lines?x=1", "X-Probe: kept\r\n");
        std::string greeting = co_await gale::with_timeout(10s, client.read_until("\n"));
        CHECK(greeting == "/lines kept GET 127.0.0.1\n");
        co_await client.write(std::string("one\ntwo\n"));
        std::string echoed = co_await gale::with_timeout(10s, client.read_bytes(8));
        CHECK(echoed == "one\ntwo\n");
        // The continuation still counts as the server's connection until it ends.
        CHECK(server.connection_count() == 1);
        co_await client.write("quit\n");
        std::string rest = co_await gale::with_timeout(10s, client.read_until_close());
        CHECK(rest.empty());
        auto no_connections = [&server] { return server.connection_count() == 0; };
        const bool ended = co_await gale::test::eventually(no_connections);
        CHECK(ended);
    };
    gale::test::run(body());
}

TEST_CASE("shutdown waits for a continuation, then cancels it", "[http][server][upgrade]") {
    auto body = []() -> gale::Task<void> {
        gale::http::HTTPServer server(upgrading_handler);
        const std::uint16_t port = server.listen(0, "127.0.0.1").front().port();
        gale::IOStream client = co_await open_lines(port, "/", "");
        co_await gale::with_timeout(10s, client.read_until("\n"));
        const auto started = gale::IOLoop::current().time();
        co_await server.shutdown(300ms);  // the echo never ends on its own: cancelled
        CHECK(gale::IOLoop::current().time() - started >= 300ms);
        CHECK(server.connection_count() == 0);
        std::string rest = co_await gale::with_timeout(10s, client.read_until_close());
        CHECK(rest.empty());
    };
    gale::test::run(body());
}

TEST_CASE("continue_with and detached_copy need a detached stream", "[http][server][upgrade]") {
    auto handler = [](HTTPRequest& request, HTTPResponse& response) -> gale::Task<void> {
        CHECK_THROWS_AS(request.detached_copy(), gale::Error);
        CHECK_THROWS_AS(request.continue_with(gale::sleep(1ms)), gale::Error);
        response.write("plain");
        co_return;
    };
    auto body = [&]() -> gale::Task<void> {
        gale::http::HTTPServer server(handler);
        const std::uint16_t port = server.listen(0, "127.0.0.1").front().port();
        std::string response =
            co_await exchange(port, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        CHECK(status_line(response) == "HTTP/1.1 200 OK");
    };
    gale::test::run(body());
}
