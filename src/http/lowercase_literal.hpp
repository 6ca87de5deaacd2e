#pragma once
// Comparing text with a lowercase literal, ignoring the text's case, in a few instructions:
// field names, codings and media types are compared with known names on every request. The
// literal's words, and where its letters are, are worked out at compile time, so only the
// text is loaded and lowered, by or-ing 0x20 into the bytes where the literal has a letter.
// That is exact: a byte or-ed with 0x20 is a lowercase letter only if it was that letter in
// either case.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace gale::http::detail {

class LowercaseLiteral {
  public:
    static constexpr std::size_t max_size = 24;

    /// Only a string literal of 1 to 24 bytes, with no uppercase letter: anything else does
    /// not compile (consteval).
    template <std::size_t N>
    consteval LowercaseLiteral(const char (&text)[N]) : size_(N - 1) {  // NOLINT: implicit
        static_assert(N >= 2 && N - 1 <= max_size, "a literal of 1 to 24 bytes");
        for (std::size_t i = 0; i + 1 < N; ++i) {
            if (text[i] >= 'A' && text[i] <= 'Z') {
                throw "LowercaseLiteral: the literal has an uppercase letter";
            }
        }
        // The words matches_same_size() loads from the text, in the machine's byte order.
        auto word = [&](std::size_t at, std::size_t count, bool letters) {
            std::uint64_t value = 0;
            for (std::size_t i = 0; i < count; ++i) {
                const char c = text[at + i];
                const bool letter = c >= 'a' && c <= 'z';
                const std::uint64_t byte =
                    letters ? (letter ? 0x20 : 0) : std::uint64_t{static_cast<std::uint8_t>(c)};
                const std::size_t place =
                    std::endian::native == std::endian::little ? i : count - 1 - i;
                value |= byte << (8 * place);
            }
            return value;
        };
        for (int letters = 0; letters < 2; ++letters) {
            std::uint64_t* out = letters ? masks_ : words_;
            if (size_ >= 8) {
                out[0] = word(0, 8, letters);
                out[1] = word(size_ - 8, 8, letters);
                out[2] = size_ > 16 ? word(8, 8, letters) : 0;
            } else if (size_ >= 4) {
                out[0] = word(0, 4, letters) | word(size_ - 4, 4, letters) << 32;
            } else {
                out[0] = word(0, 1, letters) | word(size_ / 2, 1, letters) << 8 |
                         word(size_ - 1, 1, letters) << 16;
            }
        }
    }

    std::size_t size() const noexcept { return size_; }

    /// Whether `text` is the literal, in any case. Assumes text.size() == size().
    bool matches_same_size(const char* text) const noexcept {
        if (size_ >= 8) {
            std::uint64_t differ = lowered(load(text), 0) ^ words_[0];
            differ |= lowered(load(text + size_ - 8), 1) ^ words_[1];
            if (size_ > 16) {
                differ |= lowered(load(text + 8), 2) ^ words_[2];
            }
            return differ == 0;
        }
        if (size_ >= 4) {
            std::uint32_t first;
            std::uint32_t last;
            std::memcpy(&first, text, 4);
            std::memcpy(&last, text + size_ - 4, 4);
            return lowered(std::uint64_t{first} | std::uint64_t{last} << 32, 0) == words_[0];
        }
        auto byte = [text](std::size_t at) {
            return std::uint64_t{static_cast<std::uint8_t>(text[at])};
        };
        const std::uint64_t bytes = byte(0) | byte(size_ / 2) << 8 | byte(size_ - 1) << 16;
        return lowered(bytes, 0) == words_[0];
    }

  private:
    static std::uint64_t load(const char* at) noexcept {
        std::uint64_t word;
        std::memcpy(&word, at, 8);
        return word;
    }
    std::uint64_t lowered(std::uint64_t word, int index) const noexcept {
        return word | masks_[index];
    }

    std::size_t size_;
    std::uint64_t words_[3] = {};
    std::uint64_t masks_[3] = {};
};

/// Whether `text` equals `literal` ignoring the text's case: equals_ignoring_case(text,
/// literal), with the literal's half done at compile time.
inline bool equals_lowercase(std::string_view text, const LowercaseLiteral& literal) noexcept {
    return text.size() == literal.size() && literal.matches_same_size(text.data());
}

}  // namespace gale::http::detail
