#pragma once
/// HTTP header fields: an owning, ordered multimap with case-insensitive names
/// (`HTTPHeaders`), and the case-insensitive comparison helpers the codec uses.
///
/// Order and duplicates are kept as received or added; `get` returns the first value,
/// `get_all` every value, `get_combined` the values joined with ", " (RFC 9110 §5.3 — never
/// used for Set-Cookie, whose values cannot be combined).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gale::http {

namespace detail {
bool equal_bytes_ignoring_case(const char* left, const char* right, std::size_t size) noexcept;

/// ASCII letters of an eight-byte word in lower case (SWAR); other bytes unchanged.
inline std::uint64_t lower_word(std::uint64_t word) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ull;
    constexpr std::uint64_t high = 0x8080808080808080ull;
    const std::uint64_t low7 = word & ~high;
    const std::uint64_t at_least_a = low7 + (0x80 - 'A') * ones;       // high bit: byte >= 'A'
    const std::uint64_t above_z = low7 + (0x80 - 'Z' - 1) * ones;      // high bit: byte > 'Z'
    const std::uint64_t upper = at_least_a & ~above_z & ~word & high;  // and below 0x80
    return word | (upper >> 2);                                        // + 0x20 where upper
}

/// Eight to sixteen bytes (most field names) as two words that may overlap, without a call.
inline bool equal_words_ignoring_case(const char* left, const char* right,
                                      std::size_t size) noexcept {
    std::uint64_t left_first;
    std::uint64_t left_last;
    std::uint64_t right_first;
    std::uint64_t right_last;
    std::memcpy(&left_first, left, 8);
    std::memcpy(&left_last, left + size - 8, 8);
    std::memcpy(&right_first, right, 8);
    std::memcpy(&right_last, right + size - 8, 8);
    return ((lower_word(left_first) ^ lower_word(right_first)) |
            (lower_word(left_last) ^ lower_word(right_last))) == 0;
}

/// Four to seven bytes ("host", "vary", "text/"): the first four and the last four, which
/// overlap, as one word.
inline bool equal_halves_ignoring_case(const char* left, const char* right,
                                       std::size_t size) noexcept {
    auto halves = [size](const char* text) {
        std::uint32_t first;
        std::uint32_t last;
        std::memcpy(&first, text, 4);
        std::memcpy(&last, text + size - 4, 4);
        return std::uint64_t{first} | std::uint64_t{last} << 32;
    };
    return lower_word(halves(left)) == lower_word(halves(right));
}
}  // namespace detail

/// ASCII case-insensitive equality (HTTP field names, tokens). Inline, because most field
/// lookups fail at the length comparison, and most of the rest at the first byte (bytes that
/// differ in more than the case bit); names of 4 to 16 bytes are then compared inline too.
inline bool equals_ignoring_case(std::string_view left, std::string_view right) noexcept {
    if (left.size() != right.size() || (!left.empty() && ((left[0] ^ right[0]) & ~0x20) != 0)) {
        return false;
    }
    if (left.size() >= 8 && left.size() <= 16) {
        return detail::equal_words_ignoring_case(left.data(), right.data(), left.size());
    }
    if (left.size() >= 4 && left.size() < 8) {
        return detail::equal_halves_ignoring_case(left.data(), right.data(), left.size());
    }
    return detail::equal_bytes_ignoring_case(left.data(), right.data(), left.size());
}

/// `text` without the spaces and horizontal tabs (HTTP's optional whitespace, OWS) at either
/// end.
constexpr std::string_view trim_whitespace(std::string_view text) noexcept {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    return text;
}

/// True when the comma-separated `list` (e.g. a Connection value) contains `token`,
/// compared case-insensitively, ignoring whitespace around elements.
bool list_contains_token(std::string_view list, std::string_view token) noexcept;

/// The fields of a response, request or trailer section that gale writes or a handler builds.
///
/// The fields live in one byte buffer as they go on the wire, one `name: value` CRLF line
/// each, in order, with a small table of where each field is. Adding a field appends its
/// line, and `clear()` keeps the buffer for the next message, so a connection that answers
/// request after request allocates for its headers only once, and writes them with one copy
/// (`lines()`). The views that `get`, iteration and the other accessors return stay valid
/// until the headers are changed.
class HTTPHeaders {
  public:
    /// One field, as views of the headers' storage.
    using Field = std::pair<std::string_view, std::string_view>;
    class const_iterator;

    HTTPHeaders() = default;
    HTTPHeaders(std::initializer_list<Field> fields);
    HTTPHeaders(const HTTPHeaders&) = default;
    HTTPHeaders(HTTPHeaders&& other) noexcept;  // leaves `other` empty
    // Assigning changes the fields, so it moves the version on, never back to one that was
    // checked (see version()).
    HTTPHeaders& operator=(const HTTPHeaders& other);
    HTTPHeaders& operator=(HTTPHeaders&& other) noexcept;
    ~HTTPHeaders() = default;

    /// Appends a field (keeps existing ones with the same name).
    void add(std::string_view name, std::string_view value);
    /// Replaces every field named `name` with one field (in the place of the first).
    void set(std::string_view name, std::string_view value);
    /// Removes every field named `name`; returns how many were removed.
    std::size_t remove(std::string_view name);
    void clear() noexcept {
        used_bytes_ = 0;
        slots_.clear();
        ++version_;
    }

    bool contains(std::string_view name) const noexcept { return find(name) != nullptr; }
    /// The first value of `name`.
    std::optional<std::string_view> get(std::string_view name) const noexcept;
    /// The first value of `name`, or `fallback`.
    std::string_view get_or(std::string_view name, std::string_view fallback) const noexcept;
    std::vector<std::string_view> get_all(std::string_view name) const;
    /// Every value of `name` joined with ", ", or nullopt when there is none.
    std::optional<std::string> get_combined(std::string_view name) const;

    std::size_t size() const noexcept { return slots_.size(); }
    bool empty() const noexcept { return slots_.empty(); }
    const_iterator begin() const noexcept;
    const_iterator end() const noexcept;

    /// Every field as its wire line, `name: value` CRLF, in order: what a message's head
    /// holds between its start line and the blank line. The line of a field starts at its
    /// name's first byte and ends two bytes after its value (names and values are not
    /// checked here: the writer checks them).
    std::string_view lines() const noexcept { return {bytes_.data(), used_bytes_}; }

    /// The same fields in the same order (names compared exactly).
    bool operator==(const HTTPHeaders& other) const noexcept;

    /// A number that changes whenever the fields do (add, set, remove, clear): a check done at
    /// one version still holds while the version is the same.
    std::uint64_t version() const noexcept { return version_; }

  private:
    // Where a field's line is: the name at line_at, ": ", the value, CRLF.
    struct Slot {
        std::uint32_t line_at = 0;
        std::uint32_t name_size = 0;
        std::uint32_t value_size = 0;

        std::uint32_t value_at() const noexcept { return line_at + name_size + 2; }
        std::uint32_t line_end() const noexcept { return value_at() + value_size + 2; }
    };

    Field field(const Slot& slot) const noexcept {
        return {std::string_view(bytes_.data() + slot.line_at, slot.name_size),
                std::string_view(bytes_.data() + slot.value_at(), slot.value_size)};
    }
    const Slot* find(std::string_view name) const noexcept;
    bool overlaps(std::string_view text) const noexcept;
    void make_room(std::size_t size) {
        if (used_bytes_ + size > bytes_.size()) [[unlikely]] {
            grow(size);
        }
    }
    void grow(std::size_t size);
    std::size_t erase_named(std::size_t from, std::string_view name) noexcept;
    void resize_value(Slot& slot, std::size_t size);

    static constexpr std::size_t minimum_capacity = 128;
    static constexpr std::size_t minimum_slots = 8;

    // bytes_.size() is the capacity; the lines use the first used_bytes_, with no gap between
    // them. Never in the string's small buffer (minimum_capacity), so views survive a move of
    // the headers.
    std::string bytes_;
    std::size_t used_bytes_ = 0;
    std::vector<Slot> slots_;
    std::uint64_t version_ = 0;
};

/// Iterates the fields in order; dereferencing gives a `Field` of views.
class HTTPHeaders::const_iterator {
  public:
    using iterator_category = std::input_iterator_tag;
    using iterator_concept = std::forward_iterator_tag;
    using value_type = Field;
    using difference_type = std::ptrdiff_t;
    using reference = Field;
    struct pointer {
        Field field;
        const Field* operator->() const noexcept { return &field; }
    };

    const_iterator() = default;
    Field operator*() const noexcept { return headers_->field(*slot_); }
    pointer operator->() const noexcept { return {**this}; }
    const_iterator& operator++() noexcept {
        ++slot_;
        return *this;
    }
    const_iterator operator++(int) noexcept {
        const_iterator before = *this;
        ++slot_;
        return before;
    }
    bool operator==(const const_iterator& other) const noexcept { return slot_ == other.slot_; }

  private:
    friend class HTTPHeaders;
    const_iterator(const HTTPHeaders* headers, const Slot* slot) noexcept
        : headers_(headers), slot_(slot) {}

    const HTTPHeaders* headers_ = nullptr;
    const Slot* slot_ = nullptr;
};

inline HTTPHeaders::const_iterator HTTPHeaders::begin() const noexcept {
    return {this, slots_.data()};
}

inline HTTPHeaders::const_iterator HTTPHeaders::end() const noexcept {
    return {this, slots_.data() + slots_.size()};
}

}  // namespace gale::http
