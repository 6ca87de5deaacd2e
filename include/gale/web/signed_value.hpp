#pragma once
/// Tornado-compatible signed values (signed cookies), format version 2:
///
///     2|1:<key version>|<n>:<timestamp>|<n>:<name>|<n>:<base64 value>|<HMAC-SHA256 hex>
///
/// where each field is prefixed by its length and the HMAC covers everything before it. A value
/// signed by Tornado's create_signed_value (version=2) decodes here with the same secret, and
/// the reverse. Values are bytes; nothing is encrypted (the value is readable by the client).
///
/// Decoding returns std::optional rather than throwing: a tampered, expired, misnamed or
/// malformed value is ordinary untrusted input, read as "no value" (like Tornado's None).

#include <gale/ioloop/errors.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace gale::web {

/// The secrets used to sign and check values: either one secret, or several by key version
/// (for rotation: sign with the newest, still accept the older ones).
class SignedValueSecrets {
  public:
    /// One secret. Values are signed with key version 0, and the key version written in a value
    /// is ignored when checking it (as Tornado does for a string cookie_secret).
    explicit SignedValueSecrets(std::string secret);
    /// Versioned secrets; new values are signed with `signing_version`. Throws `gale::Error` if
    /// `signing_version` is not in `secrets` or a version is negative.
    SignedValueSecrets(std::map<int, std::string> secrets, int signing_version);

    int signing_version() const noexcept { return signing_version_; }
    const std::string& signing_secret() const;
    /// The secret to check a value that names `key_version`, or nullptr if unknown.
    const std::string* secret_for(int key_version) const;

  private:
    std::map<int, std::string> secrets_;
    int signing_version_ = 0;
    bool versioned_ = false;
};

/// Signs `value` under `name` with the signing secret, timestamped `now` (whole seconds).
std::string create_signed_value(
    const SignedValueSecrets& secrets, std::string_view name, std::string_view value,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

struct SignedValueOptions {
    /// Values signed longer ago than this are expired (Tornado's default: 31 days).
    double max_age_days = 31;
    /// The current time, for the expiry check.
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
};

/// The value signed under `name`, or nullopt if `signed_value` is malformed, not version 2, signed
/// with another secret or an unknown key version, tampered with, signed under another name, or
/// expired. Signatures are compared in constant time.
std::optional<std::string> decode_signed_value(const SignedValueSecrets& secrets,
                                               std::string_view name, std::string_view signed_value,
                                               const SignedValueOptions& options = {});

/// The key version written in a version-2 signed value (unchecked: use it to decide whether to
/// re-sign with a newer key after a successful decode), or nullopt if malformed.
std::optional<int> signed_value_key_version(std::string_view signed_value);

/// Standard base64 with padding (RFC 4648 §4).
std::string base64_encode(std::string_view bytes);
/// Decodes standard base64; nullopt on characters outside the alphabet or bad padding.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace gale::web
