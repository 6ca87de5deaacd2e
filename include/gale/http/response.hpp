#pragma once
/// `HTTPResponse`: what a handler sends back.
///
/// Set the status and headers, `write` the body, and the server finishes the response when
/// the handler returns: with a `Content-Length` when the body was written in one go, or — once
/// the handler called `flush()` — as a chunked stream (HTTP/1.1) or until the connection
/// closes (HTTP/1.0). A handler that sets Content-Length itself before flushing streams a body
/// of exactly that length (a download); sending a different amount ends the connection. A HEAD
/// response keeps the Content-Length the handler set. `flush()` sends what was written so far and
/// waits while the client is slower than the handler (backpressure). Responses to HEAD and
/// 1xx/204/304 carry no body whatever was written. With compression enabled, compressible bodies
/// above a threshold are gzipped for clients that accept it (`Vary: Accept-Encoding`).

#include <gale/http/headers.hpp>
#include <gale/ioloop/task.hpp>

#include <string>
#include <string_view>

namespace gale::http {

namespace detail {
class Connection;
}

class HTTPResponse {
  public:
    explicit HTTPResponse(detail::Connection& connection) noexcept : connection_(connection) {}
    HTTPResponse(const HTTPResponse&) = delete;
    HTTPResponse& operator=(const HTTPResponse&) = delete;

    /// The status (200 until set). Throws gale::Error for codes outside 100-599, or after
    /// the head was sent.
    void set_status(int status);
    int status() const noexcept;

    /// The response header fields, to read or to change at will. Fields changed here are
    /// checked when the head is sent: a name that is not a token or a value with CR, LF or NUL
    /// fails the response (header injection).
    HTTPHeaders& headers() noexcept;
    /// Replaces every field named `name` with one (`set_header`), or appends one
    /// (`add_header`), checked now: throws gale::Error for a name that is not a token or a value
    /// with a control character. The cheaper way on a hot path: fields that all came this way
    /// are not checked again when the head is sent.
    void set_header(std::string_view name, std::string_view value);
    void add_header(std::string_view name, std::string_view value);

    /// Appends to the body (buffered until `flush` or the end of the handler).
    void write(std::string_view data);
    /// Bytes written and not yet sent, and the bytes themselves.
    std::size_t buffered_size() const noexcept;
    std::string_view buffered_body() const noexcept;
    /// Drops the buffered body (e.g. to replace a half-written page with an error page).
    void clear_body() noexcept;

    /// Sends the head (if not sent) and the buffered body; waits while the client lags.
    Task<void> flush();
    /// Ends the response; called by the server when the handler returns, if not before.
    Task<void> finish();

    bool head_sent() const noexcept;
    bool finished() const noexcept;

  private:
    detail::Connection& connection_;
};

}  // namespace gale::http
