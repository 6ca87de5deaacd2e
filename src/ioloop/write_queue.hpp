#pragma once
// The output side of a stream: queued chunks, gathered into one sendmsg per flush.
//
// Chunks that are part of a send in flight are frozen (the kernel reads them); new small
// writes are coalesced into the last chunk only when it is not frozen and has room (a chunk is
// never reallocated: a full one is followed by a larger one). Large writes are
// queued as they are, without copying, and shared buffers (one broadcast frame written to
// many streams) are referenced, not copied. One small sent chunk's storage is kept for reuse, so a
// connection writing a response per request allocates nothing in the steady state — unless
// the stream releases its storage whenever the queue empties (WebSockets: mostly idle).
//
// The chunks live in a vector read from a head index rather than a std::deque: libstdc++'s
// deque allocates over half a kilobyte when constructed, for every idle connection.

#include <sys/uio.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gale::detail {

class WriteQueue {
  public:
    /// Chunks gathered into one send; more wait for the next one (16 × up to 16 KiB each).
    /// Small writes are coalesced, so more than two chunks are rare but for broadcast
    /// backlogs, where sixteen per send matter (eight nearly halved their throughput).
    static constexpr std::size_t max_iovecs = 16;
    static constexpr std::size_t coalesce_limit = 16 * 1024;
    static constexpr std::size_t max_spare_capacity = 512;
    static constexpr std::size_t coalesce_growth = 1024;
    // Above libstdc++'s in-object capacity (15), so a string this large is on the heap.
    static constexpr std::size_t small_string_limit = 32;

    bool empty() const noexcept { return bytes_ == 0; }
    /// Heap bytes held for reuse beyond the queued data (the slots and the spare).
    std::size_t retained_bytes() const noexcept {
        return chunks_.capacity() * sizeof(Chunk) +
               (spare_.capacity() >= small_string_limit ? spare_.capacity() : 0);
    }
    std::size_t size() const noexcept { return bytes_; }

    void push(std::string data) {
        if (data.empty()) {
            return;
        }
        bytes_ += data.size();
        if (can_coalesce(data.size())) {
            chunks_.back().owned.append(data);
        } else {
            push_chunk(Chunk{std::move(data), nullptr});
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
        // A full chunk is not grown (a reallocation and a copy): the next one has room for
        // twice as much (at least 1 KiB, at most coalesce_limit). Sixteen pipelined responses
        // (2.8 KB) thus take the 512-byte spare, 1 KiB and 2 KiB: two allocations, no copy,
        // and less memory held at once than a doubling string's. Chunks larger than the spare
        // are freed once sent, never kept.
        std::string storage = std::move(spare_);
        spare_ = std::string();
        if (chunk_count() > frozen_ && data.size() > storage.capacity()) {
            const Chunk& last = chunks_.back();
            const std::size_t last_size = std::max(last.owned.capacity(), last.bytes().size());
            const std::size_t doubled = std::min(2 * last_size, coalesce_limit);
            storage.reserve(std::max({data.size(), coalesce_growth, doubled}));
        }
        storage.assign(data);
        push_chunk(Chunk{std::move(storage), nullptr});
    }

    void push(std::shared_ptr<const std::string> data) {
        if (!data || data->empty()) {
            return;
        }
        bytes_ += data->size();
        push_chunk(Chunk{std::string(), std::move(data)});
    }

    /// Chunks queued (a partly sent one included).
    std::size_t chunk_count() const noexcept { return chunks_.size() - head_; }
    bool releases_when_empty() const noexcept { return release_when_empty_; }

    /// Fills `vectors` with the queued bytes (at most `limit` chunks) and freezes those chunks.
    std::size_t gather(iovec* vectors, std::size_t limit = max_iovecs) noexcept {
        std::size_t count = 0;
        for (std::size_t i = head_; i < chunks_.size() && count < limit; ++i, ++count) {
            std::string_view bytes = chunks_[i].bytes();
            std::size_t skip = i == head_ ? offset_ : 0;
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
            std::size_t available = chunks_[head_].bytes().size() - offset_;
            if (count < available) {
                offset_ += count;
                break;
            }
            count -= available;
            recycle(chunks_[head_]);
            chunks_[head_] = Chunk{};
            ++head_;
            offset_ = 0;
        }
        if (head_ == chunks_.size()) {
            chunks_.clear();
            head_ = 0;
            if (release_when_empty_) {
                release();
            }
        }
        frozen_ = 0;
    }

    /// Drops what no send in flight refers to (the frozen chunks stay until it completes).
    void drop_unfrozen() noexcept {
        while (chunk_count() > frozen_) {
            bytes_ -= chunks_.back().bytes().size() - (chunk_count() == 1 ? offset_ : 0);
            chunks_.pop_back();
        }
        if (chunks_.size() == head_) {
            chunks_.clear();
            head_ = 0;
            offset_ = 0;
        }
    }

    /// When true, the spare and the slots (all but one) are freed whenever the queue empties.
    void set_release_when_empty(bool enabled) noexcept {
        release_when_empty_ = enabled;
        if (enabled && chunk_count() == 0) {
            release();
        }
    }

    void clear() noexcept {
        chunks_.clear();
        head_ = 0;
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

    // Appends at the back; the slots of sent chunks at the front are reclaimed first. Chunks
    // move when the vector grows, also while a send reads them: their bytes must therefore
    // never live inside the Chunk, so a short string leaves its small-string buffer for the
    // heap (a moved heap string keeps its buffer).
    void push_chunk(Chunk chunk) {
        if (!chunk.shared && chunk.owned.capacity() < small_string_limit) {
            chunk.owned.reserve(small_string_limit);
        }
        if (head_ > 0 && chunks_.size() == chunks_.capacity()) {
            chunks_.erase(chunks_.begin(), chunks_.begin() + static_cast<std::ptrdiff_t>(head_));
            head_ = 0;
        }
        chunks_.push_back(std::move(chunk));
    }

    bool can_coalesce(std::size_t incoming) const noexcept {
        return chunk_count() > 0 && chunk_count() > frozen_ && !chunks_.back().shared &&
               chunks_.back().owned.size() + incoming <= coalesce_limit &&
               chunks_.back().owned.size() + incoming <= chunks_.back().owned.capacity();
    }

    // One slot stays: a broadcast subscriber gets a frame at a time without an allocation.
    void release() noexcept {
        if (chunks_.capacity() > 1) {
            chunks_ = std::vector<Chunk>();
        }
        chunks_.clear();
        head_ = offset_ = frozen_ = 0;
        spare_.clear();
        spare_.shrink_to_fit();  // back to the in-object buffer (assigning "" would keep it)
    }

    void recycle(Chunk& chunk) noexcept {
        // Small only: the spare stays with an idle connection.
        if (!chunk.shared && spare_.capacity() < small_string_limit &&
            chunk.owned.capacity() <= max_spare_capacity) {
            spare_ = std::move(chunk.owned);
            spare_.clear();
        }
    }

    std::vector<Chunk> chunks_;  // chunks_[head_] is the front
    std::size_t head_ = 0;
    std::string spare_;
    std::size_t offset_ = 0;  // bytes of the first chunk already sent
    std::size_t bytes_ = 0;
    std::size_t frozen_ = 0;  // leading chunks in a send in flight
    bool release_when_empty_ = false;
};

}  // namespace gale::detail
