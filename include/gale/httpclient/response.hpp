#pragma once
/// `HTTPResponse`: what `AsyncHTTPClient::fetch` returns (or attaches to an
/// `HTTPStatusError`).

#include <gale/http/headers.hpp>
#include <gale/httpclient/request.hpp>
#include <gale/ioloop/ioloop.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace gale::httpclient {

/// Where the time of a fetch went. Each phase is measured once, for the final response (a
/// phase that did not happen, e.g. connecting on a reused connection, is zero); `queue` and
/// `total` cover the whole fetch, redirects included.
struct TimeInfo {
    /// Waiting for a `max_clients` slot and for a connection to the host.
    IOLoop::Duration queue{};
    /// Resolving and connecting (to the server or the proxy, with the CONNECT tunnel).
    IOLoop::Duration connect{};
    /// The TLS handshake.
    IOLoop::Duration tls{};
    /// From sending the request to the first byte of the response.
    IOLoop::Duration first_byte{};
    /// From the call of `fetch` to the last byte.
    IOLoop::Duration total{};
};

class HTTPResponse {
  public:
    HTTPResponse() = default;

    /// The request as given to `fetch` (before any redirect).
    std::shared_ptr<const HTTPRequest> request;
    int code = 0;
    std::string reason;
    http::HTTPHeaders headers;
    /// Empty when a streaming callback took the body.
    std::string body;
    /// The URL of this response, after redirects.
    std::string effective_url;
    /// Redirects followed to get here.
    int redirects = 0;
    /// True when the request went over a kept-alive connection that served an earlier one.
    bool reused_connection = false;
    /// Trailer fields of a chunked body.
    http::HTTPHeaders trailers;
    TimeInfo time_info;
    /// Wall-clock time at which `fetch` was called.
    std::chrono::system_clock::time_point start_time;
    /// Time from the start of the request (after the queue) to its end, as Tornado's.
    IOLoop::Duration request_time{};

    /// True for 2xx.
    bool ok() const noexcept { return code >= 200 && code < 300; }
};

}  // namespace gale::httpclient
