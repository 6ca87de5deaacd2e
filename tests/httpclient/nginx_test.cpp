// The client against Debian's nginx serving a generated site over HTTP and HTTPS: nginx's
// access log ($connection, $connection_requests) proves the keep-alive pool reused its
// connections; gzip from nginx is decoded.
#include <gale/ioloop/combinators.hpp>

#include <catch2/catch.hpp>

#include "httpclient/support.hpp"

#include <map>
#include <set>

using namespace httpclient_test;
using gale::httpclient::AsyncHTTPClient;
using gale::httpclient::ClientOptions;
using Request = gale::httpclient::HTTPRequest;
using Response = gale::httpclient::HTTPResponse;

namespace {

void write_pages(const std::filesystem::path& site, int count) {
    for (int i = 0; i < count; ++i) {
        write_text_file((site / ("page" + std::to_string(i) + ".html")).string(),
                        "<html><body>page " + std::to_string(i) + "</body></html>\n");
    }
    std::string text;
    for (int i = 0; i < 20'000; ++i) {
        text += "line " + std::to_string(i) + "\n";
    }
    write_text_file((site / "big.txt").string(), text);
}

// Fetches /page0 .. /page{count-1} with `concurrency` tasks sharing one client.
gale::Task<void> fetch_pages(AsyncHTTPClient* client, std::function<std::string(int)> url_of,
                             int count, int concurrency, std::string ca_file) {
    int next = 0;
    auto worker = [](AsyncHTTPClient* shared, std::function<std::string(int)>* urls, int* cursor,
                     int total, std::string ca) -> gale::Task<void> {
        while (*cursor < total) {
            int index = (*cursor)++;
            Request request((*urls)(index));
            request.ca_certs = ca;
            Response response = co_await shared->fetch(std::move(request));
            CHECK(response.body ==
                  "<html><body>page " + std::to_string(index) + "</body></html>\n");
        }
    };
    gale::TaskGroup group;
    for (int i = 0; i < concurrency; ++i) {
        group.spawn(worker(client, &url_of, &next, count, ca_file));
    }
    co_await group.join();
}

// Distinct connections in the log, and the most requests one of them served.
std::pair<std::size_t, long> connection_usage(const std::vector<Nginx::LogLine>& log) {
    std::set<std::string> connections;
    long most = 0;
    for (const auto& line : log) {
        connections.insert(line.connection);
        most = std::max(most, line.request_on_connection);
    }
    return {connections.size(), most};
}

}  // namespace

TEST_CASE("nginx over HTTP: 400 requests on 4 kept-alive connections", "[httpclient][nginx]") {
    if (!Nginx::available()) {
        WARN("nginx is not installed");
        return;
    }
    auto body = []() -> gale::Task<void> {
        Nginx nginx;
        write_pages(nginx.site(), 400);
        ClientOptions options;
        options.max_clients = 16;
        options.max_connections_per_host = 4;
        AsyncHTTPClient client(options);
        auto url_of = [&nginx](int i) { return nginx.url("/page" + std::to_string(i) + ".html"); };
        co_await fetch_pages(&client, url_of, 400, 16, "");
        auto log = nginx.access_log(400);
        CHECK(log.size() == 400);
        auto [connections, most] = connection_usage(log);
        CHECK(connections == 4);
        CHECK(most >= 50);
        CHECK(client.stats().connections_opened == 4);
        CHECK(client.stats().connections_reused == 396);

        Response big = co_await client.fetch(nginx.url("/big.txt"));
        CHECK(big.headers.get_or("content-encoding", "") == "gzip");
        CHECK(big.body == read_text_file((nginx.site() / "big.txt").string()));
        try {
            co_await client.fetch(nginx.url("/missing.html"));
            FAIL("expected HTTPStatusError");
        } catch (const gale::httpclient::HTTPStatusError& error) {
            CHECK(error.code() == 404);
            CHECK(error.response().body.find("nginx") != std::string::npos);
        }
        Request head(nginx.url("/big.txt"), "HEAD");
        Response head_response = co_await client.fetch(std::move(head));
        CHECK(head_response.body.empty());
        CHECK(client.stats().connections_opened == 4);  // 404 and HEAD kept the connection
    };
    gale::test::run(body());
}

TEST_CASE("nginx over HTTPS: verified, kept alive", "[httpclient][nginx][tls]") {
    if (!Nginx::available()) {
        WARN("nginx is not installed");
        return;
    }
    gale::test::TemporaryDirectory directory;
    auto certificates = gale::test::make_certificates(directory);
    auto body = [](gale::test::Certificates certs) -> gale::Task<void> {
        Nginx nginx(certs);
        write_pages(nginx.site(), 200);
        ClientOptions options;
        options.max_clients = 8;
        options.max_connections_per_host = 2;
        AsyncHTTPClient client(options);
        auto url_of = [&nginx](int i) {
            return nginx.https_url("/page" + std::to_string(i) + ".html");
        };
        co_await fetch_pages(&client, url_of, 200, 8, certs.ca_file);
        auto log = nginx.access_log(200);
        CHECK(log.size() == 200);
        auto [connections, most] = connection_usage(log);
        CHECK(connections == 2);
        CHECK(most >= 50);
        CHECK(client.stats().connections_opened == 2);
    };
    gale::test::run(body(certificates));
}
