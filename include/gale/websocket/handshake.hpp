#pragma once
/// The opening handshake (RFC 6455 §4), independent of any HTTP header class: the request's
/// and response's fields are given as plain values, or through a lookup function that returns
/// a field's value (several fields of one name joined with ", ") or none.
///
/// Server: `validate_upgrade_request` checks, in this order,
/// - the method is GET, else 405 (with `Allow: GET`);
/// - `Upgrade` lists the token `websocket` (any case), else 400;
/// - `Connection` lists the token `upgrade` (any case), else 400;
/// - `Sec-WebSocket-Version` is 13, else 426 with `Sec-WebSocket-Version: 13`, `Upgrade:
///   websocket` and `Connection: Upgrade` (also when it is missing: the answer tells an old
///   client what we speak);
/// - `Sec-WebSocket-Key` is the canonical base64 of 16 bytes, else 400;
/// - `Sec-WebSocket-Protocol` and `Sec-WebSocket-Extensions`, when present, parse, else 400;
/// and throws `InvalidUpgradeRequest` with the status to answer. The HTTP version (1.1 or
/// later) and `Host` are the HTTP parser's business.
///
/// Client: `generate_client_key` makes the key; `validate_upgrade_response` checks the
/// server's answer: status 101, `Upgrade: websocket`, `Connection: upgrade`, the
/// `Sec-WebSocket-Accept` value, and that the subprotocol and extension it chose were offered;
/// it throws `InvalidUpgradeResponse`.

#include <gale/websocket/extensions.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gale::websocket {

/// The only protocol version (RFC 6455).
inline constexpr std::string_view protocol_version = "13";

/// Returns a header field's value, or none when the message does not have it.
using HeaderLookup = std::function<std::optional<std::string_view>(std::string_view name)>;

/// Header fields as name/value pairs, to add to an HTTP message.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + the RFC's GUID)).
std::string accept_key(std::string_view client_key);

/// True when `key` is the canonical base64 encoding of 16 bytes (24 characters, "==" last).
bool is_valid_client_key(std::string_view key) noexcept;

/// A fresh Sec-WebSocket-Key: 16 random bytes (OpenSSL's CSPRNG), base64.
std::string generate_client_key();

/// Parses a Sec-WebSocket-Protocol value: a comma-separated list of tokens, in order.
/// Throws `WebSocketError` naming the offending element.
std::vector<std::string> parse_subprotocols(std::string_view header);

// --- server ---------------------------------------------------------------------------------

/// The WebSocket fields of an upgrade request; none where the request lacks the field.
struct UpgradeRequest {
    std::string_view method;
    std::optional<std::string_view> upgrade;
    std::optional<std::string_view> connection;
    std::optional<std::string_view> version;     // Sec-WebSocket-Version
    std::optional<std::string_view> key;         // Sec-WebSocket-Key
    std::optional<std::string_view> protocols;   // Sec-WebSocket-Protocol
    std::optional<std::string_view> extensions;  // Sec-WebSocket-Extensions
};

/// What a valid upgrade request asks for.
struct ValidUpgradeRequest {
    /// The Sec-WebSocket-Accept value for the 101 response.
    std::string accept;
    /// The subprotocols the client offers, in its order of preference.
    std::vector<std::string> subprotocols;
    /// The raw Sec-WebSocket-Extensions value (for `negotiate_deflate`); empty if none.
    std::string extensions;
};

ValidUpgradeRequest validate_upgrade_request(const UpgradeRequest& request);
ValidUpgradeRequest validate_upgrade_request(std::string_view method, const HeaderLookup& header);

/// The fields of the 101 response besides the status line: Upgrade, Connection,
/// Sec-WebSocket-Accept, and Sec-WebSocket-Protocol / Sec-WebSocket-Extensions when not empty.
HeaderList upgrade_response_headers(std::string_view accept, std::string_view subprotocol = {},
                                    std::string_view extensions = {});

// --- client ---------------------------------------------------------------------------------

/// The fields of the client's upgrade request besides the request line and Host: Upgrade,
/// Connection, Sec-WebSocket-Key, Sec-WebSocket-Version, and Sec-WebSocket-Protocol /
/// Sec-WebSocket-Extensions when there is something to offer.
HeaderList upgrade_request_headers(std::string_view key,
                                   const std::vector<std::string>& subprotocols = {},
                                   std::string_view extensions = {});

/// What the client offered, to check the server's choices against.
struct UpgradeOffer {
    /// The Sec-WebSocket-Key sent.
    std::string key;
    std::vector<std::string> subprotocols;
    /// Set when permessage-deflate was offered with `deflate_offer(*deflate)`.
    std::optional<DeflateOptions> deflate;
};

/// The WebSocket fields of the server's response.
struct UpgradeResponse {
    int status = 0;
    std::optional<std::string_view> upgrade;
    std::optional<std::string_view> connection;
    std::optional<std::string_view> accept;      // Sec-WebSocket-Accept
    std::optional<std::string_view> protocol;    // Sec-WebSocket-Protocol
    std::optional<std::string_view> extensions;  // Sec-WebSocket-Extensions
};

/// What the server chose.
struct AcceptedUpgrade {
    /// Empty when the server chose none.
    std::string subprotocol;
    /// Set when permessage-deflate is in use.
    std::optional<DeflateParameters> deflate;
};

AcceptedUpgrade validate_upgrade_response(const UpgradeResponse& response,
                                          const UpgradeOffer& offer);
AcceptedUpgrade validate_upgrade_response(int status, const HeaderLookup& header,
                                          const UpgradeOffer& offer);

}  // namespace gale::websocket
