// Masked XSRF tokens (Tornado's versions 1 and 2).

#include <gale/web/xsrf.hpp>

#include <gale/ioloop/errors.hpp>

#include "web/escape_internal.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>

namespace gale::web {

namespace {

constexpr std::size_t token_size = 16;
constexpr std::size_t mask_size = 4;

std::string random_bytes(std::size_t count) {
    std::string bytes(count, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(count)) != 1) {
        throw Error("OpenSSL's random generator failed to produce an XSRF token");
    }
    return bytes;
}

// Strict hex decoding (Python's binascii.a2b_hex): even length, hex digits only.
std::optional<std::string> hex_decode(std::string_view text) {
    if (text.size() % 2 != 0) {
        return std::nullopt;
    }
    std::string bytes;
    bytes.reserve(text.size() / 2);
    for (std::size_t i = 0; i < text.size(); i += 2) {
        int high = detail::hex_value(text[i]);
        int low = detail::hex_value(text[i + 1]);
        if (high < 0 || low < 0) {
            return std::nullopt;
        }
        bytes += static_cast<char>(high * 16 + low);
    }
    return bytes;
}

// RFC 6455 §5.3 masking, as Tornado reuses it: XOR with the mask repeated.
std::string apply_mask(std::string_view mask, std::string_view data) {
    std::string result(data);
    for (std::size_t i = 0; i < result.size(); ++i) {
        result[i] = static_cast<char>(result[i] ^ mask[i % mask.size()]);
    }
    return result;
}

// Whether `text` starts with Tornado's version prefix: [1-9][0-9]* then "|".
std::optional<std::string_view> version_prefix(std::string_view text) {
    if (text.empty() || text[0] < '1' || text[0] > '9') {
        return std::nullopt;
    }
    std::size_t end = 1;
    while (end < text.size() && detail::is_ascii_digit(text[end])) {
        ++end;
    }
    if (end >= text.size() || text[end] != '|') {
        return std::nullopt;
    }
    return text.substr(0, end);
}

std::optional<XsrfToken> decode_version_2(std::string_view text) {
    // "2|mask|masked|timestamp": exactly four fields.
    if (std::count(text.begin(), text.end(), '|') != 3) {
        return std::nullopt;
    }
    std::string_view rest = text.substr(2);
    std::size_t first = rest.find('|');
    std::size_t second = rest.find('|', first + 1);
    auto mask = hex_decode(rest.substr(0, first));
    auto masked = hex_decode(rest.substr(first + 1, second - first - 1));
    std::string_view timestamp_text = rest.substr(second + 1);
    if (!mask || mask->size() != mask_size || !masked || timestamp_text.empty() ||
        timestamp_text.size() > 12 ||
        !std::all_of(timestamp_text.begin(), timestamp_text.end(), detail::is_ascii_digit)) {
        return std::nullopt;
    }
    long long seconds = std::stoll(std::string(timestamp_text));
    // Beyond what system_clock can represent (year 2262 with nanoseconds): not a real token.
    constexpr auto latest = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::system_clock::duration::max());
    if (seconds > latest.count()) {
        return std::nullopt;
    }
    return XsrfToken{2, apply_mask(*mask, *masked),
                     std::chrono::system_clock::time_point{std::chrono::seconds(seconds)}};
}

}  // namespace

XsrfToken generate_xsrf_token(std::chrono::system_clock::time_point now) {
    return XsrfToken{2, random_bytes(token_size), now};
}

std::string encode_xsrf_token(const XsrfToken& token, int version) {
    if (version == 1) {
        return detail::hex_encode(token.token);
    }
    if (version != 2) {
        throw Error("unknown XSRF token version " + std::to_string(version) + " (expected 1 or 2)");
    }
    std::string mask = random_bytes(mask_size);
    auto seconds =
        std::chrono::floor<std::chrono::seconds>(token.timestamp.time_since_epoch()).count();
    return "2|" + detail::hex_encode(mask) + "|" +
           detail::hex_encode(apply_mask(mask, token.token)) + "|" + std::to_string(seconds);
}

std::optional<XsrfToken> decode_xsrf_token(std::string_view text,
                                           std::chrono::system_clock::time_point now) {
    if (text.empty()) {
        return std::nullopt;
    }
    if (auto version = version_prefix(text)) {
        if (*version != "2") {
            return std::nullopt;  // unknown versions count as absent, as in Tornado
        }
        return decode_version_2(text);
    }
    // Version 1: a hex token, or failing that the raw text.
    auto bytes = hex_decode(text);
    return XsrfToken{1, bytes ? std::move(*bytes) : std::string(text), now};
}

XsrfCheck check_xsrf_token(std::string_view submitted, std::optional<std::string_view> cookie) {
    if (submitted.empty()) {
        return XsrfCheck::missing;
    }
    auto submitted_token = decode_xsrf_token(submitted);
    if (!submitted_token || submitted_token->token.empty()) {
        return XsrfCheck::invalid_format;
    }
    auto cookie_token = cookie ? decode_xsrf_token(*cookie) : std::nullopt;
    if (!cookie_token || cookie_token->token.empty() ||
        !constant_time_equals(submitted_token->token, cookie_token->token)) {
        return XsrfCheck::mismatch;
    }
    return XsrfCheck::ok;
}

std::string_view describe(XsrfCheck result) {
    switch (result) {
        case XsrfCheck::ok:
            return "XSRF token matches the cookie";
        case XsrfCheck::missing:
            return "'_xsrf' argument missing from POST";
        case XsrfCheck::invalid_format:
            return "'_xsrf' argument has invalid format";
        case XsrfCheck::mismatch:
            return "XSRF cookie does not match POST argument";
    }
    return "unknown XSRF check result";
}

bool constant_time_equals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace gale::web
