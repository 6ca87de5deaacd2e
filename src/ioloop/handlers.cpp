// Raw file descriptor handlers (Tornado's add_handler) and signal delivery through a signalfd.

#include <gale/ioloop/ioloop.hpp>
#include <gale/ioloop/log.hpp>

#include "ioloop/loop_internals.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>

namespace gale {
namespace detail {

namespace {

std::uint64_t next_registration_id() {
    thread_local std::uint64_t counter = 0;
    return ++counter;
}

}  // namespace

SignalState::~SignalState() {
    if (fd >= 0) {
        ::close(fd);
        pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
    }
}

void HandlerEntry::on_complete(IoOperation& operation, int result, bool more) {
    auto& entry = static_cast<HandlerEntry&>(operation);
    LoopInternals& internals = entry.internals;
    if (!more) {
        // Final completion: a removed handler can now be freed; a live one failed.
        auto& retired = internals.retired_handlers;
        auto found = std::find_if(retired.begin(), retired.end(),
                                  [&](const auto& owned) { return owned.get() == &entry; });
        if (found != retired.end()) {
            retired.erase(found);
            return;
        }
        if (result < 0) {
            log::error("fd handler for {} stopped: {}", entry.fd,
                       std::error_code(-result, std::system_category()).message());
        }
        return;
    }
    int fd = entry.fd;
    std::uint64_t registration = entry.registration;
    auto events = static_cast<std::uint32_t>(result);
    internals.post([&internals, fd, registration, events] {
        // The handler may have been removed (or replaced) since the event was seen.
        auto found = internals.handlers.find(fd);
        if (found == internals.handlers.end() || found->second->registration != registration) {
            return;
        }
        IOLoop::Handler callback = found->second->handler;  // it may remove itself while running
        callback(fd, events);
    });
}

}  // namespace detail

void IOLoop::add_handler(int fd, Handler handler, std::uint32_t events) {
    detail::LoopInternals& state = *internals_;
    if (state.handlers.contains(fd)) {
        throw Error("IOLoop::add_handler: fd " + std::to_string(fd) + " already has a handler");
    }
    auto entry = std::make_unique<detail::HandlerEntry>(state, std::move(handler),
                                                        detail::next_registration_id());
    entry->fd = fd;
    entry->poll_events = events;
    state.poller->start(*entry);
    state.handlers.emplace(fd, std::move(entry));
}

void IOLoop::update_handler(int fd, std::uint32_t events) {
    auto found = internals_->handlers.find(fd);
    if (found == internals_->handlers.end()) {
        throw Error("IOLoop::update_handler: fd " + std::to_string(fd) + " has no handler");
    }
    internals_->poller->update_poll(*found->second, events);
}

void IOLoop::remove_handler(int fd) noexcept {
    detail::LoopInternals& state = *internals_;
    auto found = state.handlers.find(fd);
    if (found == state.handlers.end()) {
        return;
    }
    std::unique_ptr<detail::HandlerEntry> entry = std::move(found->second);
    state.handlers.erase(found);
    if (!entry->active) {
        return;
    }
    state.poller->cancel(*entry);
    try {
        state.retired_handlers.push_back(std::move(entry));
    } catch (...) {
        // Out of memory while retiring: leaking the entry is safer than freeing it in flight.
        (void)entry.release();
    }
}

void IOLoop::add_signal_handler(int signal_number, Callback callback) {
    detail::LoopInternals& state = *internals_;
    if (!state.signals) {
        state.signals = std::make_unique<detail::SignalState>();
    }
    auto& signals = *state.signals;
    bool first = signals.fd < 0;
    if (first) {
        sigemptyset(&signals.blocked);
    }
    sigaddset(&signals.blocked, signal_number);
    sigset_t previous;
    if (pthread_sigmask(SIG_BLOCK, &signals.blocked, &previous) != 0) {
        throw system_error(errno, "pthread_sigmask");
    }
    int fd = ::signalfd(signals.fd, &signals.blocked, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
        throw system_error(errno, "signalfd");
    }
    signals.callbacks[signal_number] = std::move(callback);
    if (!first) {
        return;
    }
    signals.previous_mask = previous;
    signals.fd = fd;
    add_handler(
        fd,
        [this](int ready_fd, std::uint32_t) {
            signalfd_siginfo info{};
            while (::read(ready_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
                auto& callbacks = internals_->signals->callbacks;
                auto found = callbacks.find(static_cast<int>(info.ssi_signo));
                if (found != callbacks.end()) {
                    found->second();
                }
            }
        },
        Events::read);
}

void IOLoop::remove_signal_handler(int signal_number) noexcept {
    if (!internals_->signals) {
        return;
    }
    internals_->signals->callbacks.erase(signal_number);
}

}  // namespace gale
