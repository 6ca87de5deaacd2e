#pragma once
// One HTTP/1.1 server connection: reads requests, runs the handler, writes responses.
// HTTPRequest and HTTPResponse are thin views of this object.

#include <gale/http/compression.hpp>
#include <gale/http/request.hpp>
#include <gale/http/response.hpp>
#include <gale/http/server.hpp>
#include <gale/ioloop/periodic_callback.hpp>

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gale::http {

struct HTTPServer::State {
    State(HTTPHandler request_handler, HTTPServerOptions server_options);
    ~State();

    HTTPHandler handler;
    HTTPServerOptions options;
    bool shutting_down = false;
    // Connections, for the timeout sweep and shutdown (intrusive list).
    detail::Connection* connections = nullptr;
    std::unique_ptr<PeriodicCallback> sweeper;

    void link(detail::Connection& connection) noexcept;
    void unlink(detail::Connection& connection) noexcept;
    void sweep() noexcept;

    /// The Server and Date fields as their lines, which most responses carry: kept whole and
    /// rebuilt when the date's second changes, so that a response copies them at once.
    std::string_view server_and_date_lines();

  private:
    std::string server_and_date_;
    std::time_t date_second_ = -1;  // the second server_and_date_'s date shows
};

namespace detail {

/// A request head that owns its bytes: the parsed views point into `storage`.
struct OwnedHead {
    std::string storage;
    std::vector<HeaderField> fields;
    RequestHead head;

    /// Copies `raw` and points the views of `parsed` (views of `raw`) at the copy. The storage
    /// is reused: this allocates only for a head larger than any before it.
    void assign(const RequestHead& parsed, std::string_view raw);
};

/// What a detached `HTTPRequest` owns: the head and the addresses, without the connection.
struct DetachedRequest {
    OwnedHead request;
    std::string protocol;
    std::string remote_ip;
    SocketAddress peer;
};

class InvalidResponseHeader : public Error {
  public:
    InvalidResponseHeader() : Error("invalid response header field (header injection refused)") {}
};

class Connection {
  public:
    enum class Phase { idle, head, body, handler, closing };

    Connection(std::shared_ptr<HTTPServer::State> state, IOStream connection_stream,
               SocketAddress peer);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    /// Serves requests until the connection ends.
    Task<void> run();

    // --- used by HTTPRequest -------------------------------------------------------------
    const RequestHead& head() const noexcept { return request_.head; }
    std::string_view protocol() const noexcept { return protocol_; }
    std::string_view remote_ip() const noexcept { return remote_ip_; }
    const SocketAddress& peer() const noexcept { return peer_; }
    bool body_complete() const noexcept { return body_done_; }
    Task<std::string> read_body();
    Task<std::string> read_body_chunk(std::size_t max_bytes);
    void set_max_body_size(std::uint64_t bytes) noexcept { max_body_size_ = bytes; }
    bool connection_closed() const noexcept { return stream_.closed(); }
    IOStream detach_stream();
    std::unique_ptr<DetachedRequest> detached_copy() const;
    void continue_with(Task<void> task);
    /// The task that takes the connection's place after an upgrade (invalid: none).
    Task<void> take_continuation() noexcept { return std::move(continuation_); }

    // --- used by HTTPResponse ------------------------------------------------------------
    void set_status(int status);
    int status() const noexcept { return status_; }
    HTTPHeaders& response_headers() noexcept { return response_headers_; }
    /// Sets or adds a field checked now (throws gale::Error); while every change comes this
    /// way, the fields are not checked again when the head is sent.
    void set_checked_header(std::string_view name, std::string_view value, bool replace);
    void write(std::string_view data);
    std::size_t buffered_size() const noexcept { return body_.size(); }
    std::string_view buffered_body() const noexcept { return body_; }
    void clear_body() noexcept { body_.clear(); }
    Task<void> flush();
    Task<void> finish();
    void write_final_output();
    bool head_sent() const noexcept { return head_sent_; }
    bool finished() const noexcept { return finished_; }

    // --- timeouts (the server's sweep) ---------------------------------------------------
    IOLoop::TimePoint deadline() const noexcept { return deadline_; }
    void expire() noexcept;
    Phase phase() const noexcept { return phase_; }
    void close_if_idle() noexcept;

    Connection* previous = nullptr;
    Connection* next = nullptr;

  private:
    enum class Outcome { next_request, close };

    void start_head() noexcept;
    ParseStatus parse_buffered_head();
    Task<bool> read_head(ParseStatus status);
    void adopt_head(std::string_view buffered);
    void prepare_request();
    Task<Outcome> serve_request();
    Task<void> send_error(int status, std::string reason);
    Task<std::string> read_body_piece(std::size_t max_bytes);
    void send_continue_if_expected();
    void account_body(std::size_t bytes);
    void reset_response() noexcept;
    /// Throws InvalidResponseHeader for a field that is not a token or a value with CR, LF
    /// or NUL: such a field would split the response (header injection).
    void check_headers();
    /// With `length_unknown` (HEAD only), neither Content-Length nor Transfer-Encoding.
    void append_head(bool chunked, bool length_unknown = false);
    void remove_representation_fields() noexcept;
    bool can_skip_unread_body() const noexcept;
    std::optional<std::uint64_t> declared_content_length() const noexcept;
    void check_body_rate();
    void decide_compression();
    void weaken_etag();
    bool sends_body() const noexcept;
    void set_deadline(IOLoop::Duration timeout) noexcept;

    std::shared_ptr<HTTPServer::State> state_;
    IOStream stream_;
    SocketAddress peer_;
    std::string peer_ip_;

    // The current request: the head copied out of the stream buffer, with views into it.
    RequestParser parser_;
    OwnedHead request_;
    // Views, so that a request without forwarding headers assigns no string: remote_ip_ is
    // peer_ip_ or forwarded_ip_, protocol_ a literal.
    std::string_view remote_ip_;
    std::string forwarded_ip_;
    std::string_view protocol_;

    // Its body.
    std::uint64_t body_remaining_ = 0;
    std::uint64_t body_read_ = 0;
    IOLoop::Duration body_wait_{};  // time spent waiting for this body's bytes
    std::uint64_t max_body_size_ = 0;
    bool body_done_ = true;
    bool continue_sent_ = false;
    ChunkedDecoder chunked_;
    std::optional<Decompressor> request_decompressor_;
    std::string decompressed_pending_;

    // Its response.
    int status_ = 200;
    HTTPHeaders response_headers_;
    // The version of response_headers_ whose fields are known to be valid (check_headers).
    std::uint64_t checked_headers_version_ = 0;
    std::string body_;
    std::string out_;  // serialisation buffer, reused
    bool head_sent_ = false;
    bool finished_ = false;
    bool chunked_response_ = false;
    std::optional<std::uint64_t> declared_length_;  // a Content-Length the handler set
    std::uint64_t body_bytes_sent_ = 0;
    bool close_after_ = false;
    bool detached_ = false;
    Task<void> continuation_;  // after an upgrade
    std::optional<GzipCompressor> compressor_;

    Phase phase_ = Phase::idle;
    IOLoop::TimePoint deadline_ = IOLoop::TimePoint::max();
};

}  // namespace detail
}  // namespace gale::http
