#include <gale/http/headers.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace gale::http {
namespace {

// memcpy that takes an empty view (whose data() may be null).
void copy_bytes(char* to, std::string_view from) noexcept {
    if (!from.empty()) {
        std::memcpy(to, from.data(), from.size());
    }
}

char lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

}  // namespace

namespace {

// ASCII letters of an eight-byte word in lower case (SWAR); other bytes unchanged.
std::uint64_t lower_word(std::uint64_t word) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ull;
    constexpr std::uint64_t high = 0x8080808080808080ull;
    std::uint64_t low7 = word & ~high;
    std::uint64_t at_least_a = low7 + (0x80 - 'A') * ones;       // high bit: byte >= 'A'
    std::uint64_t above_z = low7 + (0x80 - 'Z' - 1) * ones;      // high bit: byte > 'Z'
    std::uint64_t upper = at_least_a & ~above_z & ~word & high;  // and below 0x80
    return word | (upper >> 2);                                  // + 0x20 where upper
}

}  // namespace

// Field names are compared on every lookup: eight bytes at a time, the last word overlapping.
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
        // Four to seven bytes ("host", "text/"): the first four and the last four, which
        // overlap, as one word.
        auto halves = [size](const char* text) {
            std::uint32_t first;
            std::uint32_t last;
            std::memcpy(&first, text, 4);
            std::memcpy(&last, text + size - 4, 4);
            return std::uint64_t{first} | std::uint64_t{last} << 32;
        };
        const std::uint64_t a = halves(left);
        const std::uint64_t b = halves(right);
        return a == b || lower_word(a) == lower_word(b);
    }
    auto words_equal = [&](std::size_t at) {
        std::uint64_t a;
        std::uint64_t b;
        std::memcpy(&a, left + at, 8);
        std::memcpy(&b, right + at, 8);
        return a == b || lower_word(a) == lower_word(b);
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
      unused_bytes_(std::exchange(other.unused_bytes_, 0)),
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
        unused_bytes_ = std::exchange(other.unused_bytes_, 0);
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

// Room for `size` more bytes at the end of the used ones; moves the bytes when it grows.
char* HTTPHeaders::reserve_bytes(std::size_t size) {
    if (used_bytes_ + size > UINT32_MAX) {
        throw std::length_error("HTTPHeaders: more than 4 GiB of fields");
    }
    if (used_bytes_ + size > bytes_.size()) {
        compact_if_wasteful();  // growing is the time to drop what replaced and removed fields left
    }
    if (used_bytes_ + size > bytes_.size()) {
        bytes_.resize(std::max({used_bytes_ + size, 2 * bytes_.size(), minimum_capacity}));
    }
    char* at = bytes_.data() + used_bytes_;
    used_bytes_ += size;
    return at;
}

void HTTPHeaders::add(std::string_view name, std::string_view value) {
    if (overlaps(name) || overlaps(value)) [[unlikely]] {
        // Copied first: making room may move the bytes these views point into.
        std::string own_name(name);
        std::string own_value(value);
        add(own_name, own_value);
        return;
    }
    ++version_;
    char* at = reserve_bytes(name.size() + value.size());
    auto name_at = static_cast<std::uint32_t>(at - bytes_.data());
    copy_bytes(at, name);
    copy_bytes(at + name.size(), value);
    slots_.push_back({name_at, static_cast<std::uint32_t>(name.size()),
                      name_at + static_cast<std::uint32_t>(name.size()),
                      static_cast<std::uint32_t>(value.size())});
}

void HTTPHeaders::set(std::string_view name, std::string_view value) {
    auto first = std::find_if(slots_.begin(), slots_.end(), [&](const Slot& slot) {
        return equals_ignoring_case(field(slot).first, name);
    });
    if (first == slots_.end()) {
        add(name, value);
        return;
    }
    ++version_;
    if (value.size() <= first->value_size) {
        // In place (memmove: the value may be a view of these very bytes).
        if (!value.empty()) {
            std::memmove(bytes_.data() + first->value_at, value.data(), value.size());
        }
        unused_bytes_ += first->value_size - value.size();
    } else {
        // Copied first when it is a view of these bytes: making room may move them.
        const std::string copy = overlaps(value) ? std::string(value) : std::string();
        const std::string_view new_value = copy.empty() ? value : copy;
        unused_bytes_ += first->value_size;
        first->value_size = 0;  // the old value is garbage from here, compaction included
        char* at = reserve_bytes(new_value.size());
        copy_bytes(at, new_value);
        first->value_at = static_cast<std::uint32_t>(at - bytes_.data());
    }
    first->value_size = static_cast<std::uint32_t>(value.size());
    auto same_name = [&](const Slot& slot) {
        return equals_ignoring_case(field(slot).first, name);
    };
    for (auto slot = first + 1; slot != slots_.end(); ++slot) {
        if (same_name(*slot)) {
            unused_bytes_ += slot->name_size + slot->value_size;
        }
    }
    slots_.erase(std::remove_if(first + 1, slots_.end(), same_name), slots_.end());
}

std::size_t HTTPHeaders::remove(std::string_view name) noexcept {
    std::size_t size_before = slots_.size();
    std::erase_if(slots_, [&](const Slot& slot) {
        if (!equals_ignoring_case(field(slot).first, name)) {
            return false;
        }
        unused_bytes_ += slot.name_size + slot.value_size;
        return true;
    });
    if (slots_.size() != size_before) {
        ++version_;
    }
    return size_before - slots_.size();
}

// Replaced and removed fields leave their bytes behind; they are dropped when the buffer
// would grow and they are most of it, so that setting, or adding and removing, a field over
// and over does not grow it without bound.
void HTTPHeaders::compact_if_wasteful() {
    if (unused_bytes_ < 4096 || unused_bytes_ * 2 < used_bytes_) {
        return;
    }
    std::string compacted;
    compacted.reserve(std::max(used_bytes_ - unused_bytes_, minimum_capacity));
    for (Slot& slot : slots_) {
        auto [name, value] = field(slot);
        slot.name_at = static_cast<std::uint32_t>(compacted.size());
        compacted.append(name);
        slot.value_at = static_cast<std::uint32_t>(compacted.size());
        compacted.append(value);
    }
    used_bytes_ = compacted.size();
    compacted.resize(compacted.capacity());
    bytes_ = std::move(compacted);
    unused_bytes_ = 0;
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
