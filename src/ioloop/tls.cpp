// TLSContext, TLS sessions over memory BIOs, and IOStream's TLS entry points.

#include <gale/ioloop/iostream.hpp>
#include <gale/ioloop/tls.hpp>

#include "ioloop/stream_core.hpp"
#include "ioloop/tls_session.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <map>

namespace gale {

namespace {

using ContextPointer = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

std::string openssl_errors() {
    std::string text;
    while (unsigned long code = ERR_get_error()) {
        char buffer[256];
        ERR_error_string_n(code, buffer, sizeof buffer);
        if (!text.empty()) {
            text += "; ";
        }
        text += buffer;
    }
    return text.empty() ? "unknown OpenSSL error" : text;
}

int to_openssl(TLSVersion version) {
    return version == TLSVersion::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

// ALPN's wire format: each protocol prefixed by its length.
std::vector<unsigned char> alpn_wire(const std::vector<std::string>& protocols) {
    std::vector<unsigned char> wire;
    for (const std::string& protocol : protocols) {
        if (protocol.empty() || protocol.size() > 255) {
            throw TLSError("invalid ALPN protocol name '" + protocol + "'");
        }
        wire.push_back(static_cast<unsigned char>(protocol.size()));
        wire.insert(wire.end(), protocol.begin(), protocol.end());
    }
    return wire;
}

ContextPointer new_context(bool server, TLSVersion minimum) {
    ContextPointer context(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()),
                           &SSL_CTX_free);
    if (!context) {
        throw TLSError("SSL_CTX_new: " + openssl_errors());
    }
    SSL_CTX_set_min_proto_version(context.get(), to_openssl(minimum));
    SSL_CTX_set_options(context.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    // Idle connections give their record buffers back: matters with many TLS connections.
    SSL_CTX_set_mode(context.get(), SSL_MODE_RELEASE_BUFFERS);
    return context;
}

void load_certificate(SSL_CTX* context, const std::string& chain, const std::string& key) {
    if (SSL_CTX_use_certificate_chain_file(context, chain.c_str()) != 1) {
        throw TLSError("cannot load certificate chain '" + chain + "': " + openssl_errors());
    }
    if (SSL_CTX_use_PrivateKey_file(context, key.c_str(), SSL_FILETYPE_PEM) != 1) {
        throw TLSError("cannot load private key '" + key + "': " + openssl_errors());
    }
    if (SSL_CTX_check_private_key(context) != 1) {
        throw TLSError("private key '" + key + "' does not match certificate '" + chain + "'");
    }
}

}  // namespace

struct TLSContext::State {
    ContextPointer context{nullptr, &SSL_CTX_free};
    bool server = false;
    bool verify_peer = false;
    std::vector<unsigned char> alpn;
    std::map<std::string, ContextPointer, std::less<>> named;  // SNI name -> context
};

namespace {

int select_alpn(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
                unsigned int in_length, void* argument) {
    auto* state = static_cast<TLSContext::State*>(argument);
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, out_length, state->alpn.data(),
                              static_cast<unsigned>(state->alpn.size()), in,
                              in_length) != OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

int select_certificate(SSL* ssl, int*, void* argument) {
    auto* state = static_cast<TLSContext::State*>(argument);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (name == nullptr) {
        return SSL_TLSEXT_ERR_OK;
    }
    auto found = state->named.find(std::string_view(name));
    if (found != state->named.end()) {
        SSL_set_SSL_CTX(ssl, found->second.get());
    }
    return SSL_TLSEXT_ERR_OK;
}

}  // namespace

TLSContext TLSContext::server(const TLSServerOptions& options) {
    auto state = std::make_shared<State>();
    state->server = true;
    state->context = new_context(true, options.minimum_version);
    SSL_CTX* context = state->context.get();
    load_certificate(context, options.certificate_chain_file, options.private_key_file);
    if (options.client_certificates != TLSServerOptions::ClientCertificates::none) {
        if (!options.client_ca_file.empty()) {
            if (SSL_CTX_load_verify_locations(context, options.client_ca_file.c_str(), nullptr) !=
                1) {
                throw TLSError("cannot load client CA file '" + options.client_ca_file +
                               "': " + openssl_errors());
            }
            SSL_CTX_set_client_CA_list(context,
                                       SSL_load_client_CA_file(options.client_ca_file.c_str()));
        }
        int mode = SSL_VERIFY_PEER;
        if (options.client_certificates == TLSServerOptions::ClientCertificates::required) {
            mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        }
        SSL_CTX_set_verify(context, mode, nullptr);
        state->verify_peer = true;
    }
    if (!options.alpn_protocols.empty()) {
        state->alpn = alpn_wire(options.alpn_protocols);
        SSL_CTX_set_alpn_select_cb(context, &select_alpn, state.get());
    }
    for (const auto& named : options.sni_certificates) {
        ContextPointer extra = new_context(true, options.minimum_version);
        load_certificate(extra.get(), named.certificate_chain_file, named.private_key_file);
        if (!state->alpn.empty()) {
            SSL_CTX_set_alpn_select_cb(extra.get(), &select_alpn, state.get());
        }
        state->named.emplace(named.server_name, std::move(extra));
    }
    if (!state->named.empty()) {
        // The macro SSL_CTX_set_tlsext_servername_callback, without its C-style cast.
        SSL_CTX_callback_ctrl(context, SSL_CTRL_SET_TLSEXT_SERVERNAME_CB,
                              reinterpret_cast<void (*)()>(&select_certificate));
        SSL_CTX_set_tlsext_servername_arg(context, state.get());
    }
    return TLSContext(std::move(state));
}

TLSContext TLSContext::client(const TLSClientOptions& options) {
    auto state = std::make_shared<State>();
    state->context = new_context(false, options.minimum_version);
    SSL_CTX* context = state->context.get();
    state->verify_peer = options.verify_peer;
    if (options.verify_peer) {
        int loaded = options.ca_file.empty()
                         ? SSL_CTX_set_default_verify_paths(context)
                         : SSL_CTX_load_verify_locations(context, options.ca_file.c_str(), nullptr);
        if (loaded != 1) {
            throw TLSError(
                "cannot load CA certificates" +
                (options.ca_file.empty() ? std::string() : " '" + options.ca_file + "'") + ": " +
                openssl_errors());
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
    } else {
        SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nullptr);
    }
    if (!options.certificate_chain_file.empty()) {
        load_certificate(context, options.certificate_chain_file, options.private_key_file);
    }
    if (!options.alpn_protocols.empty()) {
        state->alpn = alpn_wire(options.alpn_protocols);
        SSL_CTX_set_alpn_protos(context, state->alpn.data(),
                                static_cast<unsigned>(state->alpn.size()));
    }
    return TLSContext(std::move(state));
}

bool TLSContext::verifies_peer() const noexcept {
    return state_ && state_->verify_peer;
}

ssl_ctx_st* TLSContext::native_handle() const noexcept {
    return state_ ? state_->context.get() : nullptr;
}

// --- TlsSession --------------------------------------------------------------------------

namespace detail {

TlsSession::TlsSession(const TLSContext& context, bool server_side,
                       const std::string& server_hostname)
    : server_hostname_(server_hostname) {
    ssl_ = SSL_new(context.native_handle());
    if (ssl_ == nullptr) {
        throw TLSError("SSL_new: " + openssl_errors());
    }
    network_in_ = BIO_new(BIO_s_mem());
    network_out_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(network_in_, -1);  // empty means "wait", not end of stream
    SSL_set_bio(ssl_, network_in_, network_out_);
    if (server_side) {
        SSL_set_accept_state(ssl_);
        return;
    }
    SSL_set_connect_state(ssl_);
    if (server_hostname.empty()) {
        if (context.verifies_peer()) {
            throw TLSError("TLS client: a server hostname is needed to verify the certificate");
        }
        return;
    }
    unsigned char address[16];
    bool is_ip = inet_pton(AF_INET, server_hostname.c_str(), address) == 1 ||
                 inet_pton(AF_INET6, server_hostname.c_str(), address) == 1;
    if (!is_ip) {
        // SNI is for names only (the macro SSL_set_tlsext_host_name, without its C cast).
        SSL_ctrl(ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(server_hostname.c_str()));
    }
    if (context.verifies_peer()) {
        X509_VERIFY_PARAM* parameters = SSL_get0_param(ssl_);
        X509_VERIFY_PARAM_set_hostflags(parameters, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        int set = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(parameters, server_hostname.c_str())
                        : X509_VERIFY_PARAM_set1_host(parameters, server_hostname.c_str(), 0);
        if (set != 1) {
            throw TLSError("cannot set the TLS host name check for '" + server_hostname + "'");
        }
    }
}

TlsSession::~TlsSession() {
    SSL_free(ssl_);
}

TlsSession::Status TlsSession::begin_handshake() {
    return advance_handshake();
}

TlsSession::Status TlsSession::failure(const char* operation, int ssl_result) {
    int code = SSL_get_error(ssl_, ssl_result);
    long verify = SSL_get_verify_result(ssl_);
    std::string peer =
        server_hostname_.empty() ? std::string("the peer") : "'" + server_hostname_ + "'";
    if (verify != X509_V_OK) {
        error_ = "TLS certificate verification of " + peer +
                 " failed: " + X509_verify_cert_error_string(verify);
    } else if (code == SSL_ERROR_SSL) {
        error_ = std::string("TLS ") + operation + " with " + peer + " failed: " + openssl_errors();
    } else {
        error_ = std::string("TLS ") + operation + " with " + peer + " failed (SSL error " +
                 std::to_string(code) + ")";
    }
    ERR_clear_error();
    return Status::failed;
}

TlsSession::Status TlsSession::advance_handshake() {
    int result = SSL_do_handshake(ssl_);
    if (result == 1) {
        handshake_complete_ = true;
        return Status::ok;
    }
    int code = SSL_get_error(ssl_, result);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
        return Status::ok;
    }
    return failure("handshake", result);
}

TlsSession::Status TlsSession::receive(const char* data, std::size_t count, ByteBuffer& plaintext,
                                       std::uint64_t& appended) {
    BIO_write(network_in_, data, static_cast<int>(count));
    if (!handshake_complete_) {
        Status status = advance_handshake();
        if (status != Status::ok || !handshake_complete_) {
            return status;
        }
    }
    return read_plaintext(plaintext, appended);
}

TlsSession::Status TlsSession::read_plaintext(ByteBuffer& plaintext, std::uint64_t& appended) {
    constexpr std::size_t chunk = 16 * 1024;
    while (true) {
        char* space = plaintext.prepare(chunk);
        std::size_t got = 0;
        int result = SSL_read_ex(ssl_, space, chunk, &got);
        if (result == 1) {
            plaintext.commit(got);
            appended += got;
            continue;
        }
        int code = SSL_get_error(ssl_, result);
        if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
            return Status::ok;
        }
        if (code == SSL_ERROR_ZERO_RETURN) {
            return Status::peer_closed;
        }
        return failure("read", result);
    }
}

bool TlsSession::send(std::string_view plaintext) {
    while (!plaintext.empty()) {
        std::size_t written = 0;
        int result = SSL_write_ex(ssl_, plaintext.data(), plaintext.size(), &written);
        if (result != 1) {
            failure("write", result);
            return false;
        }
        plaintext.remove_prefix(written);
    }
    return true;
}

void TlsSession::drain_output(WriteQueue& output) {
    std::size_t pending = BIO_ctrl_pending(network_out_);
    if (pending == 0) {
        return;
    }
    std::string bytes(pending, '\0');
    int got = BIO_read(network_out_, bytes.data(), static_cast<int>(pending));
    bytes.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
    output.push(std::move(bytes));
}

void TlsSession::shutdown() noexcept {
    if (handshake_complete_) {
        SSL_shutdown(ssl_);
    }
    ERR_clear_error();
}

std::string TlsSession::alpn_protocol() const {
    const unsigned char* data = nullptr;
    unsigned int length = 0;
    SSL_get0_alpn_selected(ssl_, &data, &length);
    return std::string(reinterpret_cast<const char*>(data), length);
}

std::string TlsSession::version() const {
    return SSL_get_version(ssl_);
}

std::string TlsSession::peer_certificate_subject() const {
    X509* certificate = SSL_get1_peer_certificate(ssl_);
    if (certificate == nullptr) {
        return {};
    }
    char* line = X509_NAME_oneline(X509_get_subject_name(certificate), nullptr, 0);
    std::string subject = line != nullptr ? line : "";
    OPENSSL_free(line);
    X509_free(certificate);
    return subject;
}

// --- the handshake from the stream's side ---------------------------------------------------

bool HandshakeWaiter::suspend(std::coroutine_handle<> caller, CancellationScope* scope) {
    if (!attach(scope, &HandshakeWaiter::on_cancel)) {
        cancelled = true;
        return false;
    }
    handle = caller;
    core->handshake_waiter = this;
    return true;
}

void HandshakeWaiter::on_cancel(CancellationCallback& callback) noexcept {
    auto& self = static_cast<HandshakeWaiter&>(callback);
    if (self.core->handshake_waiter == &self) {
        self.core->handshake_waiter = nullptr;
    }
    self.cancelled = true;
    self.core->internals.post(self.handle);
}

void HandshakeWaiter::await_resume() {
    detach();
    if (cancelled) {
        throw OperationCancelled();
    }
}

namespace {

Task<void> handshake(StreamRef core, TLSContext context, bool server_side, std::string hostname) {
    if (core->tls) {
        throw TLSError("start_tls: the stream already uses TLS");
    }
    if (core->user_visible_closed()) {
        throw core->closed_error();
    }
    if (!core->buffered().empty() || core->pending_output() != 0) {
        throw TLSError("start_tls: the stream must be idle (no buffered or queued data)");
    }
    core->tls = std::make_unique<TlsSession>(context, server_side, hostname);
    if (core->tls->begin_handshake() == TlsSession::Status::failed) {
        auto error = TLSError(core->tls->error_message());
        core->fail(std::make_exception_ptr(error), true);
        throw error;
    }
    core->queue_tls_output();
    // Bytes from the peer drive the handshake (StreamCore::deliver); wait for each batch.
    while (!core->tls->handshake_complete()) {
        if (core->failure) {
            std::rethrow_exception(core->failure);
        }
        if (core->input_ended()) {
            std::string peer = SocketAddress::peer_of(core->fd).to_string();
            core->abort();
            throw TLSError("TLS handshake with " + peer +
                           ": connection closed before the handshake finished");
        }
        HandshakeWaiter waiter;
        waiter.core = core.get();
        co_await waiter;
    }
}

}  // namespace
}  // namespace detail

Task<void> IOStream::start_tls(TLSContext context, bool server_side, std::string server_hostname) {
    if (!context) {
        throw TLSError("start_tls: empty TLSContext");
    }
    return detail::handshake(core_, std::move(context), server_side, std::move(server_hostname));
}

bool IOStream::is_tls() const noexcept {
    return core_ && core_->tls != nullptr;
}

std::string IOStream::alpn_protocol() const {
    return is_tls() ? core_->tls->alpn_protocol() : std::string();
}

std::string IOStream::tls_version() const {
    return is_tls() ? core_->tls->version() : std::string();
}

std::string IOStream::peer_certificate_subject() const {
    return is_tls() ? core_->tls->peer_certificate_subject() : std::string();
}

}  // namespace gale
