#pragma once
/// The exceptions of gale's WebSocket layer. The codec itself reports the peer's protocol
/// violations as `Violation` values; exceptions are for misuse of the API (a ping payload over
/// 125 bytes, a close code that may not be sent), for failed handshakes, and for the connection
/// layer to surface a failed connection.

#include <gale/ioloop/errors.hpp>
#include <gale/websocket/protocol.hpp>

#include <string>
#include <utility>
#include <vector>

namespace gale::websocket {

/// Base of every WebSocket error; thrown as such for invalid arguments and options.
class WebSocketError : public Error {
  public:
    using Error::Error;
};

/// The peer broke the protocol; carries the close code the connection was failed with.
class ProtocolError : public WebSocketError {
  public:
    explicit ProtocolError(Violation violation)
        : WebSocketError(violation.reason), code_(violation.code) {}
    CloseCode code() const noexcept { return code_; }

  private:
    CloseCode code_;
};

/// The opening handshake failed.
class HandshakeError : public WebSocketError {
  public:
    using WebSocketError::WebSocketError;
};

/// A server rejects a client's upgrade request: `status()` is the HTTP status to answer
/// (400, 405 or 426) and `response_headers()` the fields that answer must carry
/// (`Sec-WebSocket-Version: 13`, `Upgrade: websocket` and `Connection: Upgrade` with 426,
/// `Allow: GET` with 405).
class InvalidUpgradeRequest : public HandshakeError {
  public:
    InvalidUpgradeRequest(int status, const std::string& message,
                          std::vector<std::pair<std::string, std::string>> response_headers = {})
        : HandshakeError(message), status_(status), headers_(std::move(response_headers)) {}
    int status() const noexcept { return status_; }
    const std::vector<std::pair<std::string, std::string>>& response_headers() const noexcept {
        return headers_;
    }

  private:
    int status_;
    std::vector<std::pair<std::string, std::string>> headers_;
};

/// A client rejects a server's answer to its upgrade request; the connection must be closed.
class InvalidUpgradeResponse : public HandshakeError {
  public:
    using HandshakeError::HandshakeError;
};

}  // namespace gale::websocket
