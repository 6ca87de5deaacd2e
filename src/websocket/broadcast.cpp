#include <gale/websocket/broadcast.hpp>
#include <gale/websocket/utf8.hpp>

#include <algorithm>

namespace gale::websocket {

void Broadcaster::subscribe(std::shared_ptr<Connection> connection) {
    if (!connection) {
        throw WebSocketError("Broadcaster::subscribe: no connection");
    }
    if (connection->role() != Role::server) {
        throw WebSocketError("Broadcaster::subscribe: only server-side connections can subscribe");
    }
    if (positions_.contains(connection.get())) {
        return;
    }
    positions_.emplace(connection.get(), subscribers_.size());
    subscribers_.push_back(std::move(connection));
}

void Broadcaster::unsubscribe(const Connection& connection) noexcept {
    auto found = positions_.find(&connection);
    if (found != positions_.end()) {
        remove_at(found->second);
    }
}

bool Broadcaster::contains(const Connection& connection) const noexcept {
    return positions_.contains(&connection);
}

// Swaps the last subscriber into the hole: O(1), order does not matter.
void Broadcaster::remove_at(std::size_t index) noexcept {
    positions_.erase(subscribers_[index].get());
    if (index + 1 != subscribers_.size()) {
        subscribers_[index] = std::move(subscribers_.back());
        positions_[subscribers_[index].get()] = index;
    }
    subscribers_.pop_back();
}

PublishResult Broadcaster::publish(std::string_view message, bool binary,
                                   const Connection* except) {
    if (!binary && !is_valid_utf8(message)) {
        throw WebSocketError("Broadcaster::publish: a text message must be valid UTF-8");
    }
    // Drop closed subscribers and find the window every compressing one can decode.
    int window_bits = 16;
    for (std::size_t index = 0; index < subscribers_.size();) {
        const Connection& subscriber = *subscribers_[index];
        if (subscriber.closed()) {
            remove_at(index);
            continue;
        }
        if (subscriber.deflate() && &subscriber != except) {
            window_bits = std::min(window_bits, subscriber.deflate()->server_max_window_bits);
        }
        ++index;
    }
    PreparedMessageOptions prepared_options;
    prepared_options.compress = window_bits <= 15;
    prepared_options.window_bits = prepared_options.compress ? window_bits : 15;
    prepared_options.compression_level = options_.compression_level;
    prepared_options.memory_level = options_.memory_level;
    const PreparedMessage prepared(binary ? Opcode::binary : Opcode::text, message,
                                   prepared_options);
    PublishResult result;
    // A connection's send never removes subscribers synchronously, so indices stay valid.
    for (const std::shared_ptr<Connection>& subscriber : subscribers_) {
        if (subscriber.get() == except) {
            continue;
        }
        if (subscriber->send_prepared(prepared)) {
            ++result.delivered;
        } else {
            ++result.refused;
        }
    }
    return result;
}

}  // namespace gale::websocket
