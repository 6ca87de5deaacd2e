#pragma once
/// `HTTPRequest`: one request as the server's handler sees it.
///
/// The head (method, target, headers) is parsed and kept in the connection's storage: the
/// views returned here stay valid until the handler's task ends. The body is read on demand,
/// whole (`read_body`) or piece by piece as it arrives (`read_body_chunk`), bounded by the
/// server's `max_body_size` (more → `HTTPError` 413). A request with `Expect: 100-continue`
/// gets its `100 Continue` when the handler first reads the body.
///
/// The request and its response are owned by the connection; a task that outlives the
/// handler must copy what it needs, or take a `detached_copy()` after an upgrade.

#include <gale/http/parser.hpp>
#include <gale/ioloop/iostream.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace gale::http {

/// An HTTP error with the status to answer (the server and the web layer turn it into a
/// response). `reason` is for logs and debug pages, not shown to clients by default.
class HTTPError : public Error {
  public:
    explicit HTTPError(int status, std::string reason = {})
        : Error("HTTP " + std::to_string(status) + (reason.empty() ? "" : ": " + reason)),
          status_(status),
          reason_(std::move(reason)) {}
    int status() const noexcept { return status_; }
    const std::string& reason() const noexcept { return reason_; }

  private:
    int status_;
    std::string reason_;
};

namespace detail {
class Connection;
struct DetachedRequest;
}  // namespace detail

class HTTPRequest {
  public:
    explicit HTTPRequest(detail::Connection& connection) noexcept;
    explicit HTTPRequest(std::unique_ptr<detail::DetachedRequest> copy) noexcept;
    HTTPRequest(const HTTPRequest&) = delete;
    HTTPRequest& operator=(const HTTPRequest&) = delete;
    ~HTTPRequest();

    std::string_view method() const noexcept;
    /// The request target as sent ("/path?query", or an absolute URI).
    std::string_view target() const noexcept;
    std::string_view path() const noexcept;
    /// The query string without '?'.
    std::string_view query() const noexcept;
    Version version() const noexcept;
    const HeaderFields& headers() const noexcept;
    /// The Host (or the authority of an absolute-form target).
    std::string_view host() const noexcept;
    /// "http" or "https" (X-Forwarded-Proto / X-Scheme when xheaders are trusted).
    std::string_view protocol() const noexcept;
    /// The client's address (X-Real-IP / X-Forwarded-For when xheaders are trusted).
    std::string_view remote_ip() const noexcept;
    const SocketAddress& peer_address() const noexcept;
    /// Whether the connection stays open after this request (version, Connection header).
    bool keep_alive() const noexcept;
    /// Whether the request has a precondition field (If-Match, If-None-Match,
    /// If-Modified-Since, If-Unmodified-Since, If-Range), found while parsing: most requests
    /// have none, and a server can then skip looking each one up.
    bool has_preconditions() const noexcept;

    /// The declared body size, when the request has a Content-Length.
    std::optional<std::uint64_t> content_length() const noexcept;
    bool has_body() const noexcept;
    /// True once the whole body was read.
    bool body_complete() const noexcept;
    /// Reads the rest of the body (decompressed when the server decompresses requests).
    /// Throws HTTPError(413) past max_body_size, HTTPError(400) for a malformed body.
    Task<std::string> read_body();
    /// The next piece of the body as it arrives (at most `max_bytes`); "" at the end.
    Task<std::string> read_body_chunk(std::size_t max_bytes = 64 * 1024);
    /// Raises the body limit for this request (streaming uploads).
    void set_max_body_size(std::uint64_t bytes) noexcept;

    /// True when the client has closed the connection (or it failed). Always true once the
    /// stream was detached, and for a detached copy: HTTP no longer watches the connection.
    bool connection_closed() const noexcept;

    // --- upgrades (101 Switching Protocols) -------------------------------------------------
    /// Takes the connection out of HTTP, after a `101 Switching Protocols` response was
    /// finished: the stream now belongs to the caller (WebSocket). Bytes the client sent after
    /// the request are still buffered in it.
    IOStream detach_stream();
    /// After `detach_stream`: a request that owns a copy of this one's head (method, target,
    /// headers) and addresses, for a task that outlives the handler. Its body cannot be read.
    std::unique_ptr<HTTPRequest> detached_copy() const;
    /// After `detach_stream`: `task` takes the connection's place once the handler returns.
    /// The server frees everything it kept for the HTTP exchange (its buffers and the
    /// handler's coroutine frames) and runs `task` in the connection's stead: it still counts
    /// against `max_connections`, and `shutdown` waits for it, then cancels it.
    void continue_with(Task<void> task);

  private:
    const RequestHead& head() const noexcept;

    detail::Connection* connection_ = nullptr;       // while served over HTTP
    std::unique_ptr<detail::DetachedRequest> copy_;  // a detached copy's own head
};

}  // namespace gale::http
