#pragma once
// Eight bytes at a time over field values (SWAR), for the parser and the writer: both look at
// every byte of every field, and most values are long runs of plain text.

#include <bit>
#include <cstdint>
#include <cstring>

namespace gale::http::detail {

/// The high bit of every byte of `word` that is a control character (below 0x20, HTAB
/// included) or DEL: the bytes that may not appear in a field value, and the tab, which may.
/// Bytes from 0x80 (obs-text) are not marked. Borrows run only upward from a marked byte, so
/// the lowest marked byte is exact (higher ones may be marked falsely).
constexpr std::uint64_t control_bytes(std::uint64_t word) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ull;
    constexpr std::uint64_t high = 0x8080808080808080ull;
    const std::uint64_t below_space = (word - 0x20 * ones) & ~word & high;
    const std::uint64_t not_delete = word ^ (0x7f * ones);  // zero where the byte is DEL
    const std::uint64_t delete_byte = (not_delete - ones) & ~not_delete & high;
    return below_space | delete_byte;
}

/// The first byte from `at` (up to `end`) that is a control character or DEL, skipping eight
/// plain bytes at a time; `end` when there is none.
inline const char* find_control_byte(const char* at, const char* end) noexcept {
    if constexpr (std::endian::native == std::endian::little) {
        if (end - at >= 8) {
            auto first_marked = [](const char* word_at) -> const char* {
                std::uint64_t word;
                std::memcpy(&word, word_at, 8);
                const std::uint64_t marked = control_bytes(word);
                return marked == 0 ? nullptr : word_at + std::countr_zero(marked) / 8;
            };
            for (; end - at >= 8; at += 8) {
                if (const char* found = first_marked(at)) {
                    return found;
                }
            }
            // The tail as the last eight bytes: those it shares with the word before are
            // plain, so they are not marked, and its first marked byte is the tail's.
            if (at != end) {
                const char* found = first_marked(end - 8);
                return found != nullptr ? found : end;
            }
            return end;
        }
    }
    while (at != end && static_cast<unsigned char>(*at) >= 0x20 && *at != 0x7f) {
        ++at;
    }
    return at;
}

}  // namespace gale::http::detail
