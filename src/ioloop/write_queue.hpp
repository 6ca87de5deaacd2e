#pragma once
// The output side of a stream: queued chunks, gathered into one sendmsg per flush.
//
// Chunks that are part of a send in flight are frozen (the kernel reads them); new small
// writes are coalesced into the last chunk only when it is not frozen. Large writes are
// queued as they are, without copying.

#include <sys/uio.h>

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>

namespace gale::detail {

class WriteQueue {
  public:
    static constexpr std::size_t max_iovecs = 64;
    static constexpr std::size_t coalesce_limit = 16 * 1024;

    bool empty() const noexcept { return bytes_ == 0; }
    std::size_t size() const noexcept { return bytes_; }

    void push(std::string data) {
        if (data.empty()) {
            return;
        }
        bytes_ += data.size();
        if (can_coalesce(data.size())) {
            chunks_.back().append(data);
        } else {
            chunks_.push_back(std::move(data));
        }
    }

    void push(std::string_view data) {
        if (data.empty()) {
            return;
        }
        bytes_ += data.size();
        if (can_coalesce(data.size())) {
            chunks_.back().append(data);
        } else {
            chunks_.emplace_back(data);
        }
    }

    /// Fills `vectors` with the queued bytes (at most max_iovecs) and freezes those chunks.
    std::size_t gather(iovec* vectors) noexcept {
        std::size_t count = 0;
        for (std::size_t i = 0; i < chunks_.size() && count < max_iovecs; ++i, ++count) {
            std::string& chunk = chunks_[i];
            std::size_t skip = i == 0 ? offset_ : 0;
            vectors[count].iov_base = chunk.data() + skip;
            vectors[count].iov_len = chunk.size() - skip;
        }
        frozen_ = count;
        return count;
    }

    /// Drops `count` sent bytes from the front and unfreezes everything.
    void consume(std::size_t count) noexcept {
        bytes_ -= count;
        while (count > 0) {
            std::size_t available = chunks_.front().size() - offset_;
            if (count < available) {
                offset_ += count;
                break;
            }
            count -= available;
            chunks_.pop_front();
            offset_ = 0;
        }
        frozen_ = 0;
    }

    /// Drops what no send in flight refers to (the frozen chunks stay until it completes).
    void drop_unfrozen() noexcept {
        while (chunks_.size() > frozen_) {
            bytes_ -= chunks_.back().size() - (chunks_.size() == 1 ? offset_ : 0);
            chunks_.pop_back();
        }
    }

    void clear() noexcept {
        chunks_.clear();
        offset_ = 0;
        bytes_ = 0;
        frozen_ = 0;
    }

  private:
    bool can_coalesce(std::size_t incoming) const noexcept {
        return !chunks_.empty() && chunks_.size() > frozen_ &&
               chunks_.back().size() + incoming <= coalesce_limit;
    }

    std::deque<std::string> chunks_;
    std::size_t offset_ = 0;  // bytes of the first chunk already sent
    std::size_t bytes_ = 0;
    std::size_t frozen_ = 0;  // leading chunks in a send in flight
};

}  // namespace gale::detail
