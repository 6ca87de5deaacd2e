#pragma once
/// Payload masking (RFC 6455 §5.3): every frame a client sends is XORed with a 4-byte key
/// chosen at random for that frame. Masking and unmasking are the same operation.
///
/// Both functions work eight bytes at a time and allocate nothing. `position` is how far into
/// the frame's payload the given bytes start, so a payload that arrives in pieces can be
/// unmasked piece by piece.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace gale::websocket {

/// A masking key, in the order its bytes appear on the wire.
using MaskKey = std::array<std::uint8_t, 4>;

/// XORs `data` in place with `key`, as bytes `position`.. of a payload.
void apply_mask(std::span<char> data, MaskKey key, std::uint64_t position = 0) noexcept;

/// Writes `source` XORed with `key` to `destination` (`source.size()` bytes; the two may be
/// the same memory, not otherwise overlap), as bytes `position`.. of a payload.
void copy_masked(std::string_view source, char* destination, MaskKey key,
                 std::uint64_t position = 0) noexcept;

/// A fresh, unpredictable masking key. Keys come from OpenSSL's CSPRNG (RAND_bytes), drawn a
/// thousand at a time into a per-thread buffer, so a key costs a few nanoseconds; a forked
/// child never reuses its parent's buffered keys.
MaskKey random_mask_key();

}  // namespace gale::websocket
