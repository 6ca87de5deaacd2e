// Compact JSON text: nlohmann documents (append_json) and the streaming JsonWriter, both
// deferring to nlohmann for everything but the common, plain cases.

#include <gale/web/json_writer.hpp>

#include <gale/ioloop/errors.hpp>

#include "web/json_writer_internal.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace gale::web::detail {

namespace {

std::string dump(const nlohmann::json& value) {
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Whether a string holds only bytes JSON keeps as they are and nlohmann need not validate:
// printable ASCII (and DEL) other than the quote and the backslash. Eight bytes at a time
// (SWAR): in a word, a byte below 0x20, from 0x80, or equal to '"' or '\\' sets its high bit
// in `special` (the usual has-zero-byte tests). A tail shorter than a word is checked as the
// string's last eight bytes, overlapping the word before; a string shorter than a word is
// padded with a plain byte. No byte-by-byte loop, then, even for short keys.
bool is_plain(std::string_view text) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ull;
    constexpr std::uint64_t high = 0x8080808080808080ull;
    auto has_zero_byte = [](std::uint64_t word) { return (word - ones) & ~word & high; };
    auto special = [&](std::uint64_t word) {
        return ((word - 0x20 * ones) & ~word & high) | (word & high) |
               has_zero_byte(word ^ ('"' * ones)) | has_zero_byte(word ^ ('\\' * ones));
    };
    const std::size_t size = text.size();
    if (size < 8) {
        std::uint64_t word = 'a' * ones;
        if (size != 0) {
            std::memcpy(&word, text.data(), size);
        }
        return special(word) == 0;
    }
    std::uint64_t word;
    for (std::size_t at = 0; at + 8 <= size; at += 8) {
        std::memcpy(&word, text.data() + at, 8);
        if (special(word) != 0) {
            return false;
        }
    }
    std::memcpy(&word, text.data() + size - 8, 8);
    return special(word) == 0;
}

void append_string(std::string& out, std::string_view text) {
    if (!is_plain(text)) {
        out += dump(nlohmann::json(text));  // escaped, and invalid UTF-8 replaced, by nlohmann
        return;
    }
    // One append: the quotes and the text in a single size check.
    const std::size_t at = out.size();
    out.resize(at + text.size() + 2);
    char* to = out.data() + at;
    to[0] = '"';
    std::memcpy(to + 1, text.data(), text.size());
    to[text.size() + 1] = '"';
}

// Into a std::string (documents) or the writer's InlineText: both append a string_view.
template <typename Out, typename Integer>
void append_integer(Out& out, Integer value) {
    char digits[24];
    out.append(std::string_view(digits, std::to_chars(digits, digits + sizeof digits, value).ptr));
}

}  // namespace

void append_json(std::string& out, const nlohmann::json& value) {
    using Type = nlohmann::json::value_t;
    switch (value.type()) {
        case Type::null:
            out += "null";
            return;
        case Type::boolean:
            out += value.get<bool>() ? "true" : "false";
            return;
        case Type::number_integer:
            append_integer(out, value.get<std::int64_t>());
            return;
        case Type::number_unsigned:
            append_integer(out, value.get<std::uint64_t>());
            return;
        case Type::string:
            append_string(out, value.get_ref<const std::string&>());
            return;
        case Type::array: {
            out += '[';
            bool first = true;
            for (const nlohmann::json& element : value.get_ref<const nlohmann::json::array_t&>()) {
                if (!first) {
                    out += ',';
                }
                first = false;
                append_json(out, element);
            }
            out += ']';
            return;
        }
        case Type::object: {
            out += '{';
            bool first = true;
            for (const auto& [key, member] : value.get_ref<const nlohmann::json::object_t&>()) {
                if (!first) {
                    out += ',';
                }
                first = false;
                append_string(out, key);
                out += ':';
                append_json(out, member);
            }
            out += '}';
            return;
        }
        case Type::number_float:  // shortest round-trip digits, NaN and infinities as null
        case Type::binary:
        case Type::discarded:
            out += dump(value);
            return;
    }
}

InlineText& InlineText::operator=(const InlineText& other) {
    if (this != &other) {
        spilled_ = other.spilled_;
        heap_ = other.heap_;
        size_ = other.size_;
        std::memcpy(inline_, other.inline_, other.spilled_ ? 0 : other.size_);
    }
    return *this;
}

InlineText& InlineText::operator=(InlineText&& other) noexcept {
    if (this != &other) {
        spilled_ = other.spilled_;
        heap_ = std::move(other.heap_);
        size_ = other.size_;
        std::memcpy(inline_, other.inline_, other.spilled_ ? 0 : other.size_);
        other.heap_.clear();
        other.size_ = 0;
        other.spilled_ = false;
    }
    return *this;
}

void InlineText::reserve(std::size_t capacity) {
    if (spilled_) {
        heap_.reserve(capacity);
    } else if (capacity > inline_capacity) {
        heap_.reserve(capacity);
        heap_.assign(inline_, size_);
        spilled_ = true;
    }
}

void InlineText::append_spilled(std::string_view bytes) {
    if (!spilled_) {
        heap_.reserve(std::max(2 * inline_capacity, size_ + bytes.size()));
        heap_.assign(inline_, size_);
        spilled_ = true;
    }
    heap_.append(bytes);
}

std::string InlineText::take() {
    std::string text = spilled_ ? std::move(heap_) : std::string(inline_, size_);
    *this = InlineText();
    return text;
}

}  // namespace gale::web::detail

namespace gale::web {

namespace {

[[noreturn]] void misuse(const char* what) {
    throw Error(std::string("JsonWriter: ") + what);
}

}  // namespace

// Places the comma before an array element and checks that a value may come here: one at
// the top level, after a key in an object, anywhere in an array.
void JsonWriter::write_string(std::string_view text) {
    if (!detail::is_plain(text)) {
        std::string escaped;
        detail::append_string(escaped, text);
        text_.append(escaped);
        return;
    }
    text_.push_back('"');
    text_.append(text);
    text_.push_back('"');
}

void JsonWriter::before_value() {
    if (depth_ == 0) {
        if (has_value_) {
            misuse("a second top-level value");
        }
        return;
    }
    if (in_object()) {
        if (!after_key_) {
            misuse("a value in an object needs a key first");
        }
        after_key_ = false;
        return;
    }
    if (needs_comma_) {
        text_.push_back(',');
    }
    needs_comma_ = true;
}

void JsonWriter::open(char bracket, bool object) {
    if (depth_ == max_depth) {
        misuse("nested deeper than max_depth");
    }
    before_value();
    const std::uint64_t bit = std::uint64_t{1} << depth_;
    objects_ = object ? objects_ | bit : objects_ & ~bit;
    ++depth_;
    needs_comma_ = false;
    text_.push_back(bracket);
}

void JsonWriter::close(char bracket, bool object) {
    if (depth_ == 0 || in_object() != object) {
        misuse(object ? "end_object() without its begin_object()"
                      : "end_array() without its begin_array()");
    }
    if (after_key_) {
        misuse("a key without a value");
    }
    --depth_;
    needs_comma_ = true;  // the enclosing level now holds this element
    text_.push_back(bracket);
    after_value();
}

JsonWriter& JsonWriter::begin_object() {
    open('{', true);
    return *this;
}

JsonWriter& JsonWriter::end_object() {
    close('}', true);
    return *this;
}

JsonWriter& JsonWriter::begin_array() {
    open('[', false);
    return *this;
}

JsonWriter& JsonWriter::end_array() {
    close(']', false);
    return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
    if (!in_object()) {
        misuse("a key outside an object");
    }
    if (after_key_) {
        misuse("two keys in a row");
    }
    if (needs_comma_) {
        text_.push_back(',');
    }
    needs_comma_ = true;
    after_key_ = true;
    write_string(name);
    text_.push_back(':');
    return *this;
}

JsonWriter& JsonWriter::value(std::string_view text) {
    before_value();
    write_string(text);
    return after_value();
}

JsonWriter& JsonWriter::value(bool flag) {
    before_value();
    text_.append(flag ? "true" : "false");
    return after_value();
}

JsonWriter& JsonWriter::value(std::nullptr_t) {
    before_value();
    text_.append("null");
    return after_value();
}

JsonWriter& JsonWriter::value(double number) {
    return value(nlohmann::json(number));  // nlohmann's shortest digits; NaN and infinity: null
}

JsonWriter& JsonWriter::value(const nlohmann::json& document) {
    before_value();
    std::string text;
    detail::append_json(text, document);
    text_.append(text);
    return after_value();
}

JsonWriter& JsonWriter::write_integer(std::int64_t number) {
    before_value();
    detail::append_integer(text_, number);
    return after_value();
}

JsonWriter& JsonWriter::write_unsigned(std::uint64_t number) {
    before_value();
    detail::append_integer(text_, number);
    return after_value();
}

std::string JsonWriter::take() {
    std::string text = text_.take();
    *this = JsonWriter();
    return text;
}

}  // namespace gale::web
