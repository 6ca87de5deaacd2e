// The client through a real forward proxy (a small asyncio one run by Debian's Python):
// absolute-form requests for http, CONNECT tunnels for https, proxy authentication, and
// connections to the proxy kept alive.
#include <catch2/catch.hpp>

#include "httpclient/support.hpp"

using namespace httpclient_test;
using gale::httpclient::AsyncHTTPClient;
using gale::httpclient::ClientOptions;
using Request = gale::httpclient::HTTPRequest;
using Response = gale::httpclient::HTTPResponse;

namespace {

struct Proxy {
    explicit Proxy(const std::string& credentials = "")
        : log_directory(),
          server("forward_proxy.py", log_directory.file("proxy.log") + " " + credentials) {}
    // The log once it has `expected` lines (the proxy logs just after relaying; at most 10 s).
    std::vector<std::string> log(std::size_t expected) const {
        auto deadline = std::chrono::steady_clock::now() + 10s;
        while (true) {
            std::vector<std::string> lines;
            std::istringstream text(read_text_file(log_directory.file("proxy.log")));
            for (std::string line; std::getline(text, line);) {
                lines.push_back(line);
            }
            if (lines.size() >= expected || std::chrono::steady_clock::now() > deadline) {
                return lines;
            }
            ::usleep(10'000);
        }
    }
    gale::test::TemporaryDirectory log_directory;
    PythonServer server;
};

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("proxy: http in absolute form over one kept-alive proxy connection",
          "[httpclient][proxy]") {
    auto body = []() -> gale::Task<void> {
        LocalServer origin;
        Proxy proxy;
        AsyncHTTPClient client;
        for (int i = 0; i < 3; ++i) {
            Request request(origin.url("/headers"));
            request.proxy_host = "127.0.0.1";
            request.proxy_port = proxy.server.port;
            Response response = co_await client.fetch(std::move(request));
            CHECK(response.code == 200);
            CHECK(response.body.rfind("GET /headers\n", 0) == 0);  // the proxy used origin form
        }
        auto log = proxy.log(3);
        REQUIRE(log.size() == 3);
        for (const auto& line : log) {
            CHECK(line == "1 GET " + origin.url("/headers") + " 200");  // all on connection 1
        }
        CHECK(client.stats().connections_opened == 1);
    };
    gale::test::run(body());
}

TEST_CASE("proxy: https through a CONNECT tunnel, reused", "[httpclient][proxy][tls]") {
    gale::test::TemporaryDirectory directory;
    auto certificates = gale::test::make_certificates(directory);
    auto body = [](gale::test::Certificates certs) -> gale::Task<void> {
        auto options = LocalServer::default_options();
        gale::TLSServerOptions tls;
        tls.certificate_chain_file = certs.certificate_file;
        tls.private_key_file = certs.key_file;
        options.tcp.tls = gale::TLSContext::server(tls);
        LocalServer origin(options);
        Proxy proxy;
        ClientOptions client_options;  // the proxy as the client's default
        client_options.proxy_host = "127.0.0.1";
        client_options.proxy_port = proxy.server.port;
        AsyncHTTPClient client(client_options);
        std::string url = "https://localhost:" + std::to_string(origin.port) + "/headers";
        for (int i = 0; i < 3; ++i) {
            Request request(url);
            request.ca_certs = certs.ca_file;
            Response response = co_await client.fetch(std::move(request));
            CHECK(response.body.rfind("GET /headers\n", 0) == 0);
            CHECK(response.reused_connection == (i > 0));
        }
        auto log = proxy.log(1);
        REQUIRE(log.size() == 1);
        CHECK(log[0] == "1 CONNECT localhost:" + std::to_string(origin.port) + " 200");
    };
    gale::test::run(body(certificates));
}

TEST_CASE("proxy: authentication for http and for CONNECT", "[httpclient][proxy]") {
    gale::test::TemporaryDirectory directory;
    auto certificates = gale::test::make_certificates(directory);
    auto body = [](gale::test::Certificates certs) -> gale::Task<void> {
        LocalServer origin;
        auto options = LocalServer::default_options();
        gale::TLSServerOptions tls;
        tls.certificate_chain_file = certs.certificate_file;
        tls.private_key_file = certs.key_file;
        options.tcp.tls = gale::TLSContext::server(tls);
        LocalServer secure_origin(options);
        Proxy proxy("gale:s3cret");
        AsyncHTTPClient client;
        auto proxied = [&proxy](std::string url, std::string user, std::string password) {
            Request request(std::move(url));
            request.proxy_host = "127.0.0.1";
            request.proxy_port = proxy.server.port;
            request.proxy_username = std::move(user);
            request.proxy_password = std::move(password);
            return request;
        };
        Request good = proxied(origin.url("/headers"), "gale", "s3cret");
        Response response = co_await client.fetch(std::move(good));
        CHECK(response.code == 200);
        CHECK_FALSE(contains(response.body, "Proxy-Authorization"));  // not passed on

        Request missing = proxied(origin.url("/headers"), "", "");
        Response refused = co_await client.fetch(std::move(missing), false);
        CHECK(refused.code == 407);

        std::string secure_url =
            "https://localhost:" + std::to_string(secure_origin.port) + "/hello";
        Request tunnel = proxied(secure_url, "gale", "wrong");
        tunnel.ca_certs = certs.ca_file;
        try {
            co_await client.fetch(std::move(tunnel));
            FAIL("expected HTTPProxyError");
        } catch (const gale::httpclient::HTTPProxyError& error) {
            CHECK(error.proxy_status() == 407);
            CHECK(contains(error.what(), "refused CONNECT localhost:"));
            CHECK(contains(error.what(), secure_url));
        }
        Request authorised = proxied(secure_url, "gale", "s3cret");
        authorised.ca_certs = certs.ca_file;
        Response secure = co_await client.fetch(std::move(authorised));
        CHECK(secure.body == "Hello, World!");
    };
    gale::test::run(body(certificates));
}

TEST_CASE("proxy: an unreachable proxy is a connection error", "[httpclient][proxy]") {
    auto body = []() -> gale::Task<void> {
        AsyncHTTPClient client;
        Request request("http://example.invalid/");
        request.proxy_host = "127.0.0.1";
        request.proxy_port = free_port();
        try {
            co_await client.fetch(std::move(request));
            FAIL("expected HTTPConnectionError");
        } catch (const gale::httpclient::HTTPConnectionError& error) {
            CHECK(
                contains(error.what(), "cannot connect to the proxy for http://example.invalid/"));
        }
    };
    gale::test::run(body());
}
