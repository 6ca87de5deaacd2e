#include <gale/websocket/errors.hpp>
#include <gale/websocket/handshake.hpp>

#include "websocket/tokens.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>

namespace gale::websocket {

namespace {

constexpr std::string_view accept_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr std::size_t key_bytes = 16;
// Header values quoted in error messages are cut to this many characters.
constexpr std::size_t max_quoted_value = 64;

std::string base64(const unsigned char* data, std::size_t size) {
    std::string encoded(4 * ((size + 2) / 3) + 1, '\0');
    const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()), data,
                                       static_cast<int>(size));
    encoded.resize(static_cast<std::size_t>(length));
    return encoded;
}

int base64_value(char character) noexcept {
    if (character >= 'A' && character <= 'Z') {
        return character - 'A';
    }
    if (character >= 'a' && character <= 'z') {
        return character - 'a' + 26;
    }
    if (character >= '0' && character <= '9') {
        return character - '0' + 52;
    }
    if (character == '+') {
        return 62;
    }
    return character == '/' ? 63 : -1;
}

bool lists_token(std::optional<std::string_view> value, std::string_view token) {
    return value && list_contains_token(*value, token);
}

std::string quoted(std::optional<std::string_view> value) {
    if (!value) {
        return "none";
    }
    return fmt::format("\"{}\"", value->substr(0, max_quoted_value));
}

std::string join(const std::vector<std::string>& elements) {
    std::string joined;
    for (const std::string& element : elements) {
        if (!joined.empty()) {
            joined += ", ";
        }
        joined += element;
    }
    return joined;
}

void check_request_framing(const UpgradeRequest& request) {
    if (request.method != "GET") {
        throw InvalidUpgradeRequest(
            405, fmt::format("method {} cannot open a WebSocket (GET only)", request.method),
            {{"Allow", "GET"}});
    }
    if (!lists_token(request.upgrade, "websocket")) {
        throw InvalidUpgradeRequest(
            400, fmt::format("Upgrade is {}, not websocket", quoted(request.upgrade)));
    }
    if (!lists_token(request.connection, "upgrade")) {
        throw InvalidUpgradeRequest(400, fmt::format("Connection is {}, without the upgrade token",
                                                     quoted(request.connection)));
    }
    if (!request.version || trim_whitespace(*request.version) != protocol_version) {
        throw InvalidUpgradeRequest(426,
                                    fmt::format("Sec-WebSocket-Version is {}; only 13 is supported",
                                                quoted(request.version)),
                                    // RFC 9110 §15.5.22: a 426 names the protocol it wants.
                                    {{"Sec-WebSocket-Version", std::string(protocol_version)},
                                     {"Upgrade", "websocket"},
                                     {"Connection", "Upgrade"}});
    }
    if (!request.key || !is_valid_client_key(trim_whitespace(*request.key))) {
        throw InvalidUpgradeRequest(
            400, fmt::format("Sec-WebSocket-Key is {}, not the base64 of 16 bytes",
                             quoted(request.key)));
    }
}

void check_response_framing(const UpgradeResponse& response, const UpgradeOffer& offer) {
    if (response.status != 101) {
        throw InvalidUpgradeResponse(
            fmt::format("expected status 101 Switching Protocols, got {}", response.status));
    }
    if (!lists_token(response.upgrade, "websocket")) {
        throw InvalidUpgradeResponse(
            fmt::format("Upgrade is {}, not websocket", quoted(response.upgrade)));
    }
    if (!lists_token(response.connection, "upgrade")) {
        throw InvalidUpgradeResponse(fmt::format("Connection is {}, without the upgrade token",
                                                 quoted(response.connection)));
    }
    if (!response.accept || trim_whitespace(*response.accept) != accept_key(offer.key)) {
        throw InvalidUpgradeResponse(fmt::format(
            "Sec-WebSocket-Accept is {}, which does not match the key", quoted(response.accept)));
    }
}

std::string chosen_subprotocol(std::optional<std::string_view> header,
                               const std::vector<std::string>& offered) {
    const std::string_view chosen = header ? trim_whitespace(*header) : std::string_view();
    if (chosen.empty()) {
        return {};
    }
    for (const std::string& protocol : offered) {
        if (protocol == chosen) {
            return protocol;
        }
    }
    throw InvalidUpgradeResponse(
        fmt::format("the server chose subprotocol {}, which was not offered", quoted(chosen)));
}

std::optional<DeflateParameters> chosen_deflate(std::optional<std::string_view> header,
                                                const std::optional<DeflateOptions>& offered) {
    if (!header) {
        return std::nullopt;
    }
    std::vector<Extension> extensions;
    try {
        extensions = parse_extensions(*header);
    } catch (const WebSocketError& error) {
        throw InvalidUpgradeResponse(error.what());
    }
    std::optional<DeflateParameters> deflate;
    for (const Extension& extension : extensions) {
        if (!offered || deflate) {
            throw InvalidUpgradeResponse(fmt::format(
                "the server chose extension {}, which was not offered", extension.name));
        }
        deflate = accept_deflate_response(extension, *offered);
    }
    return deflate;
}

}  // namespace

std::string accept_key(std::string_view client_key) {
    std::string input(client_key);
    input += accept_guid;
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest;
    unsigned int digest_size = 0;
    if (EVP_Digest(input.data(), input.size(), digest.data(), &digest_size, EVP_sha1(), nullptr) !=
        1) {
        throw WebSocketError("SHA-1 failed (OpenSSL EVP_Digest)");
    }
    return base64(digest.data(), digest_size);
}

bool is_valid_client_key(std::string_view key) noexcept {
    // 16 bytes are 22 base64 digits (the last carrying 2 bits, its low 4 bits zero) and "==".
    if (key.size() != 24 || key[22] != '=' || key[23] != '=') {
        return false;
    }
    for (std::size_t index = 0; index < 22; ++index) {
        if (base64_value(key[index]) < 0) {
            return false;
        }
    }
    return (base64_value(key[21]) & 0x0F) == 0;
}

std::string generate_client_key() {
    std::array<unsigned char, key_bytes> bytes;
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        throw WebSocketError("cannot generate a Sec-WebSocket-Key: OpenSSL RAND_bytes failed");
    }
    return base64(bytes.data(), bytes.size());
}

std::vector<std::string> parse_subprotocols(std::string_view header) {
    std::vector<std::string> protocols;
    for (std::string_view element : split_list(header)) {
        if (!is_token(element)) {
            throw WebSocketError(fmt::format("invalid subprotocol \"{}\" in Sec-WebSocket-Protocol",
                                             element.substr(0, max_quoted_value)));
        }
        protocols.emplace_back(element);
    }
    return protocols;
}

ValidUpgradeRequest validate_upgrade_request(const UpgradeRequest& request) {
    check_request_framing(request);
    ValidUpgradeRequest valid;
    valid.accept = accept_key(trim_whitespace(*request.key));
    try {
        if (request.protocols) {
            valid.subprotocols = parse_subprotocols(*request.protocols);
        }
        if (request.extensions) {
            parse_extensions(*request.extensions);  // syntax only; negotiation comes later
            valid.extensions = std::string(*request.extensions);
        }
    } catch (const WebSocketError& error) {
        throw InvalidUpgradeRequest(400, error.what());
    }
    return valid;
}

ValidUpgradeRequest validate_upgrade_request(std::string_view method, const HeaderLookup& header) {
    UpgradeRequest request;
    request.method = method;
    request.upgrade = header("Upgrade");
    request.connection = header("Connection");
    request.version = header("Sec-WebSocket-Version");
    request.key = header("Sec-WebSocket-Key");
    request.protocols = header("Sec-WebSocket-Protocol");
    request.extensions = header("Sec-WebSocket-Extensions");
    return validate_upgrade_request(request);
}

HeaderList upgrade_response_headers(std::string_view accept, std::string_view subprotocol,
                                    std::string_view extensions) {
    HeaderList headers{{"Upgrade", "websocket"},
                       {"Connection", "Upgrade"},
                       {"Sec-WebSocket-Accept", std::string(accept)}};
    if (!subprotocol.empty()) {
        headers.emplace_back("Sec-WebSocket-Protocol", std::string(subprotocol));
    }
    if (!extensions.empty()) {
        headers.emplace_back("Sec-WebSocket-Extensions", std::string(extensions));
    }
    return headers;
}

HeaderList upgrade_request_headers(std::string_view key,
                                   const std::vector<std::string>& subprotocols,
                                   std::string_view extensions) {
    HeaderList headers{{"Upgrade", "websocket"},
                       {"Connection", "Upgrade"},
                       {"Sec-WebSocket-Key", std::string(key)},
                       {"Sec-WebSocket-Version", std::string(protocol_version)}};
    if (!subprotocols.empty()) {
        headers.emplace_back("Sec-WebSocket-Protocol", join(subprotocols));
    }
    if (!extensions.empty()) {
        headers.emplace_back("Sec-WebSocket-Extensions", std::string(extensions));
    }
    return headers;
}

AcceptedUpgrade validate_upgrade_response(const UpgradeResponse& response,
                                          const UpgradeOffer& offer) {
    check_response_framing(response, offer);
    AcceptedUpgrade accepted;
    accepted.subprotocol = chosen_subprotocol(response.protocol, offer.subprotocols);
    accepted.deflate = chosen_deflate(response.extensions, offer.deflate);
    return accepted;
}

AcceptedUpgrade validate_upgrade_response(int status, const HeaderLookup& header,
                                          const UpgradeOffer& offer) {
    UpgradeResponse response;
    response.status = status;
    response.upgrade = header("Upgrade");
    response.connection = header("Connection");
    response.accept = header("Sec-WebSocket-Accept");
    response.protocol = header("Sec-WebSocket-Protocol");
    response.extensions = header("Sec-WebSocket-Extensions");
    return validate_upgrade_response(response, offer);
}

}  // namespace gale::websocket
