#pragma once
/// Streaming UTF-8 validation (RFC 3629), for text messages and close reasons.
///
/// `Utf8Validator` is a byte-at-a-time state machine with an ASCII fast path, fed the pieces of
/// a message as they arrive: a code point split across fragments (or across reads) is carried
/// over, and an invalid byte is reported by the `feed` call that contains it, so a connection
/// can fail as soon as the bad byte arrives instead of at the end of the message.
///
/// Rejected: bytes C0, C1 and F5-FF; overlong forms (E0 80-9F, F0 80-8F); UTF-16 surrogates
/// (ED A0-BF, i.e. U+D800-U+DFFF); code points above U+10FFFF (F4 90-BF); continuation bytes
/// without a lead byte, and lead bytes not followed by enough continuation bytes.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace gale::websocket {

class Utf8Validator {
  public:
    /// Validates the next bytes of the text. Returns false from the first invalid byte on;
    /// once failed, the validator stays failed until `reset`.
    bool feed(std::string_view bytes) noexcept;
    /// True when everything fed so far is valid and ends on a code point boundary.
    bool complete() const noexcept { return state_ == accept_state; }
    /// True once an invalid byte was fed.
    bool failed() const noexcept { return state_ == reject_state; }
    /// Bytes fed before the first invalid one (all of them while valid).
    std::size_t valid_prefix_size() const noexcept { return valid_bytes_; }
    void reset() noexcept {
        state_ = accept_state;
        valid_bytes_ = 0;
    }

    static constexpr std::uint8_t accept_state = 0;
    static constexpr std::uint8_t reject_state = 8;

  private:
    std::uint8_t state_ = accept_state;
    std::size_t valid_bytes_ = 0;
};

/// True when `text` is complete, valid UTF-8.
bool is_valid_utf8(std::string_view text) noexcept;

}  // namespace gale::websocket
