#pragma once
/// Sec-WebSocket-Extensions (RFC 6455 §9.1) and the negotiation of permessage-deflate
/// (RFC 7692 §7.1).
///
/// Server: `negotiate_deflate` walks the client's offers in order and accepts the first one it
/// can honour, yielding the agreed parameters and the response value. An offer is declined
/// (and the next one tried) when it has an unknown parameter, a parameter twice, a value where
/// none belongs, a missing or invalid window size (8..15, decimal, no leading zero, optionally
/// quoted), or when it cannot meet the server's `client_max_window_bits` below 15 because it
/// lacks the `client_max_window_bits` parameter.
///
/// The server echoes a client's `client_no_context_takeover` hint: the client does not keep
/// its context anyway, and saying so lets the server release its decompressor between
/// messages. It answers `server_max_window_bits` when the client asked or the server's own
/// limit is below 15, and `client_max_window_bits` only when the offer has it and the agreed
/// value is below 15.
///
/// Client: `deflate_offer` writes the offer; `accept_deflate_response` checks the server's
/// answer against it (unknown or repeated parameters, invalid values, a window larger than
/// requested: `InvalidUpgradeResponse`) and yields the agreed parameters. A response that
/// leaves out something the client requested (`server_no_context_takeover`, its
/// `server_max_window_bits`) is taken at its word rather than refused: the client then keeps
/// its inflate context and a full window, which decodes whatever the server sends.

#include <gale/websocket/deflate.hpp>
#include <gale/websocket/protocol.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gale::websocket {

struct ExtensionParameter {
    std::string name;
    /// Unquoted; none for a parameter without `=`.
    std::optional<std::string> value;
};

struct Extension {
    std::string name;
    std::vector<ExtensionParameter> parameters;
};

/// Parses a Sec-WebSocket-Extensions value (several header fields joined with commas):
/// `1#(token *(";" token ["=" (token | quoted-string)]))`, empty list elements ignored.
/// Throws `WebSocketError` naming the offending text on a syntax error.
std::vector<Extension> parse_extensions(std::string_view header);

/// The agreed permessage-deflate parameters of a connection (RFC 7692 §7.1).
struct DeflateParameters {
    /// The server compresses each message independently.
    bool server_no_context_takeover = false;
    /// The client compresses each message independently.
    bool client_no_context_takeover = false;
    /// Largest LZ77 window the server compresses with, 8..15.
    int server_max_window_bits = 15;
    /// Largest LZ77 window the client compresses with, 8..15.
    int client_max_window_bits = 15;

    bool operator==(const DeflateParameters&) const = default;
};

/// What one side wants from permessage-deflate. The four parameters mean the same on both
/// sides: what the agreed parameters should be at most (windows) or at least (no context
/// takeover); the server imposes them where the RFC lets it, the client requests them.
struct DeflateOptions {
    bool server_no_context_takeover = false;
    bool client_no_context_takeover = false;
    int server_max_window_bits = 15;
    int client_max_window_bits = 15;
    /// zlib settings of this side's compressor.
    int compression_level = 6;
    int memory_level = 8;
};

/// The server's choice: the agreed parameters and the Sec-WebSocket-Extensions response value.
struct DeflateAgreement {
    DeflateParameters parameters;
    std::string response;
};

/// Server side: picks the first acceptable permessage-deflate offer in `offers` (a
/// Sec-WebSocket-Extensions value); none when there is none (then the connection runs
/// uncompressed). Other extensions are ignored. Throws `InvalidUpgradeRequest` (400) when the
/// header does not parse, `WebSocketError` when `options` are out of range.
std::optional<DeflateAgreement> negotiate_deflate(std::string_view offers,
                                                  const DeflateOptions& options = {});

/// Client side: the Sec-WebSocket-Extensions value offering permessage-deflate with `options`.
/// It always includes `client_max_window_bits` (with a value below 15), announcing that the
/// server may limit our window.
std::string deflate_offer(const DeflateOptions& options = {});

/// Client side: validates the server's permessage-deflate response against what
/// `deflate_offer(options)` offered; throws `InvalidUpgradeResponse` when it is invalid.
DeflateParameters accept_deflate_response(const Extension& response,
                                          const DeflateOptions& options = {});

/// The compressor for what `role` sends under `parameters`, with `options`' zlib settings.
MessageCompressor make_compressor(Role role, const DeflateParameters& parameters,
                                  const DeflateOptions& options = {});
/// The decompressor for what `role` receives under `parameters`.
MessageDecompressor make_decompressor(Role role, const DeflateParameters& parameters);

}  // namespace gale::websocket
