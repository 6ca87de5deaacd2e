#pragma once
/// `MessageBuffer<Message>`: the last N messages, each with an id, and a way to wait for the
/// ones after a cursor — the state behind a long-polling endpoint or a server-sent event stream
/// that resumes from `Last-Event-ID` (Tornado's chat demo `MessageBuffer`).
///
/// ```
/// gale::web::MessageBuffer<std::string> buffer(200);     // one per loop, outliving handlers
///
/// class UpdatesHandler : public gale::web::RequestHandler {
///   public:
///     gale::Task<void> post() override {
///         auto cursor = get_body_argument("cursor");
///         auto fresh = co_await buffer.wait_since(cursor, std::chrono::seconds(30));
///         nlohmann::json messages = nlohmann::json::array();
///         for (const auto& entry : fresh) {
///             messages.push_back(*entry.message);
///         }
///         write(nlohmann::json{{"messages", messages}});  // [] after 30 s: poll again
///     }
/// };
/// ```
///
/// A client that disconnects while its handler waits is not left behind: the wait throws
/// `OperationCancelled` (the handler's scope is cancelled) and leaves the buffer's waiting list
/// at once — `waiter_count()` drops — before the handler's `on_connection_close()` runs.
///
/// Belongs to one loop: add and wait from tasks of that loop only. Messages are kept as
/// `shared_ptr<const Message>`, so waking a thousand waiters copies no message.

#include <gale/ioloop/locks.hpp>

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gale::web {

template <class Message>
class MessageBuffer {
  public:
    struct Entry {
        std::string id;
        std::shared_ptr<const Message> message;
    };

    /// Keeps the last `capacity` messages (at least one).
    explicit MessageBuffer(std::size_t capacity = 200) : capacity_(capacity == 0 ? 1 : capacity) {}
    MessageBuffer(const MessageBuffer&) = delete;
    MessageBuffer& operator=(const MessageBuffer&) = delete;

    /// Appends a message under `id` (dropping the oldest beyond the capacity) and wakes every
    /// waiter. Ids should be unique; a cursor names the newest message with its id.
    void add(std::string id, Message message) {
        entries_.push_back(
            Entry{std::move(id), std::make_shared<const Message>(std::move(message))});
        while (entries_.size() > capacity_) {
            entries_.pop_front();
        }
        arrived_.notify_all();
    }

    /// The messages after the one whose id is `cursor`, oldest first. Without a cursor, or when
    /// the cursor is unknown (never seen, or already dropped), every message kept — so a
    /// client that fell behind gets what is left rather than nothing.
    std::vector<Entry> since(std::optional<std::string_view> cursor) const {
        auto first = entries_.begin();
        if (cursor) {
            for (auto newest = entries_.rbegin(); newest != entries_.rend(); ++newest) {
                if (newest->id == *cursor) {
                    first = newest.base();
                    break;
                }
            }
        }
        return std::vector<Entry>(first, entries_.end());
    }

    /// Waits until there are messages after `cursor` (see `since`) and returns them. Completes
    /// at once when there already are, otherwise at the loop iteration after the next `add`;
    /// with a `timeout`, with an empty vector when it passes first. Throws `OperationCancelled`
    /// when the waiting task is cancelled (its client disconnected, the server shuts down).
    /// The buffer must outlive the wait.
    Task<std::vector<Entry>> wait_since(std::optional<std::string> cursor,
                                        std::optional<IOLoop::Duration> timeout = std::nullopt) {
        std::optional<IOLoop::TimePoint> deadline;
        if (timeout) {
            deadline = IOLoop::current().time() + *timeout;
        }
        while (true) {
            auto fresh = since(cursor);
            if (!fresh.empty()) {
                co_return fresh;
            }
            if (!deadline) {
                co_await arrived_.wait();
            } else if (!co_await arrived_.wait(*deadline)) {
                co_return std::vector<Entry>{};
            }
        }
    }

    /// The messages kept, oldest first.
    const std::deque<Entry>& entries() const noexcept { return entries_; }
    std::size_t size() const noexcept { return entries_.size(); }
    std::size_t capacity() const noexcept { return capacity_; }
    /// Tasks waiting in `wait_since` now.
    std::size_t waiter_count() const noexcept { return arrived_.waiter_count(); }

  private:
    std::size_t capacity_;
    std::deque<Entry> entries_;
    Condition arrived_;
};

}  // namespace gale::web
