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

inline std::uint64_t hash_bytes(std::string_view bytes) noexcept {
    std::uint64_t hash = mix_bits(0x9e3779b97f4a7c15ull ^ bytes.size());
    const char* data = bytes.data();
    std::size_t left = bytes.size();
    for (; left >= 8; left -= 8, data += 8) {
        std::uint64_t word;
        std::memcpy(&word, data, 8);
        hash = mix_bits(hash ^ word);
    }
    if (left > 0) {
        std::uint64_t word = 0;
        std::memcpy(&word, data, left);
        hash = mix_bits(hash ^ word);
    }
    return hash;
}

}  // namespace gale::web::detail
