#pragma once
// A contiguous receive buffer: bytes are appended at the back and consumed from the front.
// The storage is freed whenever the buffer becomes empty, so an idle connection holds none.

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace gale::detail {

class ByteBuffer {
  public:
    std::string_view view() const noexcept { return {data_.get() + begin_, end_ - begin_}; }
    std::size_t size() const noexcept { return end_ - begin_; }
    bool empty() const noexcept { return begin_ == end_; }
    std::size_t capacity() const noexcept { return capacity_; }

    void append(const char* bytes, std::size_t count) {
        if (count == 0) {
            return;
        }
        if (end_ + count > capacity_) {
            make_room(count);
        }
        std::memcpy(data_.get() + end_, bytes, count);
        end_ += count;
    }

    /// Space for at least `count` more bytes at the back; `commit` then counts what was used.
    char* prepare(std::size_t count) {
        if (end_ + count > capacity_) {
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
        data_.reset();
        begin_ = end_ = capacity_ = 0;
    }

  private:
    static constexpr std::size_t minimum_capacity = 1024;

    void make_room(std::size_t count) {
        const std::size_t used = size();
        if (used + count <= capacity_ && begin_ >= used) {
            // Enough space if the live bytes move to the front (cheap: they are few).
            std::memmove(data_.get(), data_.get() + begin_, used);
        } else {
            std::size_t wanted = capacity_ * 2;
            if (wanted < used + count) {
                wanted = used + count;
            }
            if (wanted < minimum_capacity) {
                wanted = minimum_capacity;
            }
            auto grown = std::make_unique_for_overwrite<char[]>(wanted);
            if (used != 0) {
                std::memcpy(grown.get(), data_.get() + begin_, used);
            }
            data_ = std::move(grown);
            capacity_ = wanted;
        }
        begin_ = 0;
        end_ = used;
    }

    std::unique_ptr<char[]> data_;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
    std::size_t capacity_ = 0;
};

}  // namespace gale::detail
