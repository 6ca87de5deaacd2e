#pragma once
// The output side of a stream: queued chunks, gathered into one sendmsg per flush.
//
// Chunks that are part of a send in flight are frozen (the kernel reads them); new small
// writes are coalesced into the last chunk only when it is not frozen. Large writes are
// queued as they are, without copying, and shared buffers (one broadcast frame written to
// many streams) are referenced, not copied. One small sent chunk's storage is kept for reuse, so a
// connection writing a response per request allocates nothing in the steady state.

#include <sys/uio.h>

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

namespace gale::detail {

class WriteQueue {
  public:
    static constexpr std::size_t max_iovecs = 64;
    static constexpr std::size_t coalesce_limit = 16 * 1024;
    static constexpr std::size_t max_spare_capacity = 1024;

    bool empty() const noexcept { return bytes_ == 0; }
    std::size_t size() const noexcept { return bytes_; }

    void push(std::string data) {
        if (data.empty()) {
            return;
        }
        bytes_ += data.size();
        if (can_coalesce(data.size())) {
            chunks_.back().owned.append(data);
        } else {
            chunks_.push_back(Chunk{std::move(data), nullptr});
        }
    }

    void push(std::string_view data) {
        if (data.empty()) {
            return;
        }
        bytes_ += data.size();
        if (can_coalesce(data.size())) {
            chunks_.back().owned.append(data);
            return;
        }
        std::string storage = std::move(spare_);
        spare_ = std::string();
        storage.assign(data);
        chunks_.push_back(Chunk{std::move(storage), nullptr});
    }

    void push(std::shared_ptr<const std::string> data) {
        if (!data || data->empty()) {
            return;
        }
        bytes_ += data->size();
        chunks_.push_back(Chunk{std::string(), std::move(data)});
    }

    /// Fills `vectors` with the queued bytes (at most max_iovecs) and freezes those chunks.
    std::size_t gather(iovec* vectors) noexcept {
        std::size_t count = 0;
        for (std::size_t i = 0; i < chunks_.size() && count < max_iovecs; ++i, ++count) {
            std::string_view bytes = chunks_[i].bytes();
            std::size_t skip = i == 0 ? offset_ : 0;
            vectors[count].iov_base = const_cast<char*>(bytes.data() + skip);
            vectors[count].iov_len = bytes.size() - skip;
        }
        frozen_ = count;
        return count;
    }

    /// Drops `count` sent bytes from the front and unfreezes everything.
    void consume(std::size_t count) noexcept {
        bytes_ -= count;
        while (count > 0) {
            std::size_t available = chunks_.front().bytes().size() - offset_;
            if (count < available) {
                offset_ += count;
                break;
            }
            count -= available;
            recycle(chunks_.front());
            chunks_.pop_front();
            offset_ = 0;
        }
        frozen_ = 0;
    }

    /// Drops what no send in flight refers to (the frozen chunks stay until it completes).
    void drop_unfrozen() noexcept {
        while (chunks_.size() > frozen_) {
            bytes_ -= chunks_.back().bytes().size() - (chunks_.size() == 1 ? offset_ : 0);
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
    struct Chunk {
        std::string owned;
        std::shared_ptr<const std::string> shared;
        std::string_view bytes() const noexcept {
            return shared ? std::string_view(*shared) : std::string_view(owned);
        }
    };

    bool can_coalesce(std::size_t incoming) const noexcept {
        return !chunks_.empty() && chunks_.size() > frozen_ && !chunks_.back().shared &&
               chunks_.back().owned.size() + incoming <= coalesce_limit;
    }

    void recycle(Chunk& chunk) noexcept {
        // Small only: the spare stays with an idle connection.
        if (!chunk.shared && spare_.capacity() == 0 &&
            chunk.owned.capacity() <= max_spare_capacity) {
            spare_ = std::move(chunk.owned);
            spare_.clear();
        }
    }

    std::deque<Chunk> chunks_;
    std::string spare_;
    std::size_t offset_ = 0;  // bytes of the first chunk already sent
    std::size_t bytes_ = 0;
    std::size_t frozen_ = 0;  // leading chunks in a send in flight
};

}  // namespace gale::detail
