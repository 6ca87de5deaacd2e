#include <gale/websocket/utf8.hpp>

#include <array>
#include <cstring>

namespace gale::websocket {

namespace {

// Bytes fall into classes that the state machine tells apart (RFC 3629 §4's table).
enum ByteClass : std::uint8_t {
    ascii,              // 00-7F
    continuation_low,   // 80-8F
    continuation_mid,   // 90-9F
    continuation_high,  // A0-BF
    never_valid,        // C0-C1, F5-FF
    lead_two,           // C2-DF
    lead_e0,            // E0: the next byte must be A0-BF (else overlong)
    lead_three,         // E1-EC, EE-EF
    lead_ed,            // ED: the next byte must be 80-9F (else a surrogate)
    lead_f0,            // F0: the next byte must be 90-BF (else overlong)
    lead_four,          // F1-F3
    lead_f4,            // F4: the next byte must be 80-8F (else above U+10FFFF)
    class_count,
};

// States: how many continuation bytes are still expected, and for the first of them, which
// range is allowed.
enum State : std::uint8_t {
    accept,
    need_one,
    need_two,
    need_three,
    after_e0,
    after_ed,
    after_f0,
    after_f4,
    reject,
    state_count,
};
static_assert(accept == Utf8Validator::accept_state && reject == Utf8Validator::reject_state);

constexpr ByteClass classify(unsigned byte) {
    if (byte < 0x80) {
        return ascii;
    }
    if (byte < 0x90) {
        return continuation_low;
    }
    if (byte < 0xA0) {
        return continuation_mid;
    }
    if (byte < 0xC0) {
        return continuation_high;
    }
    if (byte < 0xC2 || byte > 0xF4) {
        return never_valid;
    }
    if (byte < 0xE0) {
        return lead_two;
    }
    if (byte == 0xE0) {
        return lead_e0;
    }
    if (byte == 0xED) {
        return lead_ed;
    }
    if (byte < 0xF0) {
        return lead_three;
    }
    if (byte == 0xF0) {
        return lead_f0;
    }
    return byte == 0xF4 ? lead_f4 : lead_four;
}

constexpr std::array<ByteClass, 256> make_classes() {
    std::array<ByteClass, 256> classes{};
    for (unsigned byte = 0; byte < 256; ++byte) {
        classes[byte] = classify(byte);
    }
    return classes;
}

using TransitionRow = std::array<State, class_count>;

constexpr TransitionRow row_expecting(State next, bool low, bool mid, bool high) {
    TransitionRow row{};
    row.fill(reject);
    row[continuation_low] = low ? next : reject;
    row[continuation_mid] = mid ? next : reject;
    row[continuation_high] = high ? next : reject;
    return row;
}

constexpr std::array<TransitionRow, state_count> make_transitions() {
    std::array<TransitionRow, state_count> table{};
    TransitionRow& start = table[accept];
    start.fill(reject);
    start[ascii] = accept;
    start[lead_two] = need_one;
    start[lead_e0] = after_e0;
    start[lead_three] = need_two;
    start[lead_ed] = after_ed;
    start[lead_f0] = after_f0;
    start[lead_four] = need_three;
    start[lead_f4] = after_f4;
    table[need_one] = row_expecting(accept, true, true, true);
    table[need_two] = row_expecting(need_one, true, true, true);
    table[need_three] = row_expecting(need_two, true, true, true);
    table[after_e0] = row_expecting(need_one, false, false, true);
    table[after_ed] = row_expecting(need_one, true, true, false);
    table[after_f0] = row_expecting(need_two, false, true, true);
    table[after_f4] = row_expecting(need_two, true, false, false);
    table[reject].fill(reject);
    return table;
}

constexpr std::array<ByteClass, 256> byte_classes = make_classes();
constexpr std::array<TransitionRow, state_count> transitions = make_transitions();

constexpr std::uint64_t high_bits = 0x8080808080808080ULL;

// Length of the leading run of ASCII bytes, found sixteen or eight at a time.
std::size_t ascii_prefix(const unsigned char* bytes, std::size_t size) noexcept {
    std::size_t index = 0;
    while (index + 16 <= size) {
        std::uint64_t words[2];
        std::memcpy(words, bytes + index, sizeof words);
        if (((words[0] | words[1]) & high_bits) != 0) {
            break;
        }
        index += 16;
    }
    while (index + 8 <= size) {
        std::uint64_t word;
        std::memcpy(&word, bytes + index, sizeof word);
        if ((word & high_bits) != 0) {
            break;
        }
        index += 8;
    }
    while (index < size && bytes[index] < 0x80) {
        ++index;
    }
    return index;
}

}  // namespace

bool Utf8Validator::feed(std::string_view text) noexcept {
    if (state_ == reject) {
        return false;
    }
    const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t size = text.size();
    auto state = static_cast<State>(state_);
    std::size_t index = 0;
    while (index < size) {
        if (state == accept) {
            index += ascii_prefix(bytes + index, size - index);
            if (index == size) {
                break;
            }
        }
        state = transitions[state][byte_classes[bytes[index]]];
        if (state == reject) {
            state_ = reject;
            valid_bytes_ += index;
            return false;
        }
        ++index;
    }
    state_ = state;
    valid_bytes_ += size;
    return true;
}

bool is_valid_utf8(std::string_view text) noexcept {
    Utf8Validator validator;
    return validator.feed(text) && validator.complete();
}

}  // namespace gale::websocket
