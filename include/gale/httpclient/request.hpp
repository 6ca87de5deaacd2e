#pragma once
/// `HTTPRequest`: everything `AsyncHTTPClient::fetch` needs to know about one request.
///
/// Tornado's fields, where they make sense in C++. Fill it field by field (it is not an
/// aggregate, see docs/pitfalls.md):
///
/// ```
/// gale::httpclient::HTTPRequest request("https://example.com/upload", "POST");
/// request.headers.set("Content-Type", "application/json");
/// request.body = R"({"name": "gale"})";
/// request.request_timeout = std::chrono::seconds(5);
/// auto response = co_await client.fetch(std::move(request));
/// ```
///
/// Timeouts of zero mean "none". Callbacks are called on the loop, from inside `fetch`.

#include <gale/http/headers.hpp>
#include <gale/ioloop/ioloop.hpp>
#include <gale/ioloop/tls.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace gale::httpclient {

namespace detail {
class BodySink;
}

/// Handed to a `body_producer`: writes the request body piece by piece. Valid until the
/// producer's task finishes; do not keep it beyond.
class BodyWriter {
  public:
    explicit BodyWriter(detail::BodySink& sink) noexcept : sink_(&sink) {}
    /// Sends `data` (as one chunk when the body is chunked). Waits while the connection is
    /// behind (backpressure). Throws `InvalidRequestError` when more than the declared
    /// `body_size` would be sent, and `HTTPConnectionError` when the connection fails.
    Task<void> write(std::string data);

  private:
    detail::BodySink* sink_;
};

class HTTPRequest {
  public:
    HTTPRequest() = default;  // not an aggregate: see docs/pitfalls.md (GCC 12)
    explicit HTTPRequest(std::string request_url, std::string request_method = "GET")
        : url(std::move(request_url)), method(std::move(request_method)) {}

    /// http:// or https://, optionally with user:password@ (used for basic auth).
    std::string url;
    std::string method = "GET";
    /// Sent as given, after the client's own fields (Host, User-Agent, Accept-Encoding,
    /// Content-Length, ...); a field set here replaces the client's. CR, LF or NUL in a value
    /// is an `InvalidRequestError`. The client never modifies this object.
    http::HTTPHeaders headers;

    // --- body -----------------------------------------------------------------------------
    /// A fixed body (sent with Content-Length). POST, PUT and PATCH need a body (possibly
    /// empty) or a producer; other methods may not have one, unless
    /// `allow_nonstandard_methods`.
    std::optional<std::string> body;
    /// A body written as it is produced: with `body_size` it is sent with that Content-Length,
    /// otherwise chunked. Called once per attempt (again after a 307/308 redirect).
    std::function<Task<void>(BodyWriter writer)> body_producer;
    std::optional<std::uint64_t> body_size;
    /// Send `Expect: 100-continue` and the body only after the server's `100 Continue`; a
    /// final answer before it (e.g. 403) means the body is never produced.
    bool expect_100_continue = false;
    /// Allow any token as method and lift the body checks.
    bool allow_nonstandard_methods = false;

    // --- timeouts -------------------------------------------------------------------------
    /// Resolving and connecting (and the TLS handshake and a proxy tunnel).
    IOLoop::Duration connect_timeout = std::chrono::seconds(20);
    /// The whole fetch, from the call of `fetch` (time in the queue counts) to the last byte
    /// of the last response, redirects included.
    IOLoop::Duration request_timeout = std::chrono::seconds(20);

    // --- redirects ------------------------------------------------------------------------
    bool follow_redirects = true;
    int max_redirects = 5;

    // --- response handling ----------------------------------------------------------------
    /// Send `Accept-Encoding: gzip` and decompress gzip and deflate bodies.
    bool decompress_response = true;
    /// Called with each raw line of the final response head: the status line, each field
    /// line, then "\r\n" (lines include their CRLF). Interim (1xx) and redirect responses
    /// are not reported.
    std::function<void(std::string_view line)> header_callback;
    /// Called with each piece of the final response's body as it arrives (decompressed);
    /// nothing is buffered and `HTTPResponse::body` stays empty. The view is valid during the
    /// call only.
    std::function<void(std::string_view chunk)> streaming_callback;
    /// As `streaming_callback`, but a coroutine: the next piece is read only once it finished
    /// (flow control for a slow consumer). Used when `streaming_callback` is empty.
    std::function<Task<void>(std::string chunk)> async_streaming_callback;
    /// Largest body accepted (after decompression); 0: the client's `max_body_size`.
    std::uint64_t max_body_size = 0;

    // --- identity and authentication -----------------------------------------------------
    /// Basic authentication (also taken from user:password@ in the URL).
    std::string auth_username;
    std::string auth_password;
    /// Only "basic" is supported; anything else is an `InvalidRequestError`.
    std::string auth_mode = "basic";
    /// Empty: the client's default user agent.
    std::string user_agent;

    // --- TLS ------------------------------------------------------------------------------
    /// Verify the server's certificate chain and host name.
    bool validate_cert = true;
    /// PEM bundle of trusted CAs (empty: the system store).
    std::string ca_certs;
    /// Client certificate chain and key (PEM files) for mutual TLS.
    std::string client_cert;
    std::string client_key;
    /// When set, used instead of the four fields above.
    TLSContext tls_context;

    // --- proxy ----------------------------------------------------------------------------
    /// An HTTP proxy: http:// URLs are sent to it in absolute form, https:// URLs through a
    /// CONNECT tunnel. Empty host: no proxy (unless the client has a default proxy).
    std::string proxy_host;
    std::uint16_t proxy_port = 0;
    /// Basic credentials for the proxy (Proxy-Authorization).
    std::string proxy_username;
    std::string proxy_password;

    // --- network ----------------------------------------------------------------------------
    /// Connect over IPv6 too (false: IPv4 only).
    bool allow_ipv6 = true;
    /// Source IP address to connect from (an IP literal), empty for any.
    std::string network_interface;
};

}  // namespace gale::httpclient
