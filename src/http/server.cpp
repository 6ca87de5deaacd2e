#include "http/connection.hpp"

#include <gale/http/date.hpp>
#include <gale/ioloop/log.hpp>

namespace gale::http {

// --- HTTPRequest and HTTPResponse: views of the connection ---------------------------------

HTTPRequest::HTTPRequest(detail::Connection& connection) noexcept : connection_(&connection) {}

HTTPRequest::HTTPRequest(std::unique_ptr<detail::DetachedRequest> copy) noexcept
    : copy_(std::move(copy)) {}

HTTPRequest::~HTTPRequest() = default;

const RequestHead& HTTPRequest::head() const noexcept {
    return connection_ != nullptr ? connection_->head() : copy_->request.head;
}

std::string_view HTTPRequest::method() const noexcept {
    return head().method;
}
std::string_view HTTPRequest::target() const noexcept {
    return head().target;
}
std::string_view HTTPRequest::path() const noexcept {
    return head().path;
}
std::string_view HTTPRequest::query() const noexcept {
    return head().query;
}
Version HTTPRequest::version() const noexcept {
    return head().version;
}
const HeaderFields& HTTPRequest::headers() const noexcept {
    return head().headers;
}
std::string_view HTTPRequest::host() const noexcept {
    return head().authority;
}
std::string_view HTTPRequest::protocol() const noexcept {
    return connection_ != nullptr ? connection_->protocol() : copy_->protocol;
}
std::string_view HTTPRequest::remote_ip() const noexcept {
    return connection_ != nullptr ? connection_->remote_ip() : copy_->remote_ip;
}
const SocketAddress& HTTPRequest::peer_address() const noexcept {
    return connection_ != nullptr ? connection_->peer() : copy_->peer;
}
bool HTTPRequest::keep_alive() const noexcept {
    return head().keep_alive;
}
bool HTTPRequest::has_preconditions() const noexcept {
    return head().preconditions;
}

std::optional<std::uint64_t> HTTPRequest::content_length() const noexcept {
    const RequestHead& request_head = head();
    if (request_head.framing == BodyFraming::content_length) {
        return request_head.content_length;
    }
    if (request_head.framing == BodyFraming::none) {
        return 0;
    }
    return std::nullopt;
}

bool HTTPRequest::has_body() const noexcept {
    return head().framing != BodyFraming::none;
}

// A detached copy has no body to read: its connection belongs to someone else.
namespace {
[[noreturn]] void throw_detached(const char* operation) {
    throw Error(std::string(operation) + ": the request was detached from its connection");
}
}  // namespace

bool HTTPRequest::body_complete() const noexcept {
    return connection_ == nullptr || connection_->body_complete();
}
Task<std::string> HTTPRequest::read_body() {
    if (connection_ == nullptr) {
        throw_detached("read_body");
    }
    return connection_->read_body();
}
Task<std::string> HTTPRequest::read_body_chunk(std::size_t max_bytes) {
    if (connection_ == nullptr) {
        throw_detached("read_body_chunk");
    }
    return connection_->read_body_chunk(max_bytes);
}
void HTTPRequest::set_max_body_size(std::uint64_t bytes) noexcept {
    if (connection_ != nullptr) {
        connection_->set_max_body_size(bytes);
    }
}
bool HTTPRequest::connection_closed() const noexcept {
    return connection_ == nullptr || connection_->connection_closed();
}
IOStream HTTPRequest::detach_stream() {
    if (connection_ == nullptr) {
        throw_detached("detach_stream");
    }
    return connection_->detach_stream();
}
std::unique_ptr<HTTPRequest> HTTPRequest::detached_copy() const {
    if (connection_ == nullptr) {
        throw_detached("detached_copy");
    }
    return std::make_unique<HTTPRequest>(connection_->detached_copy());
}
void HTTPRequest::continue_with(Task<void> task) {
    if (connection_ == nullptr) {
        throw_detached("continue_with");
    }
    connection_->continue_with(std::move(task));
}

void HTTPResponse::set_status(int status) {
    connection_.set_status(status);
}
int HTTPResponse::status() const noexcept {
    return connection_.status();
}
HTTPHeaders& HTTPResponse::headers() noexcept {
    return connection_.response_headers();
}
void HTTPResponse::set_header(std::string_view name, std::string_view value) {
    connection_.set_checked_header(name, value, true);
}
void HTTPResponse::add_header(std::string_view name, std::string_view value) {
    connection_.set_checked_header(name, value, false);
}
void HTTPResponse::write(std::string_view data) {
    connection_.write(data);
}
std::size_t HTTPResponse::buffered_size() const noexcept {
    return connection_.buffered_size();
}
std::string_view HTTPResponse::buffered_body() const noexcept {
    return connection_.buffered_body();
}
void HTTPResponse::clear_body() noexcept {
    connection_.clear_body();
}
Task<void> HTTPResponse::flush() {
    return connection_.flush();
}
Task<void> HTTPResponse::finish() {
    return connection_.finish();
}
bool HTTPResponse::head_sent() const noexcept {
    return connection_.head_sent();
}
bool HTTPResponse::finished() const noexcept {
    return connection_.finished();
}

// --- the server ---------------------------------------------------------------------------------

HTTPServer::State::State(HTTPHandler request_handler, HTTPServerOptions server_options)
    : handler(std::move(request_handler)), options(std::move(server_options)) {
    // One sweep a second enforces every connection's timeouts: no timer per connection.
    sweeper = std::make_unique<PeriodicCallback>([this] { sweep(); }, std::chrono::seconds(1));
    sweeper->start();
}

HTTPServer::State::~State() = default;

std::string_view HTTPServer::State::server_and_date_lines() {
    const std::time_t now = std::time(nullptr);
    if (now == date_second_) {
        return server_and_date_;
    }
    server_and_date_.clear();
    if (!options.server_name.empty()) {
        server_and_date_.append("Server: ").append(options.server_name).append("\r\n");
    }
    server_and_date_.append("Date: ").append(format_http_date(now)).append("\r\n");
    date_second_ = now;
    return server_and_date_;
}

void HTTPServer::State::link(detail::Connection& connection) noexcept {
    connection.previous = nullptr;
    connection.next = connections;
    if (connections != nullptr) {
        connections->previous = &connection;
    }
    connections = &connection;
}

void HTTPServer::State::unlink(detail::Connection& connection) noexcept {
    if (connection.previous != nullptr) {
        connection.previous->next = connection.next;
    } else if (connections == &connection) {
        connections = connection.next;
    }
    if (connection.next != nullptr) {
        connection.next->previous = connection.previous;
    }
}

void HTTPServer::State::sweep() noexcept {
    IOLoop::TimePoint now = IOLoop::current().time();
    for (detail::Connection* connection = connections; connection != nullptr;) {
        detail::Connection* next = connection->next;  // expire() does not unlink, but be safe
        if (connection->deadline() <= now) {
            connection->expire();
        }
        connection = next;
    }
}

namespace {

// The connection's HTTP state lives on the heap, so that an upgrade (WebSocket) can free it
// and keep only what its continuation needs.
Task<void> run_connection(std::unique_ptr<detail::Connection> connection) {
    co_await connection->run();
    Task<void> continuation = connection->take_continuation();
    connection.reset();
    if (continuation.valid()) {
        co_await std::move(continuation);
    }
}

// Not a coroutine: the stream and the peer's address go to the connection, not into a frame.
Task<void> serve(std::shared_ptr<HTTPServer::State> state, IOStream stream, SocketAddress peer) {
    return run_connection(
        std::make_unique<detail::Connection>(std::move(state), std::move(stream), peer));
}

TCPServerOptions tcp_options_of(const HTTPServerOptions& options) {
    return options.tcp;
}

}  // namespace

HTTPServer::HTTPServer(HTTPHandler handler, HTTPServerOptions options)
    : state_(std::make_shared<State>(std::move(handler), std::move(options))),
      tcp_(
          [state = state_](IOStream stream, SocketAddress peer) -> Task<void> {
              return serve(state, std::move(stream), peer);
          },
          tcp_options_of(state_->options)) {}

HTTPServer::~HTTPServer() {
    state_->sweeper->stop();
}

std::vector<SocketAddress> HTTPServer::listen(std::uint16_t port, const ListenOptions& options) {
    return tcp_.listen(port, options);
}

void HTTPServer::add_socket(int listening_fd) {
    tcp_.add_socket(listening_fd);
}

void HTTPServer::stop() noexcept {
    tcp_.stop();
}

namespace {

Task<void> shut_down(std::shared_ptr<HTTPServer::State> state, TCPServer& tcp,
                     IOLoop::Duration grace) {
    state->shutting_down = true;
    tcp.stop();
    // Idle keep-alive connections have nothing in flight: close them now.
    for (detail::Connection* connection = state->connections; connection != nullptr;
         connection = connection->next) {
        connection->close_if_idle();
    }
    co_await tcp.shutdown(grace);
}

}  // namespace

Task<void> HTTPServer::shutdown(IOLoop::Duration grace) {
    return shut_down(state_, tcp_, grace);
}

std::size_t HTTPServer::connection_count() const noexcept {
    return tcp_.connection_count();
}

}  // namespace gale::http
