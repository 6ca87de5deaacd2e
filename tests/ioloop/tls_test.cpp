#include <gale/ioloop/combinators.hpp>
#include <gale/ioloop/tcp_client.hpp>
#include <gale/ioloop/tcp_server.hpp>
#include <gale/ioloop/tls.hpp>

#include <catch2/catch.hpp>

#include "support/helpers.hpp"

#include <unistd.h>

using namespace std::chrono_literals;

namespace {

gale::Task<void> echo_lines(gale::IOStream stream, gale::SocketAddress) {
    while (true) {
        std::string line;
        try {
            line = co_await stream.read_until("\n");
        } catch (const gale::StreamClosedError&) {
            co_return;
        }
        co_await stream.write(std::move(line));
    }
}

struct TlsFixture {
    gale::test::TemporaryDirectory directory;
    gale::test::Certificates certificates = gale::test::make_certificates(directory);

    gale::TLSContext server_context() const {
        gale::TLSServerOptions options;
        options.certificate_chain_file = certificates.certificate_file;
        options.private_key_file = certificates.key_file;
        options.alpn_protocols = {"h2", "http/1.1"};
        return gale::TLSContext::server(options);
    }

    gale::TLSContext client_context() const {
        gale::TLSClientOptions options;
        options.ca_file = certificates.ca_file;
        options.alpn_protocols = {"http/1.1"};
        return gale::TLSContext::client(options);
    }
};

}  // namespace

TEST_CASE_METHOD(TlsFixture, "TLS echo with a certificate made by the test", "[tls]") {
    auto body = [](gale::TLSContext server_tls, gale::TLSContext client_tls) -> gale::Task<void> {
        gale::TCPServerOptions server_options;
        server_options.tls = server_tls;
        gale::TCPServer server(echo_lines, server_options);
        auto port = server.listen(0, "127.0.0.1").front().port();
        gale::ConnectOptions options;
        options.tls = client_tls;
        gale::TCPClient client;
        gale::IOStream stream = co_await client.connect("localhost", port, options);
        CHECK(stream.is_tls());
        CHECK(stream.alpn_protocol() == "http/1.1");
        CHECK(stream.tls_version().rfind("TLSv1.", 0) == 0);
        std::string big(200'000, 'b');  // several TLS records each way
        co_await stream.write("hello\n");
        co_await stream.write(big + "\n");
        std::string first = co_await stream.read_until("\n");
        std::string second = co_await stream.read_until("\n", 300'000);
        CHECK(first == "hello\n");
        CHECK(second == big + "\n");
    };
    gale::test::run(body(server_context(), client_context()));
}

TEST_CASE_METHOD(TlsFixture, "a failed certificate check gives a clear error", "[tls]") {
    auto body = [](gale::TLSContext server_tls) -> gale::Task<void> {
        gale::TCPServerOptions server_options;
        server_options.tls = server_tls;
        gale::TCPServer server(echo_lines, server_options);
        auto port = server.listen(0, "127.0.0.1").front().port();
        gale::TCPClient client;
        // The system CA store does not know the test CA.
        gale::ConnectOptions untrusted;
        untrusted.tls = gale::TLSContext::client();
        try {
            co_await client.connect("localhost", port, untrusted);
            FAIL("connected to an untrusted server");
        } catch (const gale::TLSError& error) {
            std::string message = error.what();
            CHECK(message.find("certificate verification") != std::string::npos);
            CHECK(message.find("localhost") != std::string::npos);
        }
    };
    gale::test::run(body(server_context()));
}

TEST_CASE_METHOD(TlsFixture, "the host name must match the certificate", "[tls]") {
    auto body = [](gale::TLSContext server_tls, gale::TLSContext client_tls) -> gale::Task<void> {
        gale::TCPServerOptions server_options;
        server_options.tls = server_tls;
        gale::TCPServer server(echo_lines, server_options);
        auto port = server.listen(0, "127.0.0.1").front().port();
        gale::TCPClient client;
        gale::ConnectOptions wrong_name;
        wrong_name.tls = client_tls;
        wrong_name.server_hostname = "not-localhost.example";
        CHECK_THROWS_AS(co_await client.connect("127.0.0.1", port, wrong_name), gale::TLSError);
        gale::ConnectOptions by_ip;  // the certificate lists IP:127.0.0.1
        by_ip.tls = client_tls;
        auto stream = co_await client.connect("127.0.0.1", port, by_ip);
        CHECK(stream.is_tls());
    };
    gale::test::run(body(server_context(), client_context()));
}

TEST_CASE_METHOD(TlsFixture, "a TLS handshake with garbage fails cleanly on both sides", "[tls]") {
    auto body = [](gale::TLSContext server_tls) -> gale::Task<void> {
        auto [a, b] = gale::test::socket_pair();
        gale::IOStream server_side(a);
        gale::IOStream garbage_side(b);
        co_await garbage_side.write(std::string(64, '\x16') + "GET / HTTP/1.1\r\n\r\n");
        CHECK_THROWS_AS(co_await gale::with_timeout(5s, server_side.start_tls(server_tls, true)),
                        gale::TLSError);
        CHECK(server_side.closed());
        std::string rest = co_await garbage_side.read_until_close();  // an alert, then the close
        CHECK(rest.size() < 1024);
    };
    gale::test::run(body(server_context()));
}

TEST_CASE_METHOD(TlsFixture, "a peer closing during the handshake gives TLSError", "[tls]") {
    auto body = [](gale::TLSContext server_tls) -> gale::Task<void> {
        auto [a, b] = gale::test::socket_pair();
        gale::IOStream server_side(a);
        ::close(b);
        CHECK_THROWS_AS(co_await gale::with_timeout(5s, server_side.start_tls(server_tls, true)),
                        gale::TLSError);
    };
    gale::test::run(body(server_context()));
}

TEST_CASE_METHOD(TlsFixture, "mutual TLS: the server requires and verifies a client certificate",
                 "[tls]") {
    gale::test::TemporaryDirectory client_directory;
    auto client_certificates = gale::test::make_certificates(client_directory, "client");
    gale::TLSServerOptions server_options;
    server_options.certificate_chain_file = certificates.certificate_file;
    server_options.private_key_file = certificates.key_file;
    server_options.client_certificates = gale::TLSServerOptions::ClientCertificates::required;
    server_options.client_ca_file = client_certificates.ca_file;
    auto server_tls = gale::TLSContext::server(server_options);

    gale::TLSClientOptions with_certificate;
    with_certificate.ca_file = certificates.ca_file;
    with_certificate.certificate_chain_file = client_certificates.certificate_file;
    with_certificate.private_key_file = client_certificates.key_file;
    gale::TLSClientOptions without_certificate;
    without_certificate.ca_file = certificates.ca_file;

    auto body = [](gale::TLSContext server_context, gale::TLSContext good,
                   gale::TLSContext bad) -> gale::Task<void> {
        std::string subject;
        gale::TCPServerOptions options;
        options.tls = server_context;
        gale::TCPServer server(
            [&subject](gale::IOStream stream, gale::SocketAddress peer) -> gale::Task<void> {
                subject = stream.peer_certificate_subject();
                co_await echo_lines(std::move(stream), peer);
            },
            options);
        auto port = server.listen(0, "127.0.0.1").front().port();
        gale::TCPClient client;
        gale::ConnectOptions good_options;
        good_options.tls = good;
        auto stream = co_await client.connect("localhost", port, good_options);
        co_await stream.write("mtls\n");
        std::string reply = co_await stream.read_until("\n");
        CHECK(reply == "mtls\n");
        CHECK(subject.find("CN=client") != std::string::npos);

        gale::ConnectOptions bad_options;
        bad_options.tls = bad;
        bool refused = false;
        try {
            auto rejected = co_await client.connect("localhost", port, bad_options);
            // TLS 1.3: the client may finish its side first; the server's alert arrives next.
            co_await rejected.write("x\n");
            co_await rejected.read_until("\n");
        } catch (const gale::Error&) {
            refused = true;
        }
        CHECK(refused);
    };
    gale::test::run(body(server_tls, gale::TLSContext::client(with_certificate),
                         gale::TLSContext::client(without_certificate)));
}

TEST_CASE("loading a missing certificate names the file", "[tls]") {
    gale::TLSServerOptions options;
    options.certificate_chain_file = "/nonexistent/cert.pem";
    options.private_key_file = "/nonexistent/key.pem";
    try {
        gale::TLSContext::server(options);
        FAIL("loaded a missing certificate");
    } catch (const gale::TLSError& error) {
        CHECK(std::string(error.what()).find("/nonexistent/cert.pem") != std::string::npos);
    }
}
