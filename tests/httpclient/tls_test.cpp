// HTTPS through the core's TLS: CA files, hostname verification, SNI, client certificates,
// and connection reuse over TLS. The server is a gale HTTPServer with certificates made by
// the test.
#include <catch2/catch.hpp>

#include "httpclient/support.hpp"

using namespace httpclient_test;
using gale::httpclient::AsyncHTTPClient;
using gale::httpclient::ClientOptions;
using Request = gale::httpclient::HTTPRequest;
using Response = gale::httpclient::HTTPResponse;

namespace {

struct TLSServer {
    explicit TLSServer(const gale::TLSServerOptions& tls_options) {
        auto options = LocalServer::default_options();
        options.tcp.tls = gale::TLSContext::server(tls_options);
        server = std::make_unique<gale::http::HTTPServer>(local_handler, options);
        port = server->listen(0, "127.0.0.1").front().port();
    }
    std::string url(const std::string& host, const std::string& path) const {
        return "https://" + host + ":" + std::to_string(port) + path;
    }
    std::unique_ptr<gale::http::HTTPServer> server;
    std::uint16_t port = 0;
};

gale::TLSServerOptions server_options(const gale::test::Certificates& certificates) {
    gale::TLSServerOptions options;
    options.certificate_chain_file = certificates.certificate_file;
    options.private_key_file = certificates.key_file;
    return options;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("https: verified with the test CA, timed, and kept alive", "[httpclient][tls]") {
    gale::test::TemporaryDirectory directory;
    auto certificates = gale::test::make_certificates(directory);
    auto body = [](gale::test::Certificates certs) -> gale::Task<void> {
        TLSServer server(server_options(certs));
        AsyncHTTPClient client;
        for (int i = 0; i < 3; ++i) {
            Request request(server.url("localhost", "/peer"));
            request.ca_certs = certs.ca_file;
            Response response = co_await client.fetch(std::move(request));
            CHECK(response.code == 200);
            if (i == 0) {
                CHECK(response.time_info.tls > gale::IOLoop::Duration::zero());
            } else {
                CHECK(response.reused_connection);
                CHECK(response.time_info.tls == gale::IOLoop::Duration::zero());
            }
        }
        CHECK(client.stats().connections_opened == 1);
        // By IP address: the certificate names 127.0.0.1 too.
        Request by_ip(server.url("127.0.0.1", "/hello"));
        by_ip.ca_certs = certs.ca_file;
        Response ip_response = co_await client.fetch(std::move(by_ip));
        CHECK(ip_response.body == "Hello, World!");
    };
    gale::test::run(body(certificates));
}

TEST_CASE("https: an untrusted certificate or a wrong name is a TLS error naming the URL",
          "[httpclient][tls]") {
    gale::test::TemporaryDirectory directory;
    gale::test::TemporaryDirectory other_directory;
    auto certificates = gale::test::make_certificates(directory);
    auto other =
        gale::test::make_certificates(other_directory, "other.example", {"DNS:other.example"});
    auto body = [](gale::test::Certificates certs,
                   gale::test::Certificates wrong_name) -> gale::Task<void> {
        AsyncHTTPClient client;
        {
            TLSServer server(server_options(certs));
            std::string url = server.url("localhost", "/hello");
            try {
                co_await client.fetch(url);  // the system store does not know the test CA
                FAIL("expected HTTPTLSError");
            } catch (const gale::httpclient::HTTPTLSError& error) {
                CHECK(contains(error.what(), url));
                CHECK(contains(error.what(), "verif"));
            }
            Request unchecked(url);
            unchecked.validate_cert = false;
            Response response = co_await client.fetch(std::move(unchecked));
            CHECK(response.body == "Hello, World!");
        }
        {
            TLSServer server(server_options(wrong_name));
            Request request(server.url("localhost", "/hello"));
            request.ca_certs = wrong_name.ca_file;
            try {
                co_await client.fetch(std::move(request));
                FAIL("expected HTTPTLSError");
            } catch (const gale::httpclient::HTTPTLSError& error) {
                CHECK(contains(error.what(), "localhost"));
            }
        }
        Request missing("https://localhost:1/");
        missing.ca_certs = "/nonexistent/ca.pem";
        try {
            co_await client.fetch(std::move(missing));
            FAIL("expected HTTPTLSError");
        } catch (const gale::httpclient::HTTPTLSError& error) {
            CHECK(contains(error.what(), "/nonexistent/ca.pem"));
        }
    };
    gale::test::run(body(certificates, other));
}

TEST_CASE("https: SNI picks the server's certificate for the requested name", "[httpclient][tls]") {
    gale::test::TemporaryDirectory default_directory;
    gale::test::TemporaryDirectory named_directory;
    auto fallback = gale::test::make_certificates(default_directory);
    auto named = gale::test::make_certificates(named_directory, "gale.test", {"DNS:gale.test"});
    auto body = [](gale::test::Certificates default_certs,
                   gale::test::Certificates named_certs) -> gale::Task<void> {
        auto options = server_options(default_certs);
        gale::TLSServerOptions::NamedCertificate entry;
        entry.server_name = "gale.test";
        entry.certificate_chain_file = named_certs.certificate_file;
        entry.private_key_file = named_certs.key_file;
        options.sni_certificates.push_back(entry);
        TLSServer server(options);
        std::map<std::string, gale::OverrideResolver::Target> hosts;
        hosts["gale.test"] = gale::OverrideResolver::Target{"127.0.0.1", 0};
        ClientOptions client_options;
        client_options.resolver =
            std::make_shared<gale::OverrideResolver>(gale::default_resolver(), hosts);
        AsyncHTTPClient client(client_options);
        // Only the named certificate's CA is trusted: this works only if SNI was sent.
        Request request(server.url("gale.test", "/headers"));
        request.ca_certs = named_certs.ca_file;
        Response response = co_await client.fetch(std::move(request));
        CHECK(response.code == 200);
        CHECK(contains(response.body, "Host: gale.test:" + std::to_string(server.port)));
    };
    gale::test::run(body(fallback, named));
}

TEST_CASE("https: client certificates for a server that requires them", "[httpclient][tls]") {
    gale::test::TemporaryDirectory server_directory;
    gale::test::TemporaryDirectory client_directory;
    auto server_certs = gale::test::make_certificates(server_directory);
    auto client_certs =
        gale::test::make_certificates(client_directory, "gale client", {"DNS:client.gale.test"});
    auto body = [](gale::test::Certificates server_side,
                   gale::test::Certificates client_side) -> gale::Task<void> {
        auto options = server_options(server_side);
        options.client_certificates = gale::TLSServerOptions::ClientCertificates::required;
        options.client_ca_file = client_side.ca_file;
        TLSServer server(options);
        AsyncHTTPClient client;
        Request with_certificate(server.url("localhost", "/hello"));
        with_certificate.ca_certs = server_side.ca_file;
        with_certificate.client_cert = client_side.certificate_file;
        with_certificate.client_key = client_side.key_file;
        Response response = co_await client.fetch(std::move(with_certificate));
        CHECK(response.body == "Hello, World!");

        Request without(server.url("localhost", "/hello"));
        without.ca_certs = server_side.ca_file;
        try {
            co_await client.fetch(std::move(without));
            FAIL("expected an error");
        } catch (const gale::httpclient::HTTPClientError& error) {
            // TLS 1.3 reports the refusal after the handshake, on the first read.
            bool typed =
                dynamic_cast<const gale::httpclient::HTTPTLSError*>(&error) != nullptr ||
                dynamic_cast<const gale::httpclient::HTTPConnectionError*>(&error) != nullptr;
            CHECK(typed);
            CHECK(error.code() == 599);
            INFO(error.what());
            CHECK(contains(error.what(), server.url("localhost", "/hello")));
        }
    };
    gale::test::run(body(server_certs, client_certs));
}
