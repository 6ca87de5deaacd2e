// The connection pool and the max_clients slots.

#include "httpclient/client_state.hpp"

#include <algorithm>

namespace gale::httpclient::detail {

ClientState::~ClientState() {
    sweep_timer.cancel();
}

void ClientState::close_idle() noexcept {
    for (auto& [key, host] : hosts) {
        for (PooledConnection& connection : host->idle) {
            connection.stream.close();
        }
        idle_count -= host->idle.size();
        host->idle.clear();
    }
    sweep_timer.cancel();
    sweep_scheduled = false;
}

// One timer for the whole pool: it fires when the oldest idle connection expires.
void ClientState::schedule_sweep() {
    if (sweep_scheduled || idle_count == 0) {
        return;
    }
    IOLoop::TimePoint oldest = IOLoop::TimePoint::max();
    for (const auto& [key, host] : hosts) {
        if (!host->idle.empty()) {
            oldest = std::min(oldest, host->idle.front().idle_since);
        }
    }
    std::weak_ptr<ClientState> weak = weak_from_this();
    sweep_scheduled = true;
    sweep_timer = IOLoop::current().call_at(oldest + options.idle_timeout, [weak] {
        if (auto state = weak.lock()) {
            state->sweep_scheduled = false;
            state->sweep();
        }
    });
}

void ClientState::sweep() noexcept {
    IOLoop::TimePoint now = IOLoop::current().time();
    for (auto it = hosts.begin(); it != hosts.end();) {
        HostPool& host = *it->second;
        auto expired = [&](PooledConnection& connection) {
            if (now - connection.idle_since >= options.idle_timeout || connection.stream.closed()) {
                connection.stream.close();
                return true;
            }
            return false;
        };
        auto end = std::remove_if(host.idle.begin(), host.idle.end(), expired);
        idle_count -= static_cast<std::size_t>(host.idle.end() - end);
        host.idle.erase(end, host.idle.end());
        if (host.idle.empty() && host.active == 0 && host.waiters.empty()) {
            it = hosts.erase(it);
        } else {
            ++it;
        }
    }
    try {
        schedule_sweep();
    } catch (...) {
        // Without a timer the idle connections are still checked when taken.
    }
}

// --- slots ------------------------------------------------------------------------------------

SlotGuard::~SlotGuard() {
    Slot slot;
    if (!state_->slot_waiters.hand_over(slot)) {
        --state_->running;
    }
}

Task<void> acquire_slot(ClientState* state) {
    if (state->running < state->options.max_clients || state->options.max_clients == 0) {
        ++state->running;
        co_return;
    }
    co_await state->slot_waiters.wait();  // a releasing fetch handed its slot over
}

// --- leases -----------------------------------------------------------------------------------

ConnectionLease::ConnectionLease(ConnectionLease&& other) noexcept
    : connection(std::move(other.connection)),
      reused(other.reused),
      state_(std::exchange(other.state_, nullptr)),
      host_(std::exchange(other.host_, nullptr)) {}

ConnectionLease& ConnectionLease::operator=(ConnectionLease&& other) noexcept {
    if (this != &other) {
        release(false);
        connection = std::move(other.connection);
        reused = other.reused;
        state_ = std::exchange(other.state_, nullptr);
        host_ = std::exchange(other.host_, nullptr);
    }
    return *this;
}

namespace {

// An idle connection may have been closed by the server (or sent something unexpected)
// since it was parked.
bool still_usable(const PooledConnection& connection, const ClientState& state,
                  IOLoop::TimePoint now) {
    return connection.stream && !connection.stream.closed() &&
           connection.stream.buffered().empty() &&
           now - connection.idle_since < state.options.idle_timeout;
}

}  // namespace

void ConnectionLease::release(bool reusable) noexcept {
    if (host_ == nullptr) {
        return;
    }
    HostPool& host = *std::exchange(host_, nullptr);
    ClientState& state = *state_;
    try {
        bool keep = reusable && !state.closed && connection.stream && !connection.stream.closed();
        if (keep) {
            ++connection.requests;
            connection.idle_since = IOLoop::current().time();
            Grant grant{std::move(connection)};
            if (host.waiters.hand_over(grant)) {
                return;  // still active, now in the waiter's hands
            }
            --host.active;
            if (state.idle_count < state.options.max_idle_connections) {
                host.idle.push_back(std::move(*grant.connection));
                ++state.idle_count;
                state.schedule_sweep();
            } else {
                grant.connection->stream.close();
            }
            return;
        }
        if (connection.stream) {
            connection.stream.close();
        }
        Grant grant;
        if (!host.waiters.hand_over(grant)) {
            --host.active;
        }
    } catch (...) {
        // Only allocation can fail here; the connection is then simply dropped.
    }
}

Task<ConnectionLease> acquire_connection(ClientState* state, std::string key, bool fresh) {
    auto found = state->hosts.find(key);
    if (found == state->hosts.end()) {
        found = state->hosts.emplace(std::move(key), std::make_unique<HostPool>()).first;
    }
    HostPool* host = found->second.get();
    IOLoop::TimePoint now = IOLoop::current().time();
    while (!host->idle.empty()) {
        PooledConnection connection = std::move(host->idle.back());
        host->idle.pop_back();
        --state->idle_count;
        if (!fresh && still_usable(connection, *state, now)) {
            ++host->active;
            ConnectionLease lease(state, host);
            lease.connection = std::move(connection);
            lease.reused = true;
            co_return lease;
        }
        connection.stream.close();
    }
    std::size_t limit = state->options.max_connections_per_host;
    if (limit == 0 || host->active < limit) {
        ++host->active;
        co_return ConnectionLease(state, host);
    }
    Grant grant = co_await host->waiters.wait();
    ConnectionLease lease(state, host);  // the releasing fetch passed its place on
    if (grant.connection && still_usable(*grant.connection, *state, IOLoop::current().time())) {
        lease.connection = std::move(*grant.connection);
        lease.reused = true;
    } else if (grant.connection) {
        grant.connection->stream.close();
    }
    co_return lease;
}

}  // namespace gale::httpclient::detail
