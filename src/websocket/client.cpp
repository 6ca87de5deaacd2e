#include <gale/http/parser.hpp>
#include <gale/ioloop/combinators.hpp>
#include <gale/ioloop/tcp_client.hpp>
#include <gale/web/url.hpp>
#include <gale/websocket/client.hpp>
#include <gale/websocket/handshake.hpp>

#include <fmt/format.h>

namespace gale::websocket {

namespace {

const std::string no_reason;
const std::optional<DeflateParameters> no_deflate;

std::string build_request(const web::Url& url, const ClientOptions& options,
                          const std::string& key) {
    std::string request = "GET " + url.request_target() + " HTTP/1.1\r\n";
    if (!options.headers.contains("host")) {
        request += "Host: " + url.host_and_port() + "\r\n";
    }
    const std::string offer = options.compression ? deflate_offer(options.deflate) : std::string();
    for (const auto& [name, value] : upgrade_request_headers(key, options.subprotocols, offer)) {
        request += name + ": " + value + "\r\n";
    }
    for (const auto& [name, value] : options.headers) {
        if (!http::is_token(name) || value.find_first_of("\r\n") != std::string::npos ||
            value.find('\0') != std::string::npos) {
            throw WebSocketError("websocket_connect: unsafe request header '" + std::string(name) +
                                 "'");
        }
        request.append(name).append(": ").append(value).append("\r\n");
    }
    request += "\r\n";
    return request;
}

// Reads the response head into `parser`; the head stays in the stream's buffer.
Task<void> read_response_head(IOStream& stream, http::ResponseParser& parser, std::string url) {
    while (true) {
        const http::ParseStatus status = parser.parse(stream.buffered());
        if (status == http::ParseStatus::complete) {
            co_return;
        }
        if (status == http::ParseStatus::error) {
            throw InvalidUpgradeResponse(fmt::format(
                "websocket_connect: {} sent a malformed response: {}", url, parser.error().reason));
        }
        if (!co_await stream.wait_for_data()) {
            throw InvalidUpgradeResponse(
                fmt::format("websocket_connect: {} closed the connection before answering", url));
        }
    }
}

std::optional<std::string> combined_field(const http::HeaderFields& headers,
                                          std::string_view name) {
    std::optional<std::string> value;
    for (const http::HeaderField& field : headers) {
        if (http::equals_ignoring_case(field.name, name)) {
            if (value) {
                value->append(", ").append(field.value);
            } else {
                value.emplace(field.value);
            }
        }
    }
    return value;
}

std::optional<std::string_view> view_of(const std::optional<std::string>& value) {
    return value ? std::optional<std::string_view>(*value) : std::nullopt;
}

ConnectionOptions client_connection_options(const ClientOptions& options,
                                            std::optional<DeflateParameters> deflate) {
    ConnectionOptions connection;
    connection.role = Role::client;
    connection.max_message_size = options.max_message_size;
    connection.ping_interval = options.ping_interval;
    connection.ping_timeout = options.ping_timeout;
    connection.close_timeout = options.close_timeout;
    connection.deflate = deflate;
    connection.deflate_options = options.deflate;
    return connection;
}

Task<void> close_client(std::shared_ptr<Connection> connection, int code, std::string reason) {
    connection->close(code, reason);
    if (connection->read_pending()) {
        co_await connection->wait_closed();
        co_return;
    }
    // Messages after our close frame are dropped. The result is bound to a local: GCC 12
    // miscompiles a co_await whose temporary has a destructor inside a loop condition (an
    // illegal instruction here; docs/pitfalls.md).
    while (true) {
        std::optional<Message> dropped = co_await connection->read_message();
        if (!dropped) {
            break;
        }
    }
}

}  // namespace

Task<ClientConnection> open_client(std::string url, ClientOptions options) {
    const web::Url parsed = web::Url::parse(url);
    if (parsed.scheme != "ws" && parsed.scheme != "wss") {
        throw WebSocketError("websocket_connect: '" + url + "' is not a ws:// or wss:// URL");
    }
    const std::uint16_t port = parsed.effective_port().value_or(parsed.scheme == "wss" ? 443 : 80);
    ConnectOptions connect;
    connect.timeout = options.connect_timeout;
    if (parsed.scheme == "wss") {
        connect.tls = options.tls ? options.tls : TLSContext::client();
        connect.server_hostname = parsed.host;
    }
    TCPClient client(options.resolver ? options.resolver : default_resolver());
    IOStream stream = co_await client.connect(parsed.host, port, connect);

    UpgradeOffer offer;
    offer.key = generate_client_key();
    offer.subprotocols = options.subprotocols;
    if (options.compression) {
        offer.deflate = options.deflate;
    }
    std::string request = build_request(parsed, options, offer.key);
    co_await stream.write(std::move(request));

    http::ParserLimits limits;
    limits.max_head_size = options.max_response_head_size;
    http::ResponseParser parser(limits);
    co_await read_response_head(stream, parser, url);
    const http::ResponseHead& head = parser.head();
    if (head.status != 101) {
        throw UpgradeStatusError(
            head.status,
            fmt::format("websocket_connect: {} answered {} {}", url, head.status, head.reason),
            head.headers.to_headers());
    }
    const std::optional<std::string> upgrade = combined_field(head.headers, "upgrade");
    const std::optional<std::string> connection = combined_field(head.headers, "connection");
    const std::optional<std::string> accept = combined_field(head.headers, "sec-websocket-accept");
    const std::optional<std::string> protocol =
        combined_field(head.headers, "sec-websocket-protocol");
    const std::optional<std::string> extensions =
        combined_field(head.headers, "sec-websocket-extensions");
    UpgradeResponse response;
    response.status = head.status;
    response.upgrade = view_of(upgrade);
    response.connection = view_of(connection);
    response.accept = view_of(accept);
    response.protocol = view_of(protocol);
    response.extensions = view_of(extensions);
    AcceptedUpgrade accepted = validate_upgrade_response(response, offer);

    ClientConnection result;
    result.subprotocol_ = std::move(accepted.subprotocol);
    result.response_headers_ = head.headers.to_headers();
    stream.consume(parser.head_size());  // what follows the head is the first frames
    result.connection_ =
        Connection::create(std::move(stream), client_connection_options(options, accepted.deflate));
    co_return result;
}

Task<ClientConnection> websocket_connect(std::string url, ClientOptions options) {
    const IOLoop::Duration timeout = options.connect_timeout;
    Task<ClientConnection> opening = open_client(url, std::move(options));
    try {
        co_return co_await with_timeout(timeout, std::move(opening));
    } catch (const TimeoutError&) {
        throw TimeoutError(
            fmt::format("websocket_connect: {} did not complete within {} ms", url,
                        std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()));
    }
}

Task<std::optional<Message>> ClientConnection::read_message() {
    if (!connection_) {
        throw WebSocketClosedError("read_message: not connected");
    }
    return connection_->read_message();
}

Task<void> ClientConnection::write_message(std::string message, bool binary) {
    if (!connection_) {
        throw WebSocketClosedError("write_message: not connected");
    }
    return connection_->write_message(std::move(message), binary);
}

void ClientConnection::ping(std::string_view payload) {
    if (!connection_) {
        throw WebSocketClosedError("ping: not connected");
    }
    connection_->ping(payload);
}

Task<void> ClientConnection::close(int code, std::string reason) {
    if (!connection_) {
        throw WebSocketClosedError("close: not connected");
    }
    return close_client(connection_, code, std::move(reason));
}

std::optional<int> ClientConnection::close_code() const noexcept {
    return connection_ ? connection_->close_code() : std::nullopt;
}

const std::string& ClientConnection::close_reason() const noexcept {
    return connection_ ? connection_->close_reason() : no_reason;
}

const std::optional<DeflateParameters>& ClientConnection::deflate() const noexcept {
    return connection_ ? connection_->deflate() : no_deflate;
}

}  // namespace gale::websocket
