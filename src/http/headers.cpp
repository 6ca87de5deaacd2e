#include <gale/http/headers.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace gale::http {
namespace {

// `size` bytes (from sizeof(Word) to twice that) as a first and a last word, which overlap.
template <class Word>
void copy_overlapping_words(char* to, const char* from, std::size_t size) noexcept {
    Word first;
    Word last;
    std::memcpy(&first, from, sizeof(Word));
    std::memcpy(&last, from + size - sizeof(Word), sizeof(Word));
    std::memcpy(to, &first, sizeof(Word));
    std::memcpy(to + size - sizeof(Word), &last, sizeof(Word));
}

// memcpy that takes an empty view (whose data() may be null). Most names and values are
// short: from 4 to 16 bytes they are copied as two words, without a call.
inline void copy_bytes(char* to, std::string_view from) noexcept {
    const std::size_t size = from.size();
    if (size >= 8 && size <= 16) {
        copy_overlapping_words<std::uint64_t>(to, from.data(), size);
    } else if (size >= 4 && size < 8) {
        copy_overlapping_words<std::uint32_t>(to, from.data(), size);
    } else if (size != 0) {
        std::memcpy(to, from.data(), size);
    }
}

char lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

}  // namespace

// Any length (the inline comparison takes 4 to 16 bytes itself): eight bytes at a time, the
// last word overlapping.
bool detail::equal_bytes_ignoring_case(const char* left, const char* right,
                                       std::size_t size) noexcept {
    if (size < 8) {
        if (size < 4) {
            for (std::size_t i = 0; i < size; ++i) {
                if (lower(left[i]) != lower(right[i])) {
                    return false;
                }
            }
            return true;
        }
        return detail::equal_halves_ignoring_case(left, right, size);
    }
    auto words_equal = [&](std::size_t at) {
        std::uint64_t a;
        std::uint64_t b;
        std::memcpy(&a, left + at, 8);
        std::memcpy(&b, right + at, 8);
        return a == b || detail::lower_word(a) == detail::lower_word(b);
    };
    for (std::size_t at = 0; at + 8 < size; at += 8) {
        if (!words_equal(at)) {
            return false;
        }
    }
    return words_equal(size - 8);
}

bool list_contains_token(std::string_view list, std::string_view token) noexcept {
    while (!list.empty()) {
        std::size_t comma = list.find(',');
        std::string_view element = list.substr(0, comma);
        while (!element.empty() && (element.front() == ' ' || element.front() == '\t')) {
            element.remove_prefix(1);
        }
        while (!element.empty() && (element.back() == ' ' || element.back() == '\t')) {
            element.remove_suffix(1);
        }
        if (equals_ignoring_case(element, token)) {
            return true;
        }
        if (comma == std::string_view::npos) {
            break;
        }
        list.remove_prefix(comma + 1);
    }
    return false;
}

HTTPHeaders::HTTPHeaders(std::initializer_list<Field> fields) {
    for (const auto& [name, value] : fields) {
        add(name, value);
    }
}

HTTPHeaders::HTTPHeaders(HTTPHeaders&& other) noexcept
    : bytes_(std::move(other.bytes_)),
      used_bytes_(std::exchange(other.used_bytes_, 0)),
      slots_(std::move(other.slots_)),
      version_(other.version_) {
    other.slots_.clear();
    ++other.version_;
}

HTTPHeaders& HTTPHeaders::operator=(const HTTPHeaders& other) {
    if (this != &other) {
        *this = HTTPHeaders(other);
    }
    return *this;
}

HTTPHeaders& HTTPHeaders::operator=(HTTPHeaders&& other) noexcept {
    if (this != &other) {
        bytes_ = std::move(other.bytes_);
        used_bytes_ = std::exchange(other.used_bytes_, 0);
        slots_ = std::move(other.slots_);
        other.slots_.clear();
        ++other.version_;
    }
    ++version_;
    return *this;
}

bool HTTPHeaders::overlaps(std::string_view text) const noexcept {
    const char* begin = bytes_.data();
    return !text.empty() && text.data() >= begin && text.data() < begin + bytes_.size();
}

// Makes room for `size` more bytes after the lines (moving them when the buffer grows). The
// buffer never exceeds 4 GiB, so offsets within it fit the slots.
void HTTPHeaders::grow(std::size_t size) {
    if (used_bytes_ + size > UINT32_MAX) {
        throw std::length_error("HTTPHeaders: more than 4 GiB of fields");
    }
    bytes_.resize(std::min<std::size_t>(
        std::max({used_bytes_ + size, 2 * bytes_.size(), minimum_capacity}), UINT32_MAX));
}

void HTTPHeaders::add(std::string_view name, std::string_view value) {
    if (overlaps(name) || overlaps(value)) [[unlikely]] {
        // Copied first: making room may move the bytes these views point into.
        std::string own_name(name);
        std::string own_value(value);
        add(own_name, own_value);
        return;
    }
    make_room(name.size() + value.size() + 4);
    if (slots_.capacity() == 0) [[unlikely]] {
        // Room for a usual response's fields at once, rather than growing by 1, 2, 4.
        slots_.reserve(minimum_slots);
    }
    ++version_;
    char* at = bytes_.data() + used_bytes_;
    copy_bytes(at, name);
    at += name.size();
    at[0] = ':';
    at[1] = ' ';
    copy_bytes(at + 2, value);
    at += 2 + value.size();
    at[0] = '\r';
    at[1] = '\n';
    slots_.push_back({static_cast<std::uint32_t>(used_bytes_),
                      static_cast<std::uint32_t>(name.size()),
                      static_cast<std::uint32_t>(value.size())});
    used_bytes_ = static_cast<std::size_t>(at + 2 - bytes_.data());
}

void HTTPHeaders::set(std::string_view name, std::string_view value) {
    auto first = std::find_if(slots_.begin(), slots_.end(), [&](const Slot& slot) {
        return equals_ignoring_case(field(slot).first, name);
    });
    if (first == slots_.end()) {
        add(name, value);
        return;
    }
    if (overlaps(name) || overlaps(value)) [[unlikely]] {
        // Copied first: lines move as fields go and the value changes size.
        std::string own_name(name);
        std::string own_value(value);
        set(own_name, own_value);
        return;
    }
    if (value.size() > first->value_size) {
        make_room(value.size() - first->value_size);  // before any change: it may throw
    }
    ++version_;
    const auto index = static_cast<std::size_t>(first - slots_.begin());
    erase_named(index + 1, name);  // the later fields of that name go; the first is reused
    Slot& slot = slots_[index];
    resize_value(slot, value.size());
    copy_bytes(bytes_.data() + slot.value_at(), value);
}

// Gives the slot's value `size` bytes, moving the lines after it: the lines stay contiguous.
void HTTPHeaders::resize_value(Slot& slot, std::size_t size) {
    if (size == slot.value_size) {
        return;
    }
    if (size > slot.value_size) {
        make_room(size - slot.value_size);
    }
    const std::size_t old_end = slot.value_at() + slot.value_size;
    const std::size_t new_end = slot.value_at() + size;
    std::memmove(bytes_.data() + new_end, bytes_.data() + old_end, used_bytes_ - old_end);
    used_bytes_ = used_bytes_ + new_end - old_end;
    const auto shift = static_cast<std::uint32_t>(new_end - old_end);  // modulo 2^32 either way
    for (Slot* later = &slot + 1; later != slots_.data() + slots_.size(); ++later) {
        later->line_at += shift;
    }
    slot.value_size = static_cast<std::uint32_t>(size);
}

// Removes the fields named `name` from slot `from` on, closing the gaps their lines leave;
// returns how many went.
std::size_t HTTPHeaders::erase_named(std::size_t from, std::string_view name) noexcept {
    std::size_t kept = from;
    std::size_t write_at = from < slots_.size() ? slots_[from].line_at : used_bytes_;
    for (std::size_t i = from; i < slots_.size(); ++i) {
        Slot slot = slots_[i];
        if (equals_ignoring_case(field(slot).first, name)) {
            continue;
        }
        const std::size_t size = slot.line_end() - slot.line_at;
        if (slot.line_at != write_at) {
            std::memmove(bytes_.data() + write_at, bytes_.data() + slot.line_at, size);
            slot.line_at = static_cast<std::uint32_t>(write_at);
        }
        slots_[kept++] = slot;
        write_at += size;
    }
    const std::size_t removed = slots_.size() - kept;
    slots_.resize(kept);
    used_bytes_ = write_at;
    return removed;
}

std::size_t HTTPHeaders::remove(std::string_view name) {
    if (overlaps(name)) [[unlikely]] {
        return remove(std::string(name));  // a view of a field's name: the lines move
    }
    const std::size_t removed = erase_named(0, name);
    if (removed != 0) {
        ++version_;
    }
    return removed;
}

const HTTPHeaders::Slot* HTTPHeaders::find(std::string_view name) const noexcept {
    for (const Slot& slot : slots_) {
        if (equals_ignoring_case(field(slot).first, name)) {
            return &slot;
        }
    }
    return nullptr;
}

std::optional<std::string_view> HTTPHeaders::get(std::string_view name) const noexcept {
    const Slot* slot = find(name);
    if (slot == nullptr) {
        return std::nullopt;
    }
    return field(*slot).second;
}

std::string_view HTTPHeaders::get_or(std::string_view name,
                                     std::string_view fallback) const noexcept {
    auto value = get(name);
    return value ? *value : fallback;
}

std::vector<std::string_view> HTTPHeaders::get_all(std::string_view name) const {
    std::vector<std::string_view> values;
    for (const auto& [field_name, value] : *this) {
        if (equals_ignoring_case(field_name, name)) {
            values.push_back(value);
        }
    }
    return values;
}

std::optional<std::string> HTTPHeaders::get_combined(std::string_view name) const {
    std::optional<std::string> combined;
    for (const auto& [field_name, value] : *this) {
        if (equals_ignoring_case(field_name, name)) {
            if (combined) {
                combined->append(", ");
                combined->append(value);
            } else {
                combined = std::string(value);
            }
        }
    }
    return combined;
}

bool HTTPHeaders::operator==(const HTTPHeaders& other) const noexcept {
    return std::equal(begin(), end(), other.begin(), other.end());
}

}  // namespace gale::http
