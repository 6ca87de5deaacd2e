// Opening a connection for a fetch: direct or through an HTTP proxy (CONNECT for https),
// then TLS.

#include <gale/http/writer.hpp>
#include <gale/ioloop/combinators.hpp>
#include <gale/ioloop/tcp_client.hpp>
#include <gale/web/signed_value.hpp>

#include "httpclient/client_state.hpp"

#include <sys/socket.h>

namespace gale::httpclient::detail {

std::string basic_authorization(std::string_view user, std::string_view password) {
    std::string credentials;
    credentials.reserve(user.size() + password.size() + 1);
    credentials.append(user).append(":").append(password);
    return "Basic " + web::base64_encode(credentials);
}

TLSContext tls_context_for(ClientState& state, const HTTPRequest& request, const std::string& url) {
    if (request.tls_context) {
        return request.tls_context;
    }
    std::string key = std::string(request.validate_cert ? "1" : "0") + '\n' + request.ca_certs +
                      '\n' + request.client_cert + '\n' + request.client_key;
    auto found = state.tls_contexts.find(key);
    if (found != state.tls_contexts.end()) {
        return found->second;
    }
    TLSClientOptions options;
    options.verify_peer = request.validate_cert;
    options.ca_file = request.ca_certs;
    options.certificate_chain_file = request.client_cert;
    options.private_key_file = request.client_key;
    options.alpn_protocols = {"http/1.1"};
    TLSContext context;
    try {
        context = TLSContext::client(options);
    } catch (const TLSError& error) {
        throw HTTPTLSError(url, "TLS settings for " + url + ": " + error.what());
    }
    state.tls_contexts.emplace(std::move(key), context);
    return context;
}

namespace {

std::string endpoint(const std::string& host, std::uint16_t port) {
    std::string text = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return text + ":" + std::to_string(port);
}

// Reads the proxy's answer to CONNECT: a 2xx opens the tunnel; anything else is refused.
Task<void> open_tunnel(FetchContext* context, IOStream* stream) {
    const Target& target = context->target;
    std::string authority = endpoint(target.host, target.port);
    std::string head;
    http::append_request_line(head, "CONNECT", authority);
    http::append_field(head, "Host", authority);
    if (!target.proxy_authorization.empty()) {
        http::append_field(head, "Proxy-Authorization", target.proxy_authorization);
    }
    head += "\r\n";
    co_await stream->write(std::move(head));
    std::string proxy = endpoint(target.proxy_host, target.proxy_port);
    http::ParserLimits limits;
    limits.max_head_size = context->state->options.max_header_size;
    http::ResponseParser parser(limits);
    while (true) {
        // A response to CONNECT has no body: parse it as one to HEAD.
        http::ParseStatus status = parser.parse(stream->buffered(), true);
        if (status == http::ParseStatus::complete) {
            break;
        }
        if (status == http::ParseStatus::error) {
            throw HTTPProxyError(0, target.url_text,
                                 "proxy " + proxy + " sent a malformed answer to CONNECT " +
                                     authority + " for " + target.url_text + ": " +
                                     parser.error().reason);
        }
        if (!co_await stream->wait_for_data()) {
            throw HTTPProxyError(0, target.url_text,
                                 "proxy " + proxy + " closed the connection during CONNECT " +
                                     authority + " for " + target.url_text);
        }
    }
    int code = parser.head().status;
    if (code < 200 || code >= 300) {
        throw HTTPProxyError(code, target.url_text,
                             "proxy " + proxy + " refused CONNECT " + authority + " for " +
                                 target.url_text + ": " + std::to_string(code) + " " +
                                 std::string(parser.head().reason));
    }
    stream->consume(parser.head_size());
    if (!stream->buffered().empty()) {
        throw HTTPProxyError(code, target.url_text,
                             "proxy " + proxy + " sent data after accepting CONNECT " + authority);
    }
}

Task<IOStream> connect_and_handshake(FetchContext* context) {
    const Target& target = context->target;
    const HTTPRequest& request = *context->request;
    bool proxied = !target.proxy_host.empty();
    const std::string& host = proxied ? target.proxy_host : target.host;
    std::uint16_t port = proxied ? target.proxy_port : target.port;

    ConnectOptions options;
    options.timeout = std::chrono::hours(24);  // the fetch's own deadlines apply
    options.family = request.allow_ipv6 ? AF_UNSPEC : AF_INET;
    if (!request.network_interface.empty()) {
        options.source = SocketAddress::from_ip(request.network_interface, 0);
        if (!options.source) {
            throw InvalidRequestError(
                target.url_text,
                "network_interface '" + request.network_interface + "' is not an IP address");
        }
    }
    options.stream_options.max_buffer_size =
        std::max<std::size_t>(context->state->options.max_header_size * 2, 256 * 1024);

    context->phase = TimeoutPhase::connect;
    IOLoop::TimePoint begin = IOLoop::Clock::now();
    TCPClient client(context->state->options.resolver);
    IOStream stream;
    try {
        stream = co_await client.connect(host, port, options);
        if (proxied && target.tls) {
            context->phase = TimeoutPhase::proxy_connect;
            co_await open_tunnel(context, &stream);
        }
    } catch (const HTTPClientError&) {
        throw;
    } catch (const ResolveError& error) {
        throw HTTPConnectionError(
            target.url_text,
            "cannot resolve " + host + " for " + target.url_text + ": " + error.what(),
            std::current_exception());
    } catch (const ConnectError& error) {
        throw HTTPConnectionError(
            target.url_text,
            std::string(proxied ? "cannot connect to the proxy for " : "cannot connect for ") +
                target.url_text + ": " + error.what(),
            std::current_exception());
    } catch (const StreamClosedError& error) {
        throw HTTPProxyError(0, target.url_text,
                             "proxy " + endpoint(host, port) + " failed during CONNECT for " +
                                 target.url_text + ": " + error.what());
    } catch (const SystemError& error) {
        throw HTTPConnectionError(target.url_text,
                                  "cannot connect for " + target.url_text + ": " + error.what(),
                                  std::current_exception());
    }
    IOLoop::TimePoint connected = IOLoop::Clock::now();
    context->response.time_info.connect = connected - begin;
    if (target.tls) {
        context->phase = TimeoutPhase::tls_handshake;
        try {
            co_await stream.start_tls(context->tls_context, false, target.host);
        } catch (const TLSError& error) {
            throw HTTPTLSError(target.url_text,
                               "TLS handshake with " + endpoint(target.host, target.port) +
                                   " failed for " + target.url_text + ": " + error.what());
        } catch (const StreamClosedError& error) {
            throw HTTPTLSError(target.url_text,
                               "TLS handshake with " + endpoint(target.host, target.port) +
                                   " failed for " + target.url_text + ": " + error.what());
        }
        context->response.time_info.tls = IOLoop::Clock::now() - connected;
    }
    ++context->state->counters.connections_opened;
    co_return stream;
}

}  // namespace

Task<IOStream> open_connection(FetchContext* context) {
    IOLoop::Duration timeout = context->request->connect_timeout;
    if (timeout <= IOLoop::Duration::zero()) {
        co_return co_await connect_and_handshake(context);  // only the fetch's deadline
    }
    IOLoop::TimePoint deadline = IOLoop::Clock::now() + timeout;
    if (context->deadline) {
        deadline = std::min(deadline, *context->deadline);
    }
    co_return co_await with_deadline(deadline, connect_and_handshake(context));
}

}  // namespace gale::httpclient::detail
