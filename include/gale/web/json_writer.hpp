#pragma once
/// `JsonWriter`: compact JSON written value by value into a string, without building a
/// document first.
///
/// `RequestHandler::write(nlohmann::json)` is the convenient way to answer with JSON. But a
/// nlohmann::json allocates for every object, member and string it holds, and on a small,
/// hot endpoint building and freeing that document costs more than parsing the request and
/// sending the response together. A JsonWriter writes the same text straight from the
/// values, into a buffer that lives in the writer itself up to a few hundred bytes (no
/// allocation for a small document) and grows on the heap past that:
///
///     JsonWriter json;
///     json.begin_object().key("message").value("Hello, World!").end_object();
///     write(json);   // in a RequestHandler: Content-Type application/json
///
/// The text is exactly what `nlohmann::json::dump()` gives for the same document (compact,
/// UTF-8 kept, invalid UTF-8 replaced by U+FFFD), so the two ways can be mixed, and a
/// nlohmann::json can be written as one value. Commas and colons are placed for you; a call
/// out of order (a value where a key is due, a key in an array, an end that does not match
/// its begin, nesting deeper than `max_depth`) throws gale::Error and leaves the writer as it
/// was, instead of writing bad JSON.

#include <nlohmann/json_fwd.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace gale::web {

namespace detail {

/// Text kept inline up to `inline_capacity` bytes, then in a std::string: what JsonWriter
/// appends to, so that the usual small document costs no allocation.
class InlineText {
  public:
    static constexpr std::size_t inline_capacity = 200;

    InlineText() = default;
    InlineText(const InlineText& other) { *this = other; }
    InlineText(InlineText&& other) noexcept { *this = std::move(other); }
    InlineText& operator=(const InlineText& other);
    InlineText& operator=(InlineText&& other) noexcept;
    ~InlineText() = default;

    void append(std::string_view bytes) {
        if (!spilled_ && bytes.size() <= inline_capacity - size_) [[likely]] {
            std::memcpy(inline_ + size_, bytes.data(), bytes.size());
            size_ += bytes.size();
            return;
        }
        append_spilled(bytes);
    }
    void push_back(char byte) {
        if (!spilled_ && size_ < inline_capacity) [[likely]] {
            inline_[size_++] = byte;
            return;
        }
        append_spilled(std::string_view(&byte, 1));
    }
    /// Moves the text to the heap with room for `capacity` bytes, when that is more than the
    /// inline buffer holds.
    void reserve(std::size_t capacity);
    std::string_view view() const noexcept {
        return spilled_ ? std::string_view(heap_) : std::string_view(inline_, size_);
    }
    /// The text, moved out; this is left empty.
    std::string take();

  private:
    void append_spilled(std::string_view bytes);

    std::size_t size_ = 0;  // of the inline text
    bool spilled_ = false;  // the text is in heap_
    std::string heap_;
    char inline_[inline_capacity];  // the first size_ bytes are the text, until spilled
};

}  // namespace detail

class JsonWriter {
  public:
    /// Levels of objects and arrays one writer can hold open.
    static constexpr int max_depth = 64;

    JsonWriter() = default;
    /// Starts with `capacity` bytes reserved, for a caller who knows the size roughly.
    explicit JsonWriter(std::size_t capacity) { text_.reserve(capacity); }

    JsonWriter& begin_object();
    JsonWriter& end_object();
    JsonWriter& begin_array();
    JsonWriter& end_array();
    /// The name of the next member of the innermost object.
    JsonWriter& key(std::string_view name);

    JsonWriter& value(std::string_view text);
    JsonWriter& value(const char* text) { return value(std::string_view(text)); }
    JsonWriter& value(const std::string& text) { return value(std::string_view(text)); }
    JsonWriter& value(bool flag);
    JsonWriter& value(std::nullptr_t);
    JsonWriter& value(double number);
    /// Any integer type other than bool (and other than char, which is not a number).
    template <std::integral Integer>
    requires(!std::same_as<Integer, bool> &&
             !std::same_as<Integer, char>) JsonWriter& value(Integer number) {
        if constexpr (std::is_signed_v<Integer>) {
            return write_integer(static_cast<std::int64_t>(number));
        } else {
            return write_unsigned(static_cast<std::uint64_t>(number));
        }
    }
    /// A whole nlohmann document as one value.
    JsonWriter& value(const nlohmann::json& document);

    /// True once one value (scalar, or object or array closed again) has been written.
    bool complete() const noexcept { return depth_ == 0 && has_value_; }
    /// The text so far.
    std::string_view text() const noexcept { return text_.view(); }
    /// The text, moved out; the writer starts over empty.
    std::string take();

  private:
    bool in_object() const noexcept { return depth_ > 0 && ((objects_ >> (depth_ - 1)) & 1) != 0; }
    void before_value();
    // A value is complete; at the top level, that completes the text.
    JsonWriter& after_value() noexcept {
        has_value_ = depth_ == 0;
        return *this;
    }
    void open(char bracket, bool object);
    void close(char bracket, bool object);
    JsonWriter& write_integer(std::int64_t number);
    JsonWriter& write_unsigned(std::uint64_t number);
    void write_string(std::string_view text);

    detail::InlineText text_;
    std::uint64_t objects_ = 0;  // bit d: the open level d+1 is an object (else an array)
    int depth_ = 0;              // open objects and arrays
    bool needs_comma_ = false;   // the open level already holds an element
    bool after_key_ = false;     // a key was written: its value is due
    bool has_value_ = false;     // a top-level value is complete
};

}  // namespace gale::web
