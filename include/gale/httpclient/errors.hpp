#pragma once
/// The errors `AsyncHTTPClient::fetch` throws. Every one derives from `HTTPClientError`
/// (itself a `gale::Error`), carries the URL it was fetching and a `code()`: the HTTP status
/// for `HTTPStatusError`, 599 when there is no HTTP response at all (Tornado's convention).
///
/// | error | when |
/// |---|---|
/// | `HTTPStatusError` | the server answered with a status outside 2xx (the response is attached) |
/// | `TooManyRedirectsError` | a redirect was left after `max_redirects` hops (a `HTTPStatusError`)
/// | | `HTTPTimeoutError` | a deadline passed; `phase()` says where (queue, connect, ...) | |
/// `HTTPConnectionError` | resolving, connecting, or the connection failed or closed early | |
/// `HTTPProxyError` | the proxy refused (e.g. 407) or failed the CONNECT tunnel | | `HTTPTLSError`
/// | the TLS handshake or certificate verification failed | | `HTTPProtocolError` | the response is
/// malformed (head, chunk sizes, gzip, a short body) | | `HTTPBodyTooLargeError` | the body exceeds
/// `max_body_size` | | `InvalidRequestError` | the request itself is invalid (URL, method, header
/// value, body) |

#include <gale/ioloop/errors.hpp>

#include <memory>
#include <string>

namespace gale::httpclient {

class HTTPResponse;

/// Base of every error of the HTTP client.
class HTTPClientError : public Error {
  public:
    HTTPClientError(int code, std::string url, const std::string& message)
        : Error(message), code_(code), url_(std::move(url)) {}
    /// The HTTP status, or 599 when no response was received.
    int code() const noexcept { return code_; }
    /// The URL being fetched when the error happened (after redirects).
    const std::string& url() const noexcept { return url_; }

  private:
    int code_;
    std::string url_;
};

/// The server answered with a non-2xx status (and `raise_error` was true).
class HTTPStatusError : public HTTPClientError {
  public:
    HTTPStatusError(std::shared_ptr<const HTTPResponse> response, std::string url, int code,
                    const std::string& message)
        : HTTPClientError(code, std::move(url), message), response_(std::move(response)) {}
    /// The complete response (headers and body).
    const HTTPResponse& response() const noexcept { return *response_; }
    std::shared_ptr<const HTTPResponse> response_pointer() const noexcept { return response_; }

  private:
    std::shared_ptr<const HTTPResponse> response_;
};

/// `max_redirects` hops were followed and the last response is still a redirect.
class TooManyRedirectsError : public HTTPStatusError {
  public:
    using HTTPStatusError::HTTPStatusError;
};

/// Where a fetch was when its deadline passed.
enum class TimeoutPhase {
    queue,          // waiting for a `max_clients` slot or a connection to the host
    connect,        // resolving the name and connecting (also to a proxy)
    proxy_connect,  // the proxy's CONNECT tunnel
    tls_handshake,  // the TLS handshake
    send_request,   // sending the request head and body
    wait_response,  // waiting for the first byte of the response head
    read_response,  // reading the response head or body
};

/// "queue", "connect", "TLS handshake", ...
const char* to_string(TimeoutPhase phase) noexcept;

/// The connect timeout or the request timeout passed.
class HTTPTimeoutError : public HTTPClientError {
  public:
    HTTPTimeoutError(TimeoutPhase phase, std::string url, const std::string& message)
        : HTTPClientError(599, std::move(url), message), phase_(phase) {}
    TimeoutPhase phase() const noexcept { return phase_; }

  private:
    TimeoutPhase phase_;
};

/// The name did not resolve, the connection was refused, reset, or closed before the
/// response was complete. `cause()` holds the underlying gale error, if any.
class HTTPConnectionError : public HTTPClientError {
  public:
    HTTPConnectionError(std::string url, const std::string& message,
                        std::exception_ptr cause = nullptr)
        : HTTPClientError(599, std::move(url), message), cause_(std::move(cause)) {}
    const std::exception_ptr& cause() const noexcept { return cause_; }

  private:
    std::exception_ptr cause_;
};

/// The proxy could not be used: it refused the CONNECT or answered with an error status
/// (`proxy_status()`, e.g. 407 when the credentials are missing or wrong).
class HTTPProxyError : public HTTPConnectionError {
  public:
    HTTPProxyError(int proxy_status, std::string url, const std::string& message)
        : HTTPConnectionError(std::move(url), message), proxy_status_(proxy_status) {}
    /// The proxy's status code, or 0 when it sent no valid response.
    int proxy_status() const noexcept { return proxy_status_; }

  private:
    int proxy_status_;
};

/// The TLS handshake failed (certificate not trusted, wrong host name, protocol error).
class HTTPTLSError : public HTTPClientError {
  public:
    HTTPTLSError(std::string url, const std::string& message)
        : HTTPClientError(599, std::move(url), message) {}
};

/// The response is not valid HTTP/1.1: a malformed head, a head over the size limit, a bad
/// chunk, invalid compressed data, or a body shorter than its Content-Length.
class HTTPProtocolError : public HTTPClientError {
  public:
    HTTPProtocolError(std::string url, const std::string& message)
        : HTTPClientError(599, std::move(url), message) {}
};

/// The response body (after decompression) exceeds `max_body_size`.
class HTTPBodyTooLargeError : public HTTPClientError {
  public:
    HTTPBodyTooLargeError(std::string url, const std::string& message)
        : HTTPClientError(599, std::move(url), message) {}
};

/// The request cannot be sent: a malformed or unsupported URL, an invalid method or header
/// value (CR/LF injection), a body where none is allowed or none where one is required.
class InvalidRequestError : public HTTPClientError {
  public:
    InvalidRequestError(std::string url, const std::string& message)
        : HTTPClientError(599, std::move(url), message) {}
};

}  // namespace gale::httpclient
