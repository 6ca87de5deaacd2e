#pragma once
/// `Broadcaster`: one message to many WebSocket connections, encoded once.
///
/// `publish` frames the message once (and compresses it once, when subscribers negotiated
/// permessage-deflate: with the smallest server window among them, so every compressing
/// subscriber can take the same bytes) into shared, immutable buffers, then hands the same
/// buffer to each subscriber's stream: the cost per subscriber is a reference, not a copy.
///
/// A subscriber that does not keep up gets a bounded backlog (`ConnectionOptions::
/// max_queued_bytes`) and its connection's slow-consumer policy: the oldest queued broadcasts
/// are dropped, or the connection is closed with 1008. Memory per subscriber is bounded either
/// way; the publisher never waits.
///
/// ```
/// gale::websocket::Broadcaster room;           // one per loop (thread), e.g. a static
/// // in a WebSocketHandler:
/// gale::Task<void> open() override { room.subscribe(connection()); co_return; }
/// gale::Task<void> on_message(std::string text, bool) override {
///     room.publish(text);                      // to everyone, this connection included
///     co_return;
/// }
/// void on_close() override { room.unsubscribe(*connection()); }
/// ```
///
/// Closed connections are dropped from the set on the next `publish`. A broadcaster belongs
/// to one loop; its subscribers must be server-side connections of that loop.

#include <gale/websocket/connection.hpp>

#include <cstddef>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace gale::websocket {

struct BroadcasterOptions {
    /// zlib settings for the compressed variant (made only when a subscriber compresses).
    int compression_level = 6;
    int memory_level = 8;
};

/// What one `publish` did.
struct PublishResult {
    /// Subscribers the message was written or queued to.
    std::size_t delivered = 0;
    /// Subscribers that refused it: closing, or their slow-consumer policy dropped it.
    std::size_t refused = 0;
};

class Broadcaster {
  public:
    explicit Broadcaster(BroadcasterOptions options = {}) : options_(options) {}
    Broadcaster(const Broadcaster&) = delete;
    Broadcaster& operator=(const Broadcaster&) = delete;

    /// Adds a server-side connection (once; subscribing twice does nothing). Throws
    /// `WebSocketError` for a client-side connection (its frames must be masked one by one).
    void subscribe(std::shared_ptr<Connection> connection);
    /// Removes a connection; does nothing when it is not subscribed.
    void unsubscribe(const Connection& connection) noexcept;
    bool contains(const Connection& connection) const noexcept;
    /// The number of subscribers, closed ones not yet dropped included.
    std::size_t size() const noexcept { return subscribers_.size(); }

    /// Sends a text (UTF-8, else `WebSocketError`) or binary message to every open subscriber
    /// except `except`. Never waits.
    PublishResult publish(std::string_view message, bool binary = false,
                          const Connection* except = nullptr);

  private:
    void remove_at(std::size_t index) noexcept;

    BroadcasterOptions options_;
    std::vector<std::shared_ptr<Connection>> subscribers_;
    std::unordered_map<const Connection*, std::size_t> positions_;
};

}  // namespace gale::websocket
