#include <gale/ioloop/detail/frame_allocator.hpp>

#include <array>
#include <cstdlib>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define GALE_FRAME_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GALE_FRAME_CACHE 0
#endif
#endif
#ifndef GALE_FRAME_CACHE
#define GALE_FRAME_CACHE 1
#endif

namespace gale::detail {
namespace {

constexpr std::size_t granularity = 64;
constexpr std::size_t class_count = 32;  // frames up to 2 KiB are cached
constexpr std::size_t max_cached_per_class = 256;

struct FreeFrame {
    FreeFrame* next;
};

// The free lists are a trivially destructible thread_local, so every allocation reaches them
// directly; a thread_local with a destructor is reached through an initialisation check and a
// call, on each of the several frames a request takes. The lists are emptied at thread exit
// by a separate thread_local, created when the thread first caches a frame.
struct FreeLists {
    std::array<FreeFrame*, class_count> heads;
    std::array<std::size_t, class_count> counts;
    bool registered;  // the releaser below exists for this thread
    bool released;    // the thread is exiting: frames are freed, no longer cached
};

constinit thread_local FreeLists lists{};

struct Releaser {
    ~Releaser() {
        lists.released = true;
        for (FreeFrame*& head : lists.heads) {
            while (head != nullptr) {
                FreeFrame* next = head->next;
                ::operator delete(head);
                head = next;
            }
        }
    }
};

void register_releaser() {
    thread_local Releaser releaser;
    lists.registered = true;
}

void* allocate_from_cache(std::size_t size_class) {
    FreeFrame* frame = lists.heads[size_class];
    if (frame == nullptr) {
        return ::operator new((size_class + 1) * granularity);
    }
    lists.heads[size_class] = frame->next;
    --lists.counts[size_class];
    return frame;
}

void deallocate_to_cache(void* pointer, std::size_t size_class) noexcept {
    if (lists.released || lists.counts[size_class] >= max_cached_per_class) {
        ::operator delete(pointer);
        return;
    }
    if (!lists.registered) [[unlikely]] {
        register_releaser();
    }
    auto* frame = static_cast<FreeFrame*>(pointer);
    frame->next = lists.heads[size_class];
    lists.heads[size_class] = frame;
    ++lists.counts[size_class];
}

std::size_t size_class_of(std::size_t size) noexcept {
    return (size - 1) / granularity;
}

}  // namespace

void* allocate_frame(std::size_t size) {
    if (GALE_FRAME_CACHE == 0 || size > class_count * granularity) {
        return ::operator new(size);
    }
    return allocate_from_cache(size_class_of(size));
}

void deallocate_frame(void* pointer, std::size_t size) noexcept {
    if (GALE_FRAME_CACHE == 0 || size > class_count * granularity) {
        ::operator delete(pointer);
        return;
    }
    deallocate_to_cache(pointer, size_class_of(size));
}

}  // namespace gale::detail
