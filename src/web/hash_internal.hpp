#pragma once
// A fast non-cryptographic 64-bit hash of a byte string, eight bytes at a time, for the
// literal-route table and automatic ETags: neither needs a cryptographic hash, and both run
// on every request.

#include <cstdint>
#include <cstring>
#include <string_view>

namespace gale::web::detail {

inline std::uint64_t mix_bits(std::uint64_t value) noexcept {
    // The finaliser of SplitMix64 / MurmurHash3: every input bit affects every output bit.
    value ^= value >> 30;
    value *= 0xbf58476d1ce4e5b9ull;
    value ^= value >> 27;
    value *= 0x94d049bb133111ebull;
    value ^= value >> 31;
    return value;
}

// One multiply per eight bytes: each step, (hash ^ word) * odd, then the high half folded
// into the low, is a bijection of the hash for a given word and of the word for a given
// hash, so inputs of one length that differ in a single word always hash apart. The tail is
// read as the last eight bytes (overlapping the word before), or, for inputs under eight
// bytes, as loads that together cover every byte; the length is mixed in first, and
// mix_bits spreads every bit over the result.
inline std::uint64_t hash_bytes(std::string_view bytes) noexcept {
    constexpr std::uint64_t odd = 0x9e3779b97f4a7c15ull;
    const char* data = bytes.data();
    const std::size_t size = bytes.size();
    std::uint64_t hash = (size + 1) * odd;
    auto step = [&hash](std::uint64_t word) {
        hash = (hash ^ word) * odd;
        hash ^= hash >> 32;
    };
    auto load = [](const char* at, std::size_t count) {
        std::uint64_t word = 0;
        std::memcpy(&word, at, count);  // count is a constant at every call
        return word;
    };
    if (size >= 8) {
        std::size_t at = 0;
        for (; at + 8 < size; at += 8) {
            step(load(data + at, 8));
        }
        step(load(data + size - 8, 8));
    } else if (size >= 4) {
        step(load(data, 4) | load(data + size - 4, 4) << 32);
    } else if (size > 0) {
        step(load(data, 1) | load(data + size / 2, 1) << 8 | load(data + size - 1, 1) << 16);
    }
    return mix_bits(hash);
}

}  // namespace gale::web::detail
