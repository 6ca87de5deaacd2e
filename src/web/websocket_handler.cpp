#include <gale/web/application.hpp>
#include <gale/web/url.hpp>
#include <gale/web/websocket_handler.hpp>

#include <gale/http/headers.hpp>
#include <gale/ioloop/log.hpp>
#include <gale/websocket/handshake.hpp>

#include <algorithm>

namespace gale::web {

namespace {

// Every field named `name`, joined with ", " (the handshake reads lists split over fields).
std::optional<std::string> combined_field(const http::HeaderFields& headers,
                                          std::string_view name) {
    std::optional<std::string> value;
    for (const http::HeaderField& field : headers) {
        if (!http::equals_ignoring_case(field.name, name)) {
            continue;
        }
        if (value) {
            value->append(", ").append(field.value);
        } else {
            value.emplace(field.value);
        }
    }
    return value;
}

std::optional<std::string_view> view_of(const std::optional<std::string>& value) {
    return value ? std::optional<std::string_view>(*value) : std::nullopt;
}

websocket::ConnectionOptions connection_options(
    const WebSocketOptions& options, std::optional<websocket::DeflateParameters> deflate) {
    websocket::ConnectionOptions connection;
    connection.role = websocket::Role::server;
    connection.max_message_size = options.max_message_size;
    connection.ping_interval = options.ping_interval;
    connection.ping_timeout = options.ping_timeout;
    connection.close_timeout = options.close_timeout;
    connection.deflate = deflate;
    connection.deflate_options = options.deflate;
    connection.max_queued_bytes = options.max_queued_bytes;
    connection.slow_consumer_policy = options.slow_consumer_policy;
    return connection;
}

const std::string empty_reason;

}  // namespace

WebSocketHandler::WebSocketHandler() = default;

WebSocketHandler::~WebSocketHandler() {
    unregister();
}

// --- defaults --------------------------------------------------------------------------------

WebSocketOptions WebSocketHandler::websocket_options() {
    return WebSocketOptions();
}
Task<void> WebSocketHandler::open() {
    co_return;
}
Task<void> WebSocketHandler::on_message(std::string, bool) {
    co_return;
}
void WebSocketHandler::on_ping(std::string_view) {}
void WebSocketHandler::on_pong(std::string_view) {}
void WebSocketHandler::on_close() {}

std::optional<std::string> WebSocketHandler::select_subprotocol(const std::vector<std::string>&) {
    return std::nullopt;
}

// Tornado's rule: the Origin's host (and port, if any) must be the Host the request went to.
bool WebSocketHandler::check_origin(std::string_view origin) {
    try {
        const Url url = Url::parse(origin);
        return url.has_authority && !url.host.empty() &&
               http::equals_ignoring_case(url.host_and_port(), request().host());
    } catch (const UrlError&) {
        return false;  // "null" and other opaque origins
    }
}

// --- non-GET requests ------------------------------------------------------------------------

Task<void> WebSocketHandler::head() {
    throw http::HTTPError(400, "a WebSocket handshake must be a GET request");
}
Task<void> WebSocketHandler::post() {
    return head();
}
Task<void> WebSocketHandler::put() {
    return head();
}
Task<void> WebSocketHandler::patch() {
    return head();
}
Task<void> WebSocketHandler::delete_() {
    return head();
}
Task<void> WebSocketHandler::options() {
    return head();
}

// --- the handshake and the connection --------------------------------------------------------

void WebSocketHandler::accept_handshake(const WebSocketOptions& options) {
    const http::HeaderFields& headers = request().headers();
    // An Upgrade in an HTTP/1.0 request is ignored (RFC 9110 §7.8): no WebSocket over 1.0.
    const std::optional<std::string> upgrade = request().version() == http::Version::http_1_0
                                                   ? std::nullopt
                                                   : combined_field(headers, "upgrade");
    const std::optional<std::string> connection = combined_field(headers, "connection");
    const std::optional<std::string> version = combined_field(headers, "sec-websocket-version");
    const std::optional<std::string> key = combined_field(headers, "sec-websocket-key");
    const std::optional<std::string> protocols = combined_field(headers, "sec-websocket-protocol");
    const std::optional<std::string> extensions =
        combined_field(headers, "sec-websocket-extensions");
    websocket::UpgradeRequest upgrade_request;
    upgrade_request.method = request().method();
    upgrade_request.upgrade = view_of(upgrade);
    upgrade_request.connection = view_of(connection);
    upgrade_request.version = view_of(version);
    upgrade_request.key = view_of(key);
    upgrade_request.protocols = view_of(protocols);
    upgrade_request.extensions = view_of(extensions);

    websocket::ValidUpgradeRequest valid;
    try {
        valid = websocket::validate_upgrade_request(upgrade_request);
    } catch (const websocket::InvalidUpgradeRequest& error) {
        for (const auto& [name, value] : error.response_headers()) {
            set_header(name, value);
        }
        throw http::HTTPError(error.status(), error.what());
    }
    if (auto origin = headers.get("origin"); origin && !check_origin(*origin)) {
        throw http::HTTPError(403, "cross-origin WebSocket request from " + std::string(*origin));
    }
    if (std::optional<std::string> chosen = select_subprotocol(valid.subprotocols)) {
        if (std::find(valid.subprotocols.begin(), valid.subprotocols.end(), *chosen) ==
            valid.subprotocols.end()) {
            throw Error("select_subprotocol chose '" + *chosen +
                        "', which the client did not offer");
        }
        subprotocol_ = std::move(*chosen);
    }
    std::string extension_response;
    if (options.compression && !valid.extensions.empty()) {
        try {
            if (auto agreement = websocket::negotiate_deflate(valid.extensions, options.deflate)) {
                agreed_deflate_ = agreement->parameters;
                extension_response = std::move(agreement->response);
            }
        } catch (const websocket::InvalidUpgradeRequest& error) {
            throw http::HTTPError(error.status(), error.what());
        }
    }
    set_status(101);
    for (const auto& [name, value] :
         websocket::upgrade_response_headers(valid.accept, subprotocol_, extension_response)) {
        set_header(name, value);
    }
}

Task<void> WebSocketHandler::get() {
    const WebSocketOptions options = websocket_options();
    accept_handshake(options);
    co_await finish();  // sends the 101
    connection_ = websocket::Connection::create(request().detach_stream(),
                                                connection_options(options, agreed_deflate_));
    connection_->set_observer(this);
    register_open();
    hand_over_connection();  // serve_upgraded() goes on without the HTTP request's state
}

// `self` owns this handler: it is destroyed with the coroutine's frame, after on_close().
Task<void> WebSocketHandler::serve_upgraded([[maybe_unused]] std::unique_ptr<RequestHandler> self) {
    bool cancelled = false;
    try {
        co_await serve_messages();
    } catch (const OperationCancelled&) {
        cancelled = true;  // the server is shutting down (its grace period is over)
    }
    if (cancelled) {
        connection_->close_now(1001, "server shutting down");
    }
    unregister();
    connection_->set_observer(nullptr);
    on_close();
}

Task<void> WebSocketHandler::serve_messages() {
    Task<void> opening = open();
    co_await run_user_code(std::move(opening));
    while (true) {
        std::optional<websocket::Message> message = co_await connection_->read_message();
        if (!message) {
            break;
        }
        Task<void> handling = on_message(std::move(message->data), message->binary);
        co_await run_user_code(std::move(handling));
    }
}

// Runs open() or on_message(): a failure is logged and closes the connection with 1011; the
// loop goes on reading until the closing handshake is over.
Task<void> WebSocketHandler::run_user_code(Task<void> code) {
    std::string failure;
    try {
        co_await std::move(code);
    } catch (const OperationCancelled&) {
        throw;
    } catch (const websocket::WebSocketClosedError&) {
        // wrote to a connection that was closing: nothing to report
    } catch (const std::exception& error) {
        failure = error.what();
        if (failure.empty()) {
            failure = "unknown error";
        }
    }
    if (!failure.empty()) {
        log::error("WebSocket {} ({}): {}", request().path(), request().remote_ip(), failure);
        if (connection_->is_open()) {
            connection_->close(static_cast<int>(websocket::CloseCode::internal_error),
                               "internal error");
        }
    }
}

Task<void> WebSocketHandler::write_message(std::string message, bool binary) {
    if (!connection_) {
        throw websocket::WebSocketClosedError("write_message: the WebSocket is not open yet");
    }
    return connection_->write_message(std::move(message), binary);
}

void WebSocketHandler::ping(std::string data) {
    if (!connection_) {
        throw websocket::WebSocketClosedError("ping: the WebSocket is not open yet");
    }
    connection_->ping(data);
}

void WebSocketHandler::close(int code, std::string reason) {
    if (connection_) {
        connection_->close(code, reason);
    }
}

std::optional<int> WebSocketHandler::close_code() const {
    return connection_ ? connection_->close_code() : std::nullopt;
}

const std::string& WebSocketHandler::close_reason() const {
    return connection_ ? connection_->close_reason() : empty_reason;
}

bool WebSocketHandler::ws_closed() const {
    return connection_ && !connection_->is_open();
}

const std::optional<websocket::DeflateParameters>& WebSocketHandler::deflate_parameters() const {
    return agreed_deflate_;
}

// --- shutdown --------------------------------------------------------------------------------

void WebSocketHandler::register_open() noexcept {
    WebSocketHandler*& first = application().open_websockets_;
    next_open_ = first;
    previous_open_ = nullptr;
    if (next_open_ != nullptr) {
        next_open_->previous_open_ = this;
    }
    first = this;
    registered_ = true;
}

void WebSocketHandler::unregister() noexcept {
    if (!registered_) {
        return;
    }
    if (previous_open_ != nullptr) {
        previous_open_->next_open_ = next_open_;
    } else {
        application().open_websockets_ = next_open_;
    }
    if (next_open_ != nullptr) {
        next_open_->previous_open_ = previous_open_;
    }
    previous_open_ = next_open_ = nullptr;
    registered_ = false;
}

void WebSocketHandler::unlink_all(WebSocketHandler* first) noexcept {
    while (first != nullptr) {
        WebSocketHandler* next = first->next_open_;
        first->previous_open_ = first->next_open_ = nullptr;
        first->registered_ = false;
        first = next;
    }
}

std::size_t close_all_websockets(const Application& application, int code,
                                 std::string_view reason) {
    std::size_t count = 0;
    for (WebSocketHandler* handler = application.open_websockets_; handler != nullptr;
         handler = handler->next_open_) {
        if (handler->connection_->is_open()) {
            handler->connection_->close(code, reason);
            ++count;
        }
    }
    return count;
}

}  // namespace gale::web
