#pragma once
// The state behind an IOStream handle. Reference-counted: the handle holds one reference and
// every operation in flight holds one, so the socket, its buffers and the operations the
// kernel refers to outlive the handle until the kernel is done with them.

#include <gale/ioloop/iostream.hpp>

#include "ioloop/byte_buffer.hpp"
#include "ioloop/loop_internals.hpp"
#include "ioloop/poller.hpp"
#include "ioloop/write_queue.hpp"

#include <cstdint>
#include <memory>

namespace gale::detail {

class TlsSession;
class StreamCore;

/// What `start_tls` waits on: the next bytes from the peer (or its close).
struct HandshakeWaiter : CancellationCallback {
    StreamCore* core = nullptr;
    std::coroutine_handle<> handle;
    bool cancelled = false;

    bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> caller) {
        return suspend(caller, scope_of(caller));
    }
    void await_resume();
    bool suspend(std::coroutine_handle<> caller, CancellationScope* scope);
    static void on_cancel(CancellationCallback& callback) noexcept;
};

class StreamCore final : public FlushTarget {
  public:
    StreamCore(IOLoop& owner, int socket, IOStreamOptions stream_options);
    ~StreamCore();
    StreamCore(const StreamCore&) = delete;
    StreamCore& operator=(const StreamCore&) = delete;

    /// Arms the background receive; called once the handle holds its reference.
    void begin() { start_receiving(); }

    // --- reading
    std::string_view buffered() const noexcept { return input.view(); }
    void consume(std::size_t count) noexcept;
    bool buffer_full() const noexcept { return input.size() >= options.max_buffer_size; }
    /// True when no more bytes will arrive (orderly close, error or local close).
    bool input_ended() const noexcept { return peer_closed || closing; }

    // --- writing
    void enqueue(std::string data);
    void enqueue(std::string_view data);
    void enqueue(std::shared_ptr<const std::string> data);
    std::size_t pending_output() const noexcept { return output.size(); }
    void flush_pending_output() noexcept override;

    // --- lifecycle
    void close_gracefully() noexcept;
    void abort() noexcept;
    /// A fatal error: the stream closes and every waiter fails with it. With `flush_output`
    /// what is queued (a TLS alert) is still sent; otherwise the connection is reset.
    void fail(std::exception_ptr error, bool flush_output = false) noexcept;
    bool user_visible_closed() const noexcept { return closing || (peer_closed && input.empty()); }
    /// The exception waiters get once the stream is closed.
    StreamClosedError closed_error() const;

    // --- TLS
    std::unique_ptr<TlsSession> tls;
    HandshakeWaiter* handshake_waiter = nullptr;
    /// Sends what the TLS engine produced (handshake records, alerts, application data).
    void queue_tls_output();

    std::uint32_t references = 0;
    IOLoop& loop;
    LoopInternals& internals;
    int fd;
    IOStreamOptions options;

    ByteBuffer input;
    std::uint64_t received_total = 0;  // bytes ever appended to `input`
    WriteQueue output;

    bool peer_closed = false;  // the peer sent FIN (or TLS close_notify)
    bool closing = false;      // closed by close(), abort() or a failure
    bool aborted = false;      // queued output dropped: nothing more is sent
    bool fd_closed = false;
    bool receive_paused = false;  // buffer full: not receiving until consumed
    bool flush_requested = false;
    std::exception_ptr failure;

    DataAwaitable* reader = nullptr;
    WriteAwaitable* writers = nullptr;  // writers waiting for the queue to drain
    Callback close_callback;
    CancellationScope* close_scope = nullptr;

  private:
    friend class gale::DataAwaitable;
    friend class gale::WriteAwaitable;

    void start_receiving();
    void start_send();
    static void on_receive(IoOperation& operation, int result, bool more);
    static void on_send(IoOperation& operation, int result, bool more);
    void deliver(const char* bytes, std::size_t count);
    void notify_reader() noexcept;
    void notify_writers() noexcept;
    void notify_closed() noexcept;
    void finish_close_if_idle() noexcept;

    // An operation that knows its stream (StreamCore is not standard-layout: no offsetof).
    struct StreamOperation : IoOperation {
        StreamOperation(OperationKind operation_kind, CompleteFunction function, StreamCore* stream)
            : IoOperation(operation_kind, function), owner(stream) {}
        StreamCore* owner;
    };

    void request_flush();

    StreamOperation receive_operation_;
    StreamOperation send_operation_;
    // The iovecs of the send in flight: two in the stream (coalesced writes rarely need more),
    // sixteen on the heap once more chunks wait (broadcast backlogs).
    static constexpr std::size_t inline_iovecs = 2;
    iovec few_iovecs_[inline_iovecs];
    std::unique_ptr<iovec[]> many_iovecs_;
    TimerHandle close_timer_;
    bool close_notified_ = false;
};

}  // namespace gale::detail
