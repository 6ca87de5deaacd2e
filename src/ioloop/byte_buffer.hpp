#pragma once
// A contiguous receive buffer: bytes are appended at the back and consumed from the front.
// The storage is freed whenever the buffer becomes empty, so an idle connection holds none.
// A connection that serves request after request takes and frees a small buffer for each: it
// comes from the per-thread block cache, a pointer pop, not a trip through malloc.

#include <gale/ioloop/detail/frame_allocator.hpp>

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace gale::detail {

// Frees a buffer's block to the cache it came from, which needs its size.
struct FreeBufferBlock {
    std::size_t size = 0;
    void operator()(char* block) const noexcept { deallocate_frame(block, size); }
};

class ByteBuffer {
  public:
    // Owned in place by its stream: never copied or moved (a moved-from block's deleter would
    // still report the old capacity).
    ByteBuffer() = default;
    ByteBuffer(const ByteBuffer&) = delete;
    ByteBuffer& operator=(const ByteBuffer&) = delete;

    std::string_view view() const noexcept { return {data_.get() + begin_, end_ - begin_}; }
    std::size_t size() const noexcept { return end_ - begin_; }
    bool empty() const noexcept { return begin_ == end_; }
    std::size_t capacity() const noexcept { return data_.get_deleter().size; }

    void append(const char* bytes, std::size_t count) {
        if (count == 0) {
            return;
        }
        if (end_ + count > capacity()) {
            make_room(count);
        }
        std::memcpy(data_.get() + end_, bytes, count);
        end_ += count;
    }

    /// Space for at least `count` more bytes at the back; `commit` then counts what was used.
    char* prepare(std::size_t count) {
        if (end_ + count > capacity()) {
            make_room(count);
        }
        return data_.get() + end_;
    }
    void commit(std::size_t count) noexcept { end_ += count; }

    void consume(std::size_t count) noexcept {
        begin_ += count < size() ? count : size();
        if (begin_ == end_) {
            release();
        }
    }

    void release() noexcept {
        data_ = Block();  // and its deleter's size: capacity() is 0
        begin_ = end_ = 0;
    }

  private:
    static constexpr std::size_t minimum_capacity = 1024;
    using Block = std::unique_ptr<char, FreeBufferBlock>;

    void make_room(std::size_t count) {
        const std::size_t used = size();
        const std::size_t current = capacity();
        if (used + count <= current && begin_ >= used) {
            // Enough space if the live bytes move to the front (cheap: they are few).
            std::memmove(data_.get(), data_.get() + begin_, used);
        } else {
            std::size_t wanted = current * 2;
            if (wanted < used + count) {
                wanted = used + count;
            }
            if (wanted < minimum_capacity) {
                wanted = minimum_capacity;
            }
            Block grown(static_cast<char*>(allocate_frame(wanted)), FreeBufferBlock{wanted});
            if (used != 0) {
                std::memcpy(grown.get(), data_.get() + begin_, used);
            }
            data_ = std::move(grown);
        }
        begin_ = 0;
        end_ = used;
    }

    Block data_;  // its deleter keeps the capacity (0 without a block)
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

}  // namespace gale::detail
