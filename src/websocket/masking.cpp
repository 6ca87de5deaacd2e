#include <gale/websocket/errors.hpp>
#include <gale/websocket/masking.hpp>

#include <openssl/rand.h>
#include <pthread.h>

#include <atomic>
#include <cstring>

namespace gale::websocket {

namespace {

// The key repeated over eight bytes, starting at `position` within the payload.
std::array<std::uint8_t, 8> mask_pattern(MaskKey key, std::uint64_t position) noexcept {
    std::array<std::uint8_t, 8> pattern;
    for (std::size_t index = 0; index < pattern.size(); ++index) {
        pattern[index] = key[(position + index) % 4];
    }
    return pattern;
}

// Bumped in every forked child, so that its threads refill their key buffers instead of
// handing out the same keys as the parent.
std::atomic<unsigned> fork_generation{0};

void on_fork_in_child() {
    fork_generation.fetch_add(1, std::memory_order_relaxed);
}

void watch_forks() {
    static const bool registered = [] {
        pthread_atfork(nullptr, nullptr, on_fork_in_child);
        return true;
    }();
    (void)registered;
}

struct KeyBuffer {
    static constexpr std::size_t key_count = 1024;
    std::array<std::uint8_t, key_count * 4> bytes;
    std::size_t next = key_count;  // empty until the first refill
    unsigned generation = 0;

    void refill() {
        if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
            throw WebSocketError("cannot draw masking keys: OpenSSL RAND_bytes failed");
        }
        next = 0;
        generation = fork_generation.load(std::memory_order_relaxed);
    }
};

}  // namespace

void copy_masked(std::string_view source, char* destination, MaskKey key,
                 std::uint64_t position) noexcept {
    const std::array<std::uint8_t, 8> pattern = mask_pattern(key, position);
    std::uint64_t mask;
    std::memcpy(&mask, pattern.data(), sizeof mask);
    const char* input = source.data();
    const std::size_t size = source.size();
    std::size_t index = 0;
    // Four words per round: the compiler turns this into vector instructions.
    for (; index + 32 <= size; index += 32) {
        std::uint64_t words[4];
        std::memcpy(words, input + index, sizeof words);
        for (std::uint64_t& word : words) {
            word ^= mask;
        }
        std::memcpy(destination + index, words, sizeof words);
    }
    for (; index + 8 <= size; index += 8) {
        std::uint64_t word;
        std::memcpy(&word, input + index, sizeof word);
        word ^= mask;
        std::memcpy(destination + index, &word, sizeof word);
    }
    // The last 0-7 bytes as one word too (the pattern repeats every 8 bytes, so it lines up).
    if (index < size) {
        const std::size_t rest = size - index;
        std::uint64_t word = 0;
        std::memcpy(&word, input + index, rest);
        word ^= mask;
        std::memcpy(destination + index, &word, rest);
    }
}

void apply_mask(std::span<char> data, MaskKey key, std::uint64_t position) noexcept {
    copy_masked(std::string_view(data.data(), data.size()), data.data(), key, position);
}

MaskKey random_mask_key() {
    thread_local KeyBuffer buffer;
    watch_forks();
    if (buffer.next == KeyBuffer::key_count ||
        buffer.generation != fork_generation.load(std::memory_order_relaxed)) {
        buffer.refill();
    }
    MaskKey key;
    std::memcpy(key.data(), buffer.bytes.data() + buffer.next * 4, key.size());
    ++buffer.next;
    return key;
}

}  // namespace gale::websocket
