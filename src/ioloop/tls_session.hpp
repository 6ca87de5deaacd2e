#pragma once
// One TLS connection's engine: OpenSSL over memory BIOs, so the same code runs on both
// backends. Ciphertext from the socket goes in with `receive`, plaintext comes out into the
// stream's input buffer; plaintext written goes in with `send`, ciphertext comes out with
// `drain_output` into the stream's write queue.

#include <gale/ioloop/tls.hpp>

#include "ioloop/byte_buffer.hpp"
#include "ioloop/write_queue.hpp"

#include <openssl/ssl.h>

#include <cstdint>
#include <string>

namespace gale::detail {

class TlsSession {
  public:
    TlsSession(const TLSContext& context, bool server_side, const std::string& server_hostname);
    ~TlsSession();
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;

    enum class Status { ok, peer_closed, failed };

    /// Feeds ciphertext; appends the plaintext it yields to `plaintext` and counts it in
    /// `appended`.
    Status receive(const char* data, std::size_t count, ByteBuffer& plaintext,
                   std::uint64_t& appended);
    /// Encrypts application data; false (see `error_message`) on failure.
    bool send(std::string_view plaintext);
    /// Moves the ciphertext produced so far to `output`.
    void drain_output(WriteQueue& output);
    /// Starts the handshake (a client's ClientHello); the rest is driven by `receive`.
    Status begin_handshake();
    /// Queues a close_notify alert.
    void shutdown() noexcept;

    bool handshake_complete() const noexcept { return handshake_complete_; }
    const std::string& error_message() const noexcept { return error_; }

    std::string alpn_protocol() const;
    std::string version() const;
    std::string peer_certificate_subject() const;

  private:
    Status advance_handshake();
    Status read_plaintext(ByteBuffer& plaintext, std::uint64_t& appended);
    Status failure(const char* operation, int ssl_result);

    SSL* ssl_ = nullptr;
    BIO* network_in_ = nullptr;   // ciphertext from the peer, owned by ssl_
    BIO* network_out_ = nullptr;  // ciphertext for the peer, owned by ssl_
    bool handshake_complete_ = false;
    std::string server_hostname_;
    std::string error_;
};

}  // namespace gale::detail
