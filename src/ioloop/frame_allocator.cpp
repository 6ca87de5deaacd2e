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

// Per-thread cache: tasks never change threads, so a frame is normally freed on the thread
// that allocated it. A frame freed elsewhere just joins that thread's cache.
class FrameCache {
  public:
    ~FrameCache() {
        alive_ = false;
        for (FreeFrame*& head : heads_) {
            while (head != nullptr) {
                FreeFrame* next = head->next;
                ::operator delete(head);
                head = next;
            }
        }
    }

    void* allocate(std::size_t size_class) {
        FreeFrame* frame = heads_[size_class];
        if (frame == nullptr) {
            return ::operator new((size_class + 1) * granularity);
        }
        heads_[size_class] = frame->next;
        --counts_[size_class];
        return frame;
    }

    void deallocate(void* pointer, std::size_t size_class) noexcept {
        if (!alive_ || counts_[size_class] >= max_cached_per_class) {
            ::operator delete(pointer);
            return;
        }
        auto* frame = static_cast<FreeFrame*>(pointer);
        frame->next = heads_[size_class];
        heads_[size_class] = frame;
        ++counts_[size_class];
    }

  private:
    std::array<FreeFrame*, class_count> heads_{};
    std::array<std::size_t, class_count> counts_{};
    bool alive_ = true;
};

thread_local FrameCache cache;

std::size_t size_class_of(std::size_t size) noexcept {
    return (size - 1) / granularity;
}

}  // namespace

void* allocate_frame(std::size_t size) {
    if (GALE_FRAME_CACHE == 0 || size > class_count * granularity) {
        return ::operator new(size);
    }
    return cache.allocate(size_class_of(size));
}

void deallocate_frame(void* pointer, std::size_t size) noexcept {
    if (GALE_FRAME_CACHE == 0 || size > class_count * granularity) {
        ::operator delete(pointer);
        return;
    }
    cache.deallocate(pointer, size_class_of(size));
}

}  // namespace gale::detail
