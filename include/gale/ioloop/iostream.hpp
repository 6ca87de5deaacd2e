#pragma once
/// `IOStream`: a buffered, asynchronous byte stream over a TCP or Unix socket, optionally
/// encrypted with TLS.
///
/// Reading: the stream receives in the background into its buffer (up to `max_buffer_size`,
/// then it stops reading until the buffer is consumed: backpressure on the peer). The read
/// methods take from that buffer and wait when it does not hold enough yet. One read may be
/// pending at a time.
///
/// Writing: `write` queues the bytes at once; all writes made to a stream during one loop
/// iteration leave in one system call (or submission) at the end of the iteration. The
/// awaitable it returns completes at once unless the unsent bytes exceed the high-water mark,
/// in which case it waits until the peer has taken enough: a slow reader slows the writer
/// instead of growing memory.
///
/// ```
/// gale::Task<void> echo(gale::IOStream stream) {
///     while (true) {
///         std::string line = co_await stream.read_until("\n", 64 * 1024);
///         co_await stream.write(std::move(line));
///     }
/// }
/// ```
///
/// An `IOStream` is a move-only owning handle; the coroutines it returns keep the
/// underlying connection alive by themselves, so moving the handle while a read is pending is
/// safe. Destroying the last handle closes the stream.

#include <gale/ioloop/errors.hpp>
#include <gale/ioloop/ioloop.hpp>
#include <gale/ioloop/socket_address.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace gale {

class TLSContext;

/// The stream is closed, by this side or the peer. `what()` says why; `cause()` holds the
/// underlying error (a reset, a TLS failure), if any.
class StreamClosedError : public Error {
  public:
    explicit StreamClosedError(const std::string& message, std::exception_ptr cause = nullptr)
        : Error(message), cause_(std::move(cause)) {}
    const std::exception_ptr& cause() const noexcept { return cause_; }

  private:
    std::exception_ptr cause_;
};

/// A `read_until` could not be satisfied within its `max_bytes`; the stream is closed.
class UnsatisfiableReadError : public Error {
  public:
    using Error::Error;
};

/// The read buffer reached `max_buffer_size` without satisfying the read.
class StreamBufferFullError : public Error {
  public:
    using Error::Error;
};

struct IOStreamOptions {
    /// Most bytes buffered for reading; the stream stops receiving when it is reached.
    std::size_t max_buffer_size = 64 * 1024 * 1024;
    /// `write` waits while more than this is queued and not yet sent, until at most
    /// `write_low_water` remains.
    std::size_t write_high_water = 1024 * 1024;
    std::size_t write_low_water = 256 * 1024;
    /// How long `close()` keeps sending queued output to a peer that does not read it.
    IOLoop::Duration close_timeout = std::chrono::seconds(10);
};

namespace detail {
class StreamCore;
void retain(StreamCore* core) noexcept;
void release(StreamCore* core) noexcept;

/// An owning, reference-counted pointer to a StreamCore.
class StreamRef {
  public:
    StreamRef() noexcept = default;
    explicit StreamRef(StreamCore* core) noexcept : core_(core) { retain(core_); }
    StreamRef(const StreamRef& other) noexcept : core_(other.core_) { retain(core_); }
    StreamRef(StreamRef&& other) noexcept : core_(std::exchange(other.core_, nullptr)) {}
    StreamRef& operator=(StreamRef other) noexcept {
        std::swap(core_, other.core_);
        return *this;
    }
    ~StreamRef() { release(core_); }
    StreamCore* get() const noexcept { return core_; }
    StreamCore* operator->() const noexcept { return core_; }
    StreamCore& operator*() const noexcept { return *core_; }
    explicit operator bool() const noexcept { return core_ != nullptr; }

  private:
    StreamCore* core_ = nullptr;
};
}  // namespace detail

/// Awaitable returned by `IOStream::write`: completes at once unless the stream is over its
/// high-water mark. Throws `StreamClosedError` when the stream fails before the data leaves.
class [[nodiscard]] WriteAwaitable : public CancellationCallback {
  public:
    /// Ready while at most `ready_limit` bytes are unsent; otherwise waits until at most
    /// `resume_limit` are.
    WriteAwaitable(detail::StreamRef core, std::size_t ready_limit,
                   std::size_t resume_limit) noexcept
        : core_(std::move(core)), ready_limit_(ready_limit), resume_limit_(resume_limit) {}
    WriteAwaitable(WriteAwaitable&& other) noexcept
        : core_(std::move(other.core_)),
          ready_limit_(other.ready_limit_),
          resume_limit_(other.resume_limit_) {}

    bool await_ready() const;
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> caller) {
        return suspend(caller, detail::scope_of(caller));
    }
    void await_resume();

  private:
    friend class detail::StreamCore;
    bool suspend(std::coroutine_handle<> caller, CancellationScope* scope);
    static void on_cancel(CancellationCallback& callback) noexcept;

    detail::StreamRef core_;
    std::size_t ready_limit_;
    std::size_t resume_limit_;
    std::coroutine_handle<> waiter_;
    WriteAwaitable* next_ = nullptr;  // in the stream's list of waiting writers
    bool cancelled_ = false;
};

/// Awaitable returned by `IOStream::wait_for_data`.
class [[nodiscard]] DataAwaitable : public CancellationCallback {
  public:
    explicit DataAwaitable(detail::StreamRef core) noexcept;
    DataAwaitable(DataAwaitable&& other) noexcept
        : core_(std::move(other.core_)), seen_(other.seen_) {}

    bool await_ready() const;
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> caller) {
        return suspend(caller, detail::scope_of(caller));
    }
    bool await_resume();

  private:
    friend class detail::StreamCore;
    bool suspend(std::coroutine_handle<> caller, CancellationScope* scope);
    static void on_cancel(CancellationCallback& callback) noexcept;

    detail::StreamRef core_;
    std::uint64_t seen_;  // bytes received when the wait began
    std::coroutine_handle<> waiter_;
    bool cancelled_ = false;
};

class IOStream {
  public:
    /// An empty handle.
    IOStream() noexcept = default;
    /// Takes ownership of a connected socket (made non-blocking here) on the current loop.
    explicit IOStream(int fd, IOStreamOptions options = {});
    IOStream(IOStream&&) noexcept = default;
    IOStream& operator=(IOStream&& other) noexcept;
    IOStream(const IOStream&) = delete;
    IOStream& operator=(const IOStream&) = delete;
    /// Closes the stream (as `close()`).
    ~IOStream();

    explicit operator bool() const noexcept { return static_cast<bool>(core_); }

    // --- reading ------------------------------------------------------------------------
    /// Reads up to and including `delimiter`. When the delimiter has not been found within
    /// `max_bytes` (0: `max_buffer_size`), fails with `UnsatisfiableReadError` and closes.
    /// Fails with `StreamClosedError` when the stream ends first.
    Task<std::string> read_until(std::string delimiter, std::size_t max_bytes = 0);
    /// As `read_until`, up to the end of the first match of the ECMAScript `pattern`.
    Task<std::string> read_until_regex(std::string pattern, std::size_t max_bytes = 0);
    /// Reads exactly `count` bytes, or with `partial` as soon as at least one byte is there
    /// (at most `count`). `read_bytes(0)` returns "" at once.
    Task<std::string> read_bytes(std::size_t count, bool partial = false);
    /// Reads whatever is available, waiting for at least one byte (at most `max_bytes`).
    Task<std::string> read_some(std::size_t max_bytes = 64 * 1024);
    /// Reads until the peer closes; fails with `StreamBufferFullError` past `max_buffer_size`.
    Task<std::string> read_until_close();

    /// The received bytes not yet consumed (valid until the next suspension or consume).
    std::string_view buffered() const noexcept;
    /// Drops `count` bytes from the front of the buffer.
    void consume(std::size_t count) noexcept;
    /// Waits until more bytes arrive. Returns true when they did, false at the peer's orderly
    /// close (the buffer may still hold bytes). Throws `StreamClosedError` after an error or
    /// a local close, and `StreamBufferFullError` when the buffer is full.
    DataAwaitable wait_for_data();

    // --- writing ------------------------------------------------------------------------
    /// Queues `data`; see the class comment for when the returned awaitable waits. Throws
    /// `StreamClosedError` at once when the stream is closed.
    WriteAwaitable write(std::string data);
    WriteAwaitable write(std::string_view data);
    WriteAwaitable write(const char* data) { return write(std::string_view(data)); }
    /// Queues a shared, immutable buffer without copying it (one broadcast frame written to
    /// many streams). The buffer is kept alive until it has been sent.
    WriteAwaitable write(std::shared_ptr<const std::string> data);
    /// Waits until everything queued has been handed to the kernel.
    Task<void> flush();
    /// Bytes queued and not yet sent.
    std::size_t pending_output() const noexcept;

    // --- TLS ----------------------------------------------------------------------------
    /// Performs a TLS handshake over this stream (server or client side). A client verifies
    /// the server's certificate and `server_hostname` unless the context says otherwise.
    /// Throws `TLSError` with the reason when the handshake fails; the stream is then closed.
    Task<void> start_tls(TLSContext context, bool server_side, std::string server_hostname = {});
    bool is_tls() const noexcept;
    /// The protocol chosen by ALPN ("h2", "http/1.1"), or empty.
    std::string alpn_protocol() const;
    /// The TLS version ("TLSv1.3") and the peer certificate's subject, or empty.
    std::string tls_version() const;
    std::string peer_certificate_subject() const;

    // --- lifecycle ----------------------------------------------------------------------
    /// Stops reading, sends what is queued (up to `close_timeout`), then closes the socket.
    /// Pending reads fail with `StreamClosedError`. Idempotent.
    void close() noexcept;
    /// Closes at once, dropping queued output (the peer sees a reset).
    void abort() noexcept;
    /// True once closed by either side (after a peer's close, only once its data is read).
    bool closed() const noexcept;
    /// Why the stream closed: null for an orderly close by either side.
    std::exception_ptr error() const noexcept;
    /// Runs `callback` on the loop once the stream is closed (now, if it already is).
    void set_close_callback(Callback callback);
    /// While set, `scope` is cancelled as soon as the stream closes (the peer closed, the
    /// connection failed, or it was closed here); at once if it already is. For servers: a
    /// handler running in `scope` learns that its client went away. Pass null to unset.
    void set_close_scope(CancellationScope* scope) noexcept;
    /// Whether the output storage kept for reuse (a sent chunk's buffer, the queue's slots) is
    /// freed whenever all output is sent. For connections that are idle most of the time
    /// (WebSockets): they then hold no output buffer, at the cost of an allocation per write.
    void set_release_output_when_idle(bool enabled) noexcept;

    // --- socket -------------------------------------------------------------------------
    int fd() const noexcept;
    SocketAddress peer_address() const;
    SocketAddress local_address() const;
    /// TCP_NODELAY (on by default for TCP streams).
    void set_nodelay(bool enabled);

    /// For the library's own protocol code.
    const detail::StreamRef& core() const noexcept { return core_; }

  private:
    detail::StreamRef core_;
};

}  // namespace gale
