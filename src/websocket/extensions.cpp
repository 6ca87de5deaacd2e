#include <gale/websocket/errors.hpp>
#include <gale/websocket/extensions.hpp>

#include "websocket/tokens.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace gale::websocket {

namespace {

constexpr std::string_view deflate_name = "permessage-deflate";

// A cursor over a Sec-WebSocket-Extensions value.
class ExtensionListParser {
  public:
    explicit ExtensionListParser(std::string_view text) : text_(text) {}

    std::vector<Extension> parse() {
        std::vector<Extension> extensions;
        while (true) {
            skip_whitespace();
            if (at_end()) {
                return extensions;
            }
            if (peek() == ',') {  // an empty list element
                ++position_;
                continue;
            }
            extensions.push_back(parse_extension());
            skip_whitespace();
            if (at_end()) {
                return extensions;
            }
            expect(',');
        }
    }

  private:
    Extension parse_extension() {
        Extension extension{std::string(parse_token("extension name")), {}};
        while (true) {
            skip_whitespace();
            if (at_end() || peek() != ';') {
                return extension;
            }
            ++position_;
            skip_whitespace();
            extension.parameters.push_back(parse_parameter());
        }
    }

    ExtensionParameter parse_parameter() {
        ExtensionParameter parameter{std::string(parse_token("parameter name")), std::nullopt};
        skip_whitespace();
        if (at_end() || peek() != '=') {
            return parameter;
        }
        ++position_;
        skip_whitespace();
        if (!at_end() && peek() == '"') {
            parameter.value = parse_quoted_token();
        } else {
            parameter.value = std::string(parse_token("parameter value"));
        }
        return parameter;
    }

    std::string_view parse_token(std::string_view what) {
        const std::size_t start = position_;
        while (!at_end() && is_token_char(peek())) {
            ++position_;
        }
        if (position_ == start) {
            fail(fmt::format("expected {}", what));
        }
        return text_.substr(start, position_ - start);
    }

    // A quoted-string whose unescaped content must be a token (RFC 6455 §9.1).
    std::string parse_quoted_token() {
        ++position_;  // the opening quote
        std::string value;
        while (!at_end() && peek() != '"') {
            if (peek() == '\\') {
                ++position_;
                if (at_end()) {
                    break;
                }
            }
            value.push_back(peek());
            ++position_;
        }
        if (at_end()) {
            fail("unterminated quoted string");
        }
        ++position_;  // the closing quote
        if (!is_token(value)) {
            fail(fmt::format("quoted value \"{}\" is not a token", value));
        }
        return value;
    }

    void expect(char wanted) {
        if (at_end() || peek() != wanted) {
            fail(fmt::format("expected '{}'", wanted));
        }
        ++position_;
    }

    [[noreturn]] void fail(const std::string& what) const {
        throw WebSocketError(fmt::format("invalid Sec-WebSocket-Extensions \"{}\": {} at offset {}",
                                         text_.substr(0, 200), what, position_));
    }

    bool at_end() const noexcept { return position_ >= text_.size(); }
    char peek() const noexcept { return text_[position_]; }
    void skip_whitespace() noexcept {
        while (!at_end() && (peek() == ' ' || peek() == '\t')) {
            ++position_;
        }
    }

    std::string_view text_;
    std::size_t position_ = 0;
};

// "8".."15": decimal without leading zeros (RFC 7692 §7.1.2.1).
std::optional<int> parse_window_bits(const std::optional<std::string>& value) {
    if (!value || value->empty() || value->size() > 2 || (*value)[0] == '0') {
        return std::nullopt;
    }
    int bits = 0;
    for (char digit : *value) {
        if (digit < '0' || digit > '9') {
            return std::nullopt;
        }
        bits = bits * 10 + (digit - '0');
    }
    if (bits < 8 || bits > 15) {
        return std::nullopt;
    }
    return bits;
}

void check_window_bits(int bits, std::string_view name) {
    if (bits < 8 || bits > 15) {
        throw WebSocketError(fmt::format("{} {} outside 8..15", name, bits));
    }
}

void check_options(const DeflateOptions& options) {
    check_window_bits(options.server_max_window_bits, "server_max_window_bits");
    check_window_bits(options.client_max_window_bits, "client_max_window_bits");
}

// What a permessage-deflate offer or response says, with its syntax checked.
struct DeflateFields {
    bool server_no_context_takeover = false;
    bool client_no_context_takeover = false;
    std::optional<int> server_max_window_bits;
    bool has_client_max_window_bits = false;
    std::optional<int> client_max_window_bits;
};

// Reads the parameters; an error message when one is unknown, repeated or has a bad value.
// `client_bits_value_required`: responses must give client_max_window_bits a value, offers
// need not.
std::optional<std::string> read_deflate_fields(const Extension& extension,
                                               bool client_bits_value_required,
                                               DeflateFields& fields) {
    std::array<bool, 4> seen{};
    for (const ExtensionParameter& parameter : extension.parameters) {
        const std::string& name = parameter.name;
        int index = -1;
        if (equals_ignoring_case(name, "server_no_context_takeover")) {
            index = 0;
            fields.server_no_context_takeover = true;
        } else if (equals_ignoring_case(name, "client_no_context_takeover")) {
            index = 1;
            fields.client_no_context_takeover = true;
        } else if (equals_ignoring_case(name, "server_max_window_bits")) {
            index = 2;
            fields.server_max_window_bits = parse_window_bits(parameter.value);
            if (!fields.server_max_window_bits) {
                return fmt::format("{} needs a value in 8..15", name);
            }
        } else if (equals_ignoring_case(name, "client_max_window_bits")) {
            index = 3;
            fields.has_client_max_window_bits = true;
            if (parameter.value || client_bits_value_required) {
                fields.client_max_window_bits = parse_window_bits(parameter.value);
                if (!fields.client_max_window_bits) {
                    return fmt::format("{} needs a value in 8..15", name);
                }
            }
        } else {
            return fmt::format("unknown parameter {}", name);
        }
        if (seen[static_cast<std::size_t>(index)]) {
            return fmt::format("parameter {} given twice", name);
        }
        seen[static_cast<std::size_t>(index)] = true;
        if (index < 2 && parameter.value) {
            return fmt::format("parameter {} takes no value", name);
        }
    }
    return std::nullopt;
}

std::string format_response(const DeflateParameters& agreed, bool include_server_bits,
                            bool include_client_bits) {
    std::string response(deflate_name);
    if (agreed.server_no_context_takeover) {
        response += "; server_no_context_takeover";
    }
    if (agreed.client_no_context_takeover) {
        response += "; client_no_context_takeover";
    }
    if (include_server_bits) {
        response += fmt::format("; server_max_window_bits={}", agreed.server_max_window_bits);
    }
    if (include_client_bits) {
        response += fmt::format("; client_max_window_bits={}", agreed.client_max_window_bits);
    }
    return response;
}

// The agreement for one valid offer, or none when the server cannot honour it.
std::optional<DeflateAgreement> agree(const DeflateFields& offer, const DeflateOptions& options) {
    DeflateParameters agreed;
    agreed.server_no_context_takeover =
        offer.server_no_context_takeover || options.server_no_context_takeover;
    agreed.client_no_context_takeover =
        offer.client_no_context_takeover || options.client_no_context_takeover;
    agreed.server_max_window_bits =
        std::min(offer.server_max_window_bits.value_or(15), options.server_max_window_bits);
    const bool include_server_bits =
        offer.server_max_window_bits.has_value() || agreed.server_max_window_bits < 15;
    if (!offer.has_client_max_window_bits && options.client_max_window_bits < 15) {
        return std::nullopt;  // the client could not be held to our window limit
    }
    agreed.client_max_window_bits =
        std::min(offer.client_max_window_bits.value_or(15), options.client_max_window_bits);
    const bool include_client_bits =
        offer.has_client_max_window_bits && agreed.client_max_window_bits < 15;
    return DeflateAgreement{agreed,
                            format_response(agreed, include_server_bits, include_client_bits)};
}

}  // namespace

std::vector<Extension> parse_extensions(std::string_view header) {
    return ExtensionListParser(header).parse();
}

std::optional<DeflateAgreement> negotiate_deflate(std::string_view offers,
                                                  const DeflateOptions& options) {
    check_options(options);
    std::vector<Extension> extensions;
    try {
        extensions = parse_extensions(offers);
    } catch (const WebSocketError& error) {
        throw InvalidUpgradeRequest(400, error.what());
    }
    for (const Extension& extension : extensions) {
        if (!equals_ignoring_case(extension.name, deflate_name)) {
            continue;
        }
        DeflateFields offer;
        if (read_deflate_fields(extension, false, offer)) {
            continue;  // an invalid offer is declined, not an error (RFC 7692 §5)
        }
        if (auto agreement = agree(offer, options)) {
            return agreement;
        }
    }
    return std::nullopt;
}

std::string deflate_offer(const DeflateOptions& options) {
    check_options(options);
    std::string offer(deflate_name);
    if (options.server_no_context_takeover) {
        offer += "; server_no_context_takeover";
    }
    if (options.client_no_context_takeover) {
        offer += "; client_no_context_takeover";
    }
    if (options.server_max_window_bits < 15) {
        offer += fmt::format("; server_max_window_bits={}", options.server_max_window_bits);
    }
    offer += "; client_max_window_bits";
    if (options.client_max_window_bits < 15) {
        offer += fmt::format("={}", options.client_max_window_bits);
    }
    return offer;
}

DeflateParameters accept_deflate_response(const Extension& response,
                                          const DeflateOptions& options) {
    check_options(options);
    if (!equals_ignoring_case(response.name, deflate_name)) {
        throw InvalidUpgradeResponse(
            fmt::format("the server accepted extension {}, which was not offered", response.name));
    }
    DeflateFields fields;
    if (auto error = read_deflate_fields(response, true, fields)) {
        throw InvalidUpgradeResponse(
            fmt::format("invalid permessage-deflate response: {}", *error));
    }
    if (fields.server_max_window_bits && options.server_max_window_bits < 15 &&
        *fields.server_max_window_bits > options.server_max_window_bits) {
        throw InvalidUpgradeResponse(
            fmt::format("the server's server_max_window_bits={} exceeds the {} requested",
                        *fields.server_max_window_bits, options.server_max_window_bits));
    }
    DeflateParameters agreed;
    agreed.server_no_context_takeover = fields.server_no_context_takeover;
    agreed.client_no_context_takeover =
        fields.client_no_context_takeover || options.client_no_context_takeover;
    agreed.server_max_window_bits = fields.server_max_window_bits.value_or(15);
    agreed.client_max_window_bits =
        std::min(fields.client_max_window_bits.value_or(15), options.client_max_window_bits);
    return agreed;
}

MessageCompressor make_compressor(Role role, const DeflateParameters& parameters,
                                  const DeflateOptions& options) {
    const bool server = role == Role::server;
    CompressorSettings settings;
    settings.window_bits =
        server ? parameters.server_max_window_bits : parameters.client_max_window_bits;
    settings.context_takeover =
        server ? !parameters.server_no_context_takeover : !parameters.client_no_context_takeover;
    settings.level = options.compression_level;
    settings.memory_level = options.memory_level;
    return MessageCompressor(settings);
}

MessageDecompressor make_decompressor(Role role, const DeflateParameters& parameters) {
    const bool server = role == Role::server;
    return MessageDecompressor(
        server ? parameters.client_max_window_bits : parameters.server_max_window_bits,
        server ? !parameters.client_no_context_takeover : !parameters.server_no_context_takeover);
}

}  // namespace gale::websocket
