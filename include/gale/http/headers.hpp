#pragma once
/// HTTP header fields: an owning, ordered multimap with case-insensitive names
/// (`HTTPHeaders`), and the case-insensitive comparison helpers the codec uses.
///
/// Order and duplicates are kept as received or added; `get` returns the first value,
/// `get_all` every value, `get_combined` the values joined with ", " (RFC 9110 §5.3 — never
/// used for Set-Cookie, whose values cannot be combined).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gale::http {

namespace detail {
bool equal_bytes_ignoring_case(const char* left, const char* right, std::size_t size) noexcept;
}

/// ASCII case-insensitive equality (HTTP field names, tokens). Inline, because most field
/// lookups fail at the length comparison, and most of the rest at the first byte (bytes that
/// differ in more than the case bit).
inline bool equals_ignoring_case(std::string_view left, std::string_view right) noexcept {
    return left.size() == right.size() && (left.empty() || ((left[0] ^ right[0]) & ~0x20) == 0) &&
           detail::equal_bytes_ignoring_case(left.data(), right.data(), left.size());
}

/// True when the comma-separated `list` (e.g. a Connection value) contains `token`,
/// compared case-insensitively, ignoring whitespace around elements.
bool list_contains_token(std::string_view list, std::string_view token) noexcept;

class HTTPHeaders {
  public:
    using Field = std::pair<std::string, std::string>;
    using const_iterator = std::vector<Field>::const_iterator;

    HTTPHeaders() = default;
    HTTPHeaders(std::initializer_list<Field> fields) : fields_(fields) {}

    /// Appends a field (keeps existing ones with the same name).
    void add(std::string_view name, std::string value);
    /// Replaces every field named `name` with one field.
    void set(std::string_view name, std::string value);
    /// Removes every field named `name`; returns how many were removed.
    std::size_t remove(std::string_view name) noexcept;
    void clear() noexcept { fields_.clear(); }

    bool contains(std::string_view name) const noexcept;
    /// The first value of `name`.
    std::optional<std::string_view> get(std::string_view name) const noexcept;
    /// The first value of `name`, or `fallback`.
    std::string_view get_or(std::string_view name, std::string_view fallback) const noexcept;
    std::vector<std::string_view> get_all(std::string_view name) const;
    /// Every value of `name` joined with ", ", or nullopt when there is none.
    std::optional<std::string> get_combined(std::string_view name) const;

    std::size_t size() const noexcept { return fields_.size(); }
    bool empty() const noexcept { return fields_.empty(); }
    const_iterator begin() const noexcept { return fields_.begin(); }
    const_iterator end() const noexcept { return fields_.end(); }

    bool operator==(const HTTPHeaders&) const = default;

  private:
    std::vector<Field> fields_;
};

}  // namespace gale::http
