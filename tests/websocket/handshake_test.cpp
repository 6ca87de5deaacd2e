// The opening handshake: the accept key (RFC 6455's example), the server's checks of an
// upgrade request with the status each failure answers, and the client's checks of the 101.

#include <gale/websocket/errors.hpp>
#include <gale/websocket/handshake.hpp>

#include <catch2/catch.hpp>

#include <map>
#include <set>

using namespace gale::websocket;

namespace {

constexpr std::string_view sample_key = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr std::string_view sample_accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

UpgradeRequest valid_request() {
    UpgradeRequest request;
    request.method = "GET";
    request.upgrade = "websocket";
    request.connection = "Upgrade";
    request.version = "13";
    request.key = sample_key;
    return request;
}

// The status and message `validate_upgrade_request` fails with.
std::pair<int, std::string> rejection(const UpgradeRequest& request) {
    try {
        validate_upgrade_request(request);
    } catch (const InvalidUpgradeRequest& error) {
        return {error.status(), error.what()};
    }
    return {0, ""};
}

UpgradeResponse valid_response() {
    UpgradeResponse response;
    response.status = 101;
    response.upgrade = "websocket";
    response.connection = "Upgrade";
    response.accept = sample_accept;
    return response;
}

UpgradeOffer sample_offer() {
    UpgradeOffer offer;
    offer.key = std::string(sample_key);
    return offer;
}

std::string response_error(const UpgradeResponse& response, const UpgradeOffer& offer) {
    try {
        validate_upgrade_response(response, offer);
    } catch (const InvalidUpgradeResponse& error) {
        return error.what();
    }
    return "";
}

}  // namespace

TEST_CASE("RFC 6455's sample key gives its accept value", "[handshake]") {
    CHECK(accept_key(sample_key) == sample_accept);
}

TEST_CASE("client keys: canonical base64 of 16 bytes", "[handshake]") {
    CHECK(is_valid_client_key(sample_key));
    CHECK(is_valid_client_key("AAAAAAAAAAAAAAAAAAAAAA=="));
    CHECK(is_valid_client_key("/+/+/+/+/+/+/+/+/+/+/w=="));
    CHECK_FALSE(is_valid_client_key(""));
    CHECK_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ="));  // 23 characters
    CHECK_FALSE(
        is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ=="
                            "A"));
    CHECK_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZR=="));  // non-zero padding bits
    CHECK_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25j*Q=="));  // not base64
    CHECK_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQAA"));  // no padding
    CHECK_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ-_"));
    CHECK_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZXMh"));  // 18 bytes
    std::set<std::string> keys;
    for (int index = 0; index < 100; ++index) {
        const std::string key = generate_client_key();
        CHECK(is_valid_client_key(key));
        keys.insert(key);
    }
    CHECK(keys.size() == 100);
}

TEST_CASE("subprotocol lists", "[handshake]") {
    CHECK(parse_subprotocols("chat, superchat") == std::vector<std::string>{"chat", "superchat"});
    CHECK(parse_subprotocols(" v1.json.api ,,wamp.2.json ") ==
          std::vector<std::string>{"v1.json.api", "wamp.2.json"});
    CHECK(parse_subprotocols("").empty());
    CHECK_THROWS_WITH(parse_subprotocols("chat, super chat"), Catch::Contains("super chat"));
    CHECK_THROWS_AS(parse_subprotocols("a/b"), WebSocketError);
}

TEST_CASE("a valid upgrade request", "[handshake]") {
    UpgradeRequest request = valid_request();
    request.upgrade = "WebSocket";
    request.connection = "keep-alive, Upgrade";
    request.protocols = "chat, superchat";
    request.extensions = "permessage-deflate; client_max_window_bits";
    const ValidUpgradeRequest valid = validate_upgrade_request(request);
    CHECK(valid.accept == sample_accept);
    CHECK(valid.subprotocols == std::vector<std::string>{"chat", "superchat"});
    CHECK(valid.extensions == "permessage-deflate; client_max_window_bits");
    // Values with surrounding whitespace, tokens in any case.
    request.version = " 13 ";
    request.key = " dGhlIHNhbXBsZSBub25jZQ== ";
    request.connection = "UPGRADE";
    request.upgrade = "h2c, websocket";
    CHECK(validate_upgrade_request(request).accept == sample_accept);
}

TEST_CASE("upgrade requests that fail, with their statuses", "[handshake]") {
    UpgradeRequest request = valid_request();
    request.method = "POST";
    try {
        validate_upgrade_request(request);
        FAIL("no exception");
    } catch (const InvalidUpgradeRequest& error) {
        CHECK(error.status() == 405);
        CHECK(error.response_headers() ==
              std::vector<std::pair<std::string, std::string>>{{"Allow", "GET"}});
    }
    request = valid_request();
    request.method = "get";  // methods are case-sensitive
    CHECK(rejection(request).first == 405);

    request = valid_request();
    request.upgrade.reset();
    CHECK(rejection(request).first == 400);
    request.upgrade = "h2c";
    CHECK(rejection(request) ==
          std::pair<int, std::string>{400, "Upgrade is \"h2c\", not websocket"});
    request.upgrade = "websockets";
    CHECK(rejection(request).first == 400);

    request = valid_request();
    request.connection.reset();
    CHECK(rejection(request).first == 400);
    request.connection = "keep-alive";
    CHECK_THAT(rejection(request).second, Catch::Contains("keep-alive"));
    request.connection = "upgrades";
    CHECK(rejection(request).first == 400);

    for (std::optional<std::string_view> version :
         {std::optional<std::string_view>(), std::optional<std::string_view>("8"),
          std::optional<std::string_view>("12"), std::optional<std::string_view>("13, 8"),
          std::optional<std::string_view>("")}) {
        request = valid_request();
        request.version = version;
        try {
            validate_upgrade_request(request);
            FAIL("no exception");
        } catch (const InvalidUpgradeRequest& error) {
            CHECK(error.status() == 426);
            // RFC 9110 §15.5.22: a 426 carries Upgrade (and the Connection option for it).
            CHECK(error.response_headers() ==
                  std::vector<std::pair<std::string, std::string>>{{"Sec-WebSocket-Version", "13"},
                                                                   {"Upgrade", "websocket"},
                                                                   {"Connection", "Upgrade"}});
        }
    }

    for (std::optional<std::string_view> key :
         {std::optional<std::string_view>(), std::optional<std::string_view>(""),
          std::optional<std::string_view>("short"),
          std::optional<std::string_view>("dGhlIHNhbXBsZSBub25jZQ==, dGhlIHNhbXBsZSBub25jZQ==")}) {
        request = valid_request();
        request.key = key;
        CHECK(rejection(request).first == 400);
    }

    request = valid_request();
    request.protocols = "chat, bad protocol";
    CHECK(rejection(request).first == 400);
    request = valid_request();
    request.extensions = "permessage-deflate;;";
    CHECK(rejection(request).first == 400);
}

TEST_CASE("error messages quote bounded header values", "[handshake]") {
    UpgradeRequest request = valid_request();
    const std::string long_value(10000, 'k');
    request.key = long_value;
    const auto [status, message] = rejection(request);
    CHECK(status == 400);
    CHECK(message.size() < 200);
}

TEST_CASE("validation through a header lookup function", "[handshake]") {
    const std::map<std::string, std::string> fields{{"upgrade", "websocket"},
                                                    {"connection", "Upgrade"},
                                                    {"sec-websocket-version", "13"},
                                                    {"sec-websocket-key", std::string(sample_key)},
                                                    {"sec-websocket-protocol", "chat"}};
    const HeaderLookup lookup = [&](std::string_view name) -> std::optional<std::string_view> {
        std::string lower(name);
        for (char& character : lower) {
            character = static_cast<char>(std::tolower(static_cast<unsigned char>(character)));
        }
        const auto found = fields.find(lower);
        if (found == fields.end()) {
            return std::nullopt;
        }
        return std::string_view(found->second);
    };
    const ValidUpgradeRequest valid = validate_upgrade_request("GET", lookup);
    CHECK(valid.accept == sample_accept);
    CHECK(valid.subprotocols == std::vector<std::string>{"chat"});
    CHECK(valid.extensions.empty());
    CHECK_THROWS_AS(validate_upgrade_request("PUT", lookup), InvalidUpgradeRequest);
}

TEST_CASE("response and request header lists", "[handshake]") {
    CHECK(upgrade_response_headers(sample_accept) ==
          HeaderList{{"Upgrade", "websocket"},
                     {"Connection", "Upgrade"},
                     {"Sec-WebSocket-Accept", std::string(sample_accept)}});
    CHECK(upgrade_response_headers(sample_accept, "chat", "permessage-deflate").size() == 5);
    const HeaderList request =
        upgrade_request_headers(sample_key, {"chat", "superchat"}, deflate_offer());
    CHECK(request ==
          HeaderList{{"Upgrade", "websocket"},
                     {"Connection", "Upgrade"},
                     {"Sec-WebSocket-Key", std::string(sample_key)},
                     {"Sec-WebSocket-Version", "13"},
                     {"Sec-WebSocket-Protocol", "chat, superchat"},
                     {"Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"}});
}

TEST_CASE("a valid 101 response", "[handshake]") {
    UpgradeOffer offer = sample_offer();
    offer.subprotocols = {"chat", "superchat"};
    offer.deflate = DeflateOptions{};
    UpgradeResponse response = valid_response();
    response.protocol = "superchat";
    response.extensions = "permessage-deflate; server_no_context_takeover";
    const AcceptedUpgrade accepted = validate_upgrade_response(response, offer);
    CHECK(accepted.subprotocol == "superchat");
    REQUIRE(accepted.deflate);
    CHECK(accepted.deflate->server_no_context_takeover);
    // Nothing chosen.
    const AcceptedUpgrade plain = validate_upgrade_response(valid_response(), offer);
    CHECK(plain.subprotocol.empty());
    CHECK_FALSE(plain.deflate);
}

TEST_CASE("101 responses the client rejects", "[handshake]") {
    const UpgradeOffer offer = sample_offer();
    UpgradeResponse response = valid_response();
    response.status = 200;
    CHECK_THAT(response_error(response, offer), Catch::Contains("got 200"));
    response = valid_response();
    response.upgrade = "h2c";
    CHECK_THAT(response_error(response, offer), Catch::Contains("Upgrade"));
    response = valid_response();
    response.connection.reset();
    CHECK_THAT(response_error(response, offer), Catch::Contains("Connection"));
    response = valid_response();
    response.accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOp=";
    CHECK_THAT(response_error(response, offer), Catch::Contains("Sec-WebSocket-Accept"));
    response.accept.reset();
    CHECK_THAT(response_error(response, offer), Catch::Contains("Sec-WebSocket-Accept"));

    // A subprotocol or an extension that was not offered.
    response = valid_response();
    response.protocol = "chat";
    CHECK_THAT(response_error(response, offer), Catch::Contains("chat"));
    UpgradeOffer with_protocols = sample_offer();
    with_protocols.subprotocols = {"chat"};
    response.protocol = "Chat";  // subprotocols are case-sensitive
    CHECK_THAT(response_error(response, with_protocols), Catch::Contains("not offered"));
    response.protocol = "chat, superchat";
    CHECK_FALSE(response_error(response, with_protocols).empty());

    response = valid_response();
    response.extensions = "permessage-deflate";
    CHECK_THAT(response_error(response, offer), Catch::Contains("permessage-deflate"));
    UpgradeOffer with_deflate = sample_offer();
    with_deflate.deflate = DeflateOptions{};
    response.extensions = "permessage-deflate, permessage-deflate";
    CHECK_THAT(response_error(response, with_deflate), Catch::Contains("not offered"));
    response.extensions = "x-webkit-deflate-frame";
    CHECK_THAT(response_error(response, with_deflate), Catch::Contains("x-webkit-deflate-frame"));
    response.extensions = "permessage-deflate; bogus";
    CHECK_THAT(response_error(response, with_deflate), Catch::Contains("bogus"));
    response.extensions = "permessage-deflate;";
    CHECK_FALSE(response_error(response, with_deflate).empty());
}

TEST_CASE("validation of a response through a header lookup function", "[handshake]") {
    const HeaderLookup lookup = [](std::string_view name) -> std::optional<std::string_view> {
        if (name == "Upgrade") {
            return "websocket";
        }
        if (name == "Connection") {
            return "upgrade";
        }
        if (name == "Sec-WebSocket-Accept") {
            return sample_accept;
        }
        return std::nullopt;
    };
    CHECK(validate_upgrade_response(101, lookup, sample_offer()).subprotocol.empty());
    CHECK_THROWS_AS(validate_upgrade_response(404, lookup, sample_offer()), InvalidUpgradeResponse);
}
