#include <gale/ioloop/iostream.hpp>
#include <gale/ioloop/log.hpp>

#include "ioloop/stream_core.hpp"
#include "ioloop/tls_session.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <new>
#include <regex>

namespace gale {
namespace detail {

void retain(StreamCore* core) noexcept {
    if (core != nullptr) {
        ++core->references;
    }
}

void release(StreamCore* core) noexcept {
    if (core != nullptr && --core->references == 0) {
        delete core;
    }
}

namespace {

std::string describe(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& exception) {
        return exception.what();
    } catch (...) {
        return "unknown error";
    }
}

}  // namespace

StreamCore::StreamCore(IOLoop& owner, int socket, IOStreamOptions stream_options)
    : loop(owner),
      internals(owner.internals()),
      fd(socket),
      options(stream_options),
      receive_operation_(OperationKind::receive, &StreamCore::on_receive, this),
      send_operation_(OperationKind::send, &StreamCore::on_send, this) {
    receive_operation_.fd = socket;
    send_operation_.fd = socket;
}

StreamCore::~StreamCore() {
    close_timer_.cancel();
    if (!fd_closed && fd >= 0) {
        internals.poller->close(fd);
    }
}

void StreamCore::start_receiving() {
    if (receive_operation_.active || closing || peer_closed) {
        return;
    }
    receive_paused = false;
    retain(this);
    try {
        internals.poller->start(receive_operation_);
    } catch (...) {
        release(this);
        throw;
    }
}

void StreamCore::on_receive(IoOperation& operation, int result, bool more) {
    StreamCore* self = static_cast<StreamOperation&>(operation).owner;
    if (result > 0) {
        self->deliver(operation.data, static_cast<std::size_t>(result));
    }
    if (more) {
        return;
    }
    if (result == -ECANCELED && self->receive_paused && !self->buffer_full()) {
        // The reader consumed while the pause was still being cancelled: resume now.
        try {
            self->start_receiving();
        } catch (...) {
            self->fail(std::current_exception());
        }
    } else if (result == 0) {
        self->peer_closed = true;
        self->notify_reader();
        self->notify_closed();
    } else if (result < 0 && result != -ECANCELED) {
        self->fail(std::make_exception_ptr(system_error(
            -result, "connection to " + SocketAddress::peer_of(self->fd).to_string())));
    }
    self->finish_close_if_idle();
    release(self);
}

void StreamCore::deliver(const char* bytes, std::size_t count) {
    if (closing) {
        return;
    }
    if (tls) {
        TlsSession::Status status = tls->receive(bytes, count, input, received_total);
        queue_tls_output();
        if (status == TlsSession::Status::failed) {
            fail(std::make_exception_ptr(TLSError(tls->error_message())), true);
            return;
        }
        if (status == TlsSession::Status::peer_closed) {
            peer_closed = true;
            notify_closed();
        }
    } else {
        input.append(bytes, count);
        received_total += count;
    }
    notify_reader();
    if (buffer_full() && receive_operation_.active) {
        // Backpressure: stop taking data until the reader consumes some.
        receive_paused = true;
        internals.poller->cancel(receive_operation_);
    }
}

void StreamCore::consume(std::size_t count) noexcept {
    input.consume(count);
    if (receive_paused && !buffer_full() && !receive_operation_.active) {
        try {
            start_receiving();
        } catch (...) {
            fail(std::current_exception());
        }
    }
}

void StreamCore::notify_reader() noexcept {
    if (handshake_waiter != nullptr) {
        HandshakeWaiter* waiting = std::exchange(handshake_waiter, nullptr);
        waiting->detach();
        internals.post(waiting->handle);
    }
    if (reader == nullptr) {
        return;
    }
    DataAwaitable* waiting = std::exchange(reader, nullptr);
    waiting->detach();
    internals.post(waiting->waiter_);
}

void StreamCore::notify_closed() noexcept {
    if (close_scope != nullptr) {
        std::exchange(close_scope, nullptr)->cancel();
    }
    if (close_notified_ || !close_callback) {
        return;
    }
    close_notified_ = true;
    internals.post(std::move(close_callback));
}

// --- writing ---------------------------------------------------------------------------

void StreamCore::enqueue(std::string data) {
    if (tls) {
        if (!tls->send(data)) {
            fail(std::make_exception_ptr(TLSError(tls->error_message())));
            throw closed_error();
        }
        queue_tls_output();
        return;
    }
    output.push(std::move(data));
    request_flush();
}

// Output is sent at the end of the loop iteration, so all writes of one iteration leave
// together. The pending flush holds a reference: the loop keeps a plain pointer.
void StreamCore::request_flush() {
    if (flush_requested) {
        return;
    }
    internals.request_flush(this);
    flush_requested = true;
    retain(this);
}

void StreamCore::enqueue(std::shared_ptr<const std::string> data) {
    if (tls) {
        enqueue(std::string_view(*data));  // encrypted per connection: no sharing
        return;
    }
    output.push(std::move(data));
    request_flush();
}

void StreamCore::enqueue(std::string_view data) {
    if (tls) {
        enqueue(std::string(data));
        return;
    }
    output.push(data);
    request_flush();
}

void StreamCore::queue_tls_output() {
    tls->drain_output(output);
    if (!output.empty()) {
        request_flush();
    }
}

void StreamCore::flush_pending_output() noexcept {
    flush_requested = false;
    if (!send_operation_.active && !output.empty() && !fd_closed && !aborted) {
        start_send();
    }
    if (output.empty()) {
        notify_writers();
    }
    finish_close_if_idle();
    release(this);  // may delete this: last
}

void StreamCore::start_send() {
    iovec* vectors = few_iovecs_;
    std::size_t limit = inline_iovecs;
    if (output.chunk_count() > inline_iovecs) {
        if (!many_iovecs_) {
            many_iovecs_.reset(new (std::nothrow) iovec[WriteQueue::max_iovecs]);
        }
        if (many_iovecs_) {  // else: out of memory, send fewer at a time
            vectors = many_iovecs_.get();
            limit = WriteQueue::max_iovecs;
        }
    }
    send_operation_.message.msg_iov = vectors;
    send_operation_.message.msg_iovlen = output.gather(vectors, limit);
    retain(this);
    try {
        internals.poller->start(send_operation_);
    } catch (...) {
        release(this);
        fail(std::current_exception());
    }
}

void StreamCore::on_send(IoOperation& operation, int result, bool) {
    StreamCore* self = static_cast<StreamOperation&>(operation).owner;
    if (result < 0) {
        self->output.clear();
        if (result != -ECANCELED) {
            self->fail(std::make_exception_ptr(system_error(
                -result, "sending to " + SocketAddress::peer_of(self->fd).to_string())));
        }
    } else {
        self->output.consume(static_cast<std::size_t>(result));
        if (!self->output.empty() && !self->fd_closed && !self->aborted) {
            self->start_send();
        } else if (self->output.releases_when_empty()) {
            self->many_iovecs_.reset();
        }
    }
    self->notify_writers();
    self->finish_close_if_idle();
    release(self);
}

void StreamCore::notify_writers() noexcept {
    WriteAwaitable** link = &writers;
    while (*link != nullptr) {
        WriteAwaitable* writer = *link;
        if (output.size() <= writer->resume_limit_ || closing || failure) {
            *link = writer->next_;
            writer->next_ = nullptr;
            writer->detach();
            internals.post(writer->waiter_);
        } else {
            link = &writer->next_;
        }
    }
}

// --- closing ---------------------------------------------------------------------------

StreamClosedError StreamCore::closed_error() const {
    if (failure) {
        return StreamClosedError("stream closed: " + describe(failure), failure);
    }
    if (closing) {
        return StreamClosedError("stream closed");
    }
    return StreamClosedError("stream closed by the peer");
}

void StreamCore::close_gracefully() noexcept {
    if (closing) {
        return;
    }
    closing = true;
    if (tls && failure == nullptr) {
        tls->shutdown();
        try {
            queue_tls_output();
        } catch (...) {
        }
    }
    if (receive_operation_.active) {
        internals.poller->cancel(receive_operation_);
    }
    notify_reader();
    notify_writers();
    notify_closed();
    if (!output.empty()) {
        try {
            close_timer_ = loop.call_later(options.close_timeout, [this] { abort(); });
        } catch (...) {
            abort();
            return;
        }
    }
    finish_close_if_idle();
}

void StreamCore::abort() noexcept {
    closing = true;
    aborted = true;
    close_timer_.cancel();
    output.drop_unfrozen();
    if (receive_operation_.active) {
        internals.poller->cancel(receive_operation_);
    }
    if (send_operation_.active) {
        internals.poller->cancel(send_operation_);
    }
    if (!fd_closed && fd >= 0) {
        linger reset{1, 0};  // close with RST: the peer learns at once
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    }
    notify_reader();
    notify_writers();
    notify_closed();
    finish_close_if_idle();
}

void StreamCore::fail(std::exception_ptr error, bool flush_output) noexcept {
    if (failure == nullptr && !closing) {
        failure = std::move(error);
    }
    if (flush_output) {
        close_gracefully();
    } else {
        abort();
    }
}

void StreamCore::finish_close_if_idle() noexcept {
    if (!closing || fd_closed || receive_operation_.active || send_operation_.active ||
        flush_requested || !output.empty()) {
        return;
    }
    close_timer_.cancel();
    fd_closed = true;
    internals.poller->close(fd);
}

}  // namespace detail

// --- awaitables --------------------------------------------------------------------------

DataAwaitable::DataAwaitable(detail::StreamRef core) noexcept
    : core_(std::move(core)), seen_(core_->received_total) {}

bool DataAwaitable::await_ready() const {
    return core_->received_total > seen_ || core_->input_ended() || core_->buffer_full();
}

bool DataAwaitable::suspend(std::coroutine_handle<> caller, CancellationScope* scope) {
    if (core_->reader != nullptr) {
        throw Error("IOStream: another read is already pending on this stream");
    }
    if (!attach(scope, &DataAwaitable::on_cancel)) {
        cancelled_ = true;
        return false;
    }
    waiter_ = caller;
    core_->reader = this;
    return true;
}

void DataAwaitable::on_cancel(CancellationCallback& callback) noexcept {
    auto& self = static_cast<DataAwaitable&>(callback);
    if (self.core_->reader == &self) {
        self.core_->reader = nullptr;
    }
    self.cancelled_ = true;
    self.core_->internals.post(self.waiter_);
}

bool DataAwaitable::await_resume() {
    detach();
    if (cancelled_) {
        throw OperationCancelled();
    }
    detail::StreamCore& core = *core_;
    if (core.received_total > seen_) {
        return true;
    }
    if (core.closing || core.failure) {
        throw core.closed_error();
    }
    if (core.peer_closed) {
        return false;
    }
    if (core.buffer_full()) {
        throw StreamBufferFullError("IOStream: read buffer full (" +
                                    std::to_string(core.options.max_buffer_size) + " bytes)");
    }
    return true;
}

bool WriteAwaitable::await_ready() const {
    return core_->pending_output() <= ready_limit_ || core_->closing || core_->failure;
}

bool WriteAwaitable::suspend(std::coroutine_handle<> caller, CancellationScope* scope) {
    if (!attach(scope, &WriteAwaitable::on_cancel)) {
        cancelled_ = true;
        return false;
    }
    waiter_ = caller;
    next_ = core_->writers;
    core_->writers = this;
    return true;
}

void WriteAwaitable::on_cancel(CancellationCallback& callback) noexcept {
    auto& self = static_cast<WriteAwaitable&>(callback);
    for (WriteAwaitable** link = &self.core_->writers; *link != nullptr; link = &(*link)->next_) {
        if (*link == &self) {
            *link = self.next_;
            break;
        }
    }
    self.cancelled_ = true;
    self.core_->internals.post(self.waiter_);
}

void WriteAwaitable::await_resume() {
    detach();
    if (cancelled_) {
        throw OperationCancelled();
    }
    if (core_->failure) {
        throw core_->closed_error();
    }
    if (core_->closing && core_->pending_output() > resume_limit_) {
        throw core_->closed_error();
    }
}

// --- IOStream ------------------------------------------------------------------------------

namespace {

// Accepted sockets already are (SOCK_NONBLOCK): then one syscall, not two.
void make_non_blocking(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0 && (flags & O_NONBLOCK) != 0) {
        return;
    }
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        throw system_error(errno, "fcntl(O_NONBLOCK)");
    }
}

using detail::StreamRef;

Task<std::string> read_until_impl(StreamRef core, std::string delimiter, std::size_t max_bytes) {
    if (delimiter.empty()) {
        throw Error("read_until: empty delimiter");
    }
    if (max_bytes == 0) {
        max_bytes = core->options.max_buffer_size;
    }
    std::size_t scanned = 0;
    while (true) {
        std::string_view view = core->buffered();
        std::size_t found = view.find(delimiter, scanned);
        if (found != std::string_view::npos && found + delimiter.size() <= max_bytes) {
            std::string result(view.substr(0, found + delimiter.size()));
            core->consume(result.size());
            co_return result;
        }
        if (found != std::string_view::npos || view.size() >= max_bytes + delimiter.size() - 1) {
            core->close_gracefully();
            throw UnsatisfiableReadError("read_until: delimiter not found within " +
                                         std::to_string(max_bytes) + " bytes");
        }
        scanned = view.size() >= delimiter.size() ? view.size() - delimiter.size() + 1 : 0;
        if (!co_await DataAwaitable(core)) {
            throw StreamClosedError("stream closed by the peer before the delimiter");
        }
    }
}

Task<std::string> read_until_regex_impl(StreamRef core, std::string pattern,
                                        std::size_t max_bytes) {
    std::regex expression(pattern, std::regex::ECMAScript | std::regex::optimize);
    if (max_bytes == 0) {
        max_bytes = core->options.max_buffer_size;
    }
    while (true) {
        std::string_view view = core->buffered();
        std::match_results<std::string_view::const_iterator> match;
        std::string_view window = view.substr(0, std::min(view.size(), max_bytes));
        if (std::regex_search(window.begin(), window.end(), match, expression)) {
            auto end = static_cast<std::size_t>(match.position(0) + match.length(0));
            std::string result(view.substr(0, end));
            core->consume(end);
            co_return result;
        }
        if (view.size() >= max_bytes) {
            core->close_gracefully();
            throw UnsatisfiableReadError("read_until_regex: no match within " +
                                         std::to_string(max_bytes) + " bytes");
        }
        if (!co_await DataAwaitable(core)) {
            throw StreamClosedError("stream closed by the peer before the pattern matched");
        }
    }
}

Task<std::string> read_bytes_impl(StreamRef core, std::size_t count, bool partial) {
    std::string result;
    while (result.size() < count) {
        std::string_view view = core->buffered();
        if (!view.empty()) {
            std::size_t take = std::min(view.size(), count - result.size());
            if (result.empty() && (partial || take == count)) {
                result.assign(view.substr(0, take));  // the common case: one copy
            } else {
                result.append(view.substr(0, take));
            }
            core->consume(take);
            if (partial) {
                break;
            }
            continue;
        }
        if (!co_await DataAwaitable(core)) {
            throw StreamClosedError("stream closed by the peer after " +
                                    std::to_string(result.size()) + " of " + std::to_string(count) +
                                    " bytes");
        }
    }
    co_return result;
}

Task<std::string> read_until_close_impl(StreamRef core) {
    while (true) {
        if (core->buffer_full()) {
            throw StreamBufferFullError("read_until_close: more than " +
                                        std::to_string(core->options.max_buffer_size) +
                                        " bytes before the close");
        }
        bool more;
        try {
            more = co_await DataAwaitable(core);
        } catch (const StreamClosedError&) {
            if (core->failure) {
                throw;
            }
            more = false;
        }
        if (!more) {
            std::string result(core->buffered());
            core->consume(result.size());
            co_return result;
        }
    }
}

Task<void> flush_impl(StreamRef core) {
    co_await WriteAwaitable(core, 0, 0);
}

}  // namespace

IOStream::IOStream(int fd, IOStreamOptions options) {
    make_non_blocking(fd);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // fails quietly on Unix sockets
    core_ = detail::StreamRef(new detail::StreamCore(IOLoop::current(), fd, options));
    core_->begin();
}

IOStream& IOStream::operator=(IOStream&& other) noexcept {
    if (this != &other) {
        close();
        core_ = std::move(other.core_);
    }
    return *this;
}

IOStream::~IOStream() {
    close();
}

Task<std::string> IOStream::read_until(std::string delimiter, std::size_t max_bytes) {
    return read_until_impl(core_, std::move(delimiter), max_bytes);
}

Task<std::string> IOStream::read_until_regex(std::string pattern, std::size_t max_bytes) {
    return read_until_regex_impl(core_, std::move(pattern), max_bytes);
}

Task<std::string> IOStream::read_bytes(std::size_t count, bool partial) {
    return read_bytes_impl(core_, count, partial);
}

Task<std::string> IOStream::read_some(std::size_t max_bytes) {
    return read_bytes_impl(core_, max_bytes, true);
}

Task<std::string> IOStream::read_until_close() {
    return read_until_close_impl(core_);
}

std::string_view IOStream::buffered() const noexcept {
    return core_->buffered();
}

void IOStream::consume(std::size_t count) noexcept {
    core_->consume(count);
}

DataAwaitable IOStream::wait_for_data() {
    return DataAwaitable(core_);
}

WriteAwaitable IOStream::write(std::string data) {
    if (core_->closing || core_->failure) {
        throw core_->closed_error();
    }
    core_->enqueue(std::move(data));
    return WriteAwaitable(core_, core_->options.write_high_water, core_->options.write_low_water);
}

WriteAwaitable IOStream::write(std::string_view data) {
    if (core_->closing || core_->failure) {
        throw core_->closed_error();
    }
    core_->enqueue(data);
    return WriteAwaitable(core_, core_->options.write_high_water, core_->options.write_low_water);
}

WriteAwaitable IOStream::write(std::shared_ptr<const std::string> data) {
    if (core_->closing || core_->failure) {
        throw core_->closed_error();
    }
    if (data) {
        core_->enqueue(std::move(data));
    }
    return WriteAwaitable(core_, core_->options.write_high_water, core_->options.write_low_water);
}

Task<void> IOStream::flush() {
    return flush_impl(core_);
}

std::size_t IOStream::pending_output() const noexcept {
    return core_->pending_output();
}

void IOStream::close() noexcept {
    if (core_) {
        core_->close_gracefully();
    }
}

void IOStream::abort() noexcept {
    if (core_) {
        core_->abort();
    }
}

bool IOStream::closed() const noexcept {
    return !core_ || core_->user_visible_closed();
}

std::exception_ptr IOStream::error() const noexcept {
    return core_ ? core_->failure : nullptr;
}

void IOStream::set_close_callback(Callback callback) {
    if (core_->user_visible_closed() || core_->peer_closed) {
        core_->internals.post(std::move(callback));
        return;
    }
    core_->close_callback = std::move(callback);
}

void IOStream::set_release_output_when_idle(bool enabled) noexcept {
    core_->output.set_release_when_empty(enabled);
}

void IOStream::set_close_scope(CancellationScope* scope) noexcept {
    if (scope != nullptr &&
        (core_->user_visible_closed() || core_->peer_closed || core_->failure)) {
        scope->cancel();
        return;
    }
    core_->close_scope = scope;
}

int IOStream::fd() const noexcept {
    return core_ ? core_->fd : -1;
}

SocketAddress IOStream::peer_address() const {
    return SocketAddress::peer_of(core_->fd);
}

SocketAddress IOStream::local_address() const {
    return SocketAddress::local_of(core_->fd);
}

void IOStream::set_nodelay(bool enabled) {
    int value = enabled ? 1 : 0;
    ::setsockopt(core_->fd, IPPROTO_TCP, TCP_NODELAY, &value, sizeof value);
}

}  // namespace gale
