// Tornado's version-2 signed values with HMAC-SHA256 from OpenSSL.

#include <gale/web/signed_value.hpp>

#include "web/escape_internal.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

namespace gale::web {

namespace {

constexpr std::size_t max_field_length_digits = 9;

std::string hmac_sha256_hex(std::string_view secret, std::string_view message) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest.data(),
         &length);
    return detail::hex_encode(
        std::string_view(reinterpret_cast<const char*>(digest.data()), length));
}

void append_field(std::string& out, std::string_view field) {
    out += std::to_string(field.size());
    out += ':';
    out += field;
    out += '|';
}

std::optional<long long> parse_decimal(std::string_view digits) {
    if (digits.empty() || digits.size() > 18) {
        return std::nullopt;
    }
    long long value = 0;
    for (char c : digits) {
        if (!detail::is_ascii_digit(c)) {
            return std::nullopt;
        }
        value = value * 10 + (c - '0');
    }
    return value;
}

// Reads "<length>:<bytes>|" from the front of `rest`.
std::optional<std::string_view> consume_field(std::string_view& rest) {
    std::size_t colon = rest.find(':');
    if (colon == std::string_view::npos || colon > max_field_length_digits) {
        return std::nullopt;
    }
    auto length = parse_decimal(rest.substr(0, colon));
    // The field and the "|" after it must fit in what follows the colon.
    if (!length || static_cast<std::size_t>(*length) >= rest.size() - colon - 1) {
        return std::nullopt;
    }
    auto size = static_cast<std::size_t>(*length);
    std::string_view field = rest.substr(colon + 1, size);
    if (rest[colon + 1 + size] != '|') {
        return std::nullopt;
    }
    rest.remove_prefix(colon + 2 + size);
    return field;
}

struct Fields {
    int key_version = 0;
    long long timestamp = 0;
    std::string_view name;
    std::string_view value;
    std::string_view signed_part;
    std::string_view signature;
};

std::optional<Fields> split_fields(std::string_view signed_value) {
    if (!signed_value.starts_with("2|")) {
        return std::nullopt;
    }
    std::string_view rest = signed_value.substr(2);
    auto key_version = consume_field(rest);
    auto timestamp = key_version ? consume_field(rest) : std::nullopt;
    auto name = timestamp ? consume_field(rest) : std::nullopt;
    auto value = name ? consume_field(rest) : std::nullopt;
    if (!value) {
        return std::nullopt;
    }
    auto parsed_version = parse_decimal(*key_version);
    auto parsed_timestamp = parse_decimal(*timestamp);
    if (!parsed_version || *parsed_version > 1'000'000'000 || !parsed_timestamp) {
        return std::nullopt;
    }
    return Fields{static_cast<int>(*parsed_version),
                  *parsed_timestamp,
                  *name,
                  *value,
                  signed_value.substr(0, signed_value.size() - rest.size()),
                  rest};
}

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

}  // namespace

SignedValueSecrets::SignedValueSecrets(std::string secret) {
    secrets_.emplace(0, std::move(secret));
}

SignedValueSecrets::SignedValueSecrets(std::map<int, std::string> secrets, int signing_version)
    : secrets_(std::move(secrets)), signing_version_(signing_version), versioned_(true) {
    if (!secrets_.contains(signing_version)) {
        throw Error("signing key version " + std::to_string(signing_version) +
                    " is not among the secrets");
    }
    if (secrets_.begin()->first < 0) {
        throw Error("key version " + std::to_string(secrets_.begin()->first) +
                    " is negative: key versions must be >= 0");
    }
}

const std::string& SignedValueSecrets::signing_secret() const {
    return secrets_.at(signing_version_);
}

const std::string* SignedValueSecrets::secret_for(int key_version) const {
    if (!versioned_) {
        return &secrets_.begin()->second;
    }
    auto found = secrets_.find(key_version);
    return found == secrets_.end() ? nullptr : &found->second;
}

std::string create_signed_value(const SignedValueSecrets& secrets, std::string_view name,
                                std::string_view value, std::chrono::system_clock::time_point now) {
    auto timestamp = std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count();
    std::string result = "2|";
    append_field(result, std::to_string(secrets.signing_version()));
    append_field(result, std::to_string(timestamp));
    append_field(result, name);
    append_field(result, base64_encode(value));
    result += hmac_sha256_hex(secrets.signing_secret(), result);
    return result;
}

std::optional<std::string> decode_signed_value(const SignedValueSecrets& secrets,
                                               std::string_view name, std::string_view signed_value,
                                               const SignedValueOptions& options) {
    auto fields = split_fields(signed_value);
    if (!fields) {
        return std::nullopt;
    }
    const std::string* secret = secrets.secret_for(fields->key_version);
    if (secret == nullptr) {
        return std::nullopt;
    }
    std::string expected = hmac_sha256_hex(*secret, fields->signed_part);
    if (fields->signature.size() != expected.size() ||
        CRYPTO_memcmp(fields->signature.data(), expected.data(), expected.size()) != 0) {
        return std::nullopt;
    }
    if (fields->name != name) {
        return std::nullopt;
    }
    double now = std::chrono::duration<double>(options.now.time_since_epoch()).count();
    if (static_cast<double>(fields->timestamp) < now - options.max_age_days * 86400.0) {
        return std::nullopt;
    }
    return base64_decode(fields->value);
}

std::optional<int> signed_value_key_version(std::string_view signed_value) {
    auto fields = split_fields(signed_value);
    if (!fields) {
        return std::nullopt;
    }
    return fields->key_version;
}

std::string base64_encode(std::string_view bytes) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string result;
    result.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    auto byte = [&](std::size_t index) { return static_cast<unsigned char>(bytes[index]); };
    for (; i + 3 <= bytes.size(); i += 3) {
        unsigned value = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
        result += alphabet[(value >> 18) & 63];
        result += alphabet[(value >> 12) & 63];
        result += alphabet[(value >> 6) & 63];
        result += alphabet[value & 63];
    }
    if (std::size_t left = bytes.size() - i; left > 0) {
        unsigned value = byte(i) << 16;
        if (left == 2) {
            value |= byte(i + 1) << 8;
        }
        result += alphabet[(value >> 18) & 63];
        result += alphabet[(value >> 12) & 63];
        result += left == 2 ? alphabet[(value >> 6) & 63] : '=';
        result += '=';
    }
    return result;
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    std::size_t padding = 0;
    if (text.ends_with("==")) {
        padding = 2;
    } else if (text.ends_with("=")) {
        padding = 1;
    }
    std::string result;
    result.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        bool last = i + 4 == text.size();
        unsigned value = 0;
        for (std::size_t j = 0; j < 4; ++j) {
            bool is_padding = last && j >= 4 - padding;
            int digit = is_padding ? 0 : base64_value(text[i + j]);
            if (digit < 0) {
                return std::nullopt;
            }
            value = (value << 6) | static_cast<unsigned>(digit);
        }
        result += static_cast<char>((value >> 16) & 0xFF);
        if (!last || padding < 2) {
            result += static_cast<char>((value >> 8) & 0xFF);
        }
        if (!last || padding < 1) {
            result += static_cast<char>(value & 0xFF);
        }
    }
    return result;
}

}  // namespace gale::web
