#pragma once
/// TLS configuration: `TLSContext` wraps an OpenSSL `SSL_CTX` built from plain options.
///
/// Secure by default: TLS 1.2 minimum, no compression, and clients verify the server's
/// certificate against the system CA store and check its host name.
///
/// ```
/// auto server = gale::TLSContext::server({.certificate_chain_file = "cert.pem",
///                                         .private_key_file = "key.pem"});
/// auto client = gale::TLSContext::client();            // system CAs, hostname check
/// co_await stream.start_tls(client, false, "example.com");
/// ```

#include <gale/ioloop/errors.hpp>

#include <memory>
#include <string>
#include <vector>

struct ssl_ctx_st;

namespace gale {

/// A TLS handshake or record failed; the message says why (e.g. the certificate check).
class TLSError : public Error {
  public:
    using Error::Error;
};

enum class TLSVersion { tls1_2, tls1_3 };

/// What a client demands of the server's certificate.
struct TLSClientOptions {
    TLSClientOptions() = default;  // not an aggregate: see docs/pitfalls.md (GCC 12)
    /// Verify the certificate chain and the host name (turn off only for tests).
    bool verify_peer = true;
    /// PEM bundle of trusted CAs; empty: the system store.
    std::string ca_file{};
    /// Client certificate and key for mutual TLS (PEM files), optional.
    std::string certificate_chain_file{};
    std::string private_key_file{};
    /// ALPN protocols offered, in preference order ("h2", "http/1.1").
    std::vector<std::string> alpn_protocols{};
    TLSVersion minimum_version = TLSVersion::tls1_2;
};

struct TLSServerOptions {
    TLSServerOptions() = default;  // not an aggregate: see docs/pitfalls.md (GCC 12)
    std::string certificate_chain_file{};
    std::string private_key_file{};
    /// Client certificates: `none` asks for none, `optional` verifies one if sent,
    /// `required` refuses clients without a valid one (mutual TLS).
    enum class ClientCertificates { none, optional, required };
    ClientCertificates client_certificates = ClientCertificates::none;
    /// CAs that sign acceptable client certificates (PEM bundle).
    std::string client_ca_file{};
    /// ALPN protocols the server accepts, in preference order.
    std::vector<std::string> alpn_protocols{};
    TLSVersion minimum_version = TLSVersion::tls1_2;
    /// Further certificates chosen by SNI: host name -> (chain file, key file).
    struct NamedCertificate {
        std::string server_name{};
        std::string certificate_chain_file{};
        std::string private_key_file{};
    };
    std::vector<NamedCertificate> sni_certificates{};
};

/// A shared, immutable TLS configuration; cheap to copy.
class TLSContext {
  public:
    /// Throws `TLSError` naming the file when a certificate or key cannot be loaded.
    static TLSContext server(const TLSServerOptions& options);
    static TLSContext client(const TLSClientOptions& options = {});

    TLSContext() = default;
    explicit operator bool() const noexcept { return static_cast<bool>(state_); }

    bool verifies_peer() const noexcept;
    ssl_ctx_st* native_handle() const noexcept;

    struct State;

  private:
    explicit TLSContext(std::shared_ptr<State> state) : state_(std::move(state)) {}
    std::shared_ptr<State> state_;
};

}  // namespace gale
