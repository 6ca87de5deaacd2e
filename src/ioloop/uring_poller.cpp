// The io_uring backend.
//
// What pays for networking, per the peers' measurements: multishot accept, multishot receive
// into a ring of provided buffers shared by every connection of the loop (an idle connection
// holds no buffer), SINGLE_ISSUER | DEFER_TASKRUN when the kernel takes them, a registered
// ring fd, and one submit-and-wait per loop iteration. Received bytes are copied out of the
// provided buffer during the completion and the buffer goes straight back to the ring, so
// the kernel never writes into memory a coroutine owns, even after a cancel.

#include "ioloop/poller.hpp"

#include <gale/ioloop/log.hpp>

#include <liburing.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace gale::detail {
namespace {

constexpr std::uint64_t ignored_tag = 0;  // completions of cancel and poll-update requests
constexpr std::uint64_t wake_tag = 1;
constexpr unsigned buffer_group = 0;
constexpr unsigned batch_size = 256;

std::uint32_t to_poll_mask(std::uint32_t events) {
    std::uint32_t mask = 0;
    if (events & Events::read) {
        mask |= POLLIN | POLLRDHUP;
    }
    if (events & Events::write) {
        mask |= POLLOUT;
    }
    return mask;
}

std::uint32_t from_poll_mask(std::uint32_t mask) {
    std::uint32_t events = 0;
    if (mask & (POLLIN | POLLRDHUP)) {
        events |= Events::read;
    }
    if (mask & POLLOUT) {
        events |= Events::write;
    }
    if (mask & (POLLERR | POLLHUP)) {
        events |= Events::error;
    }
    return events;
}

unsigned round_up_to_power_of_two(unsigned value) {
    unsigned result = 1;
    while (result < value) {
        result <<= 1;
    }
    return result;
}

class UringPoller final : public Poller {
  public:
    UringPoller() = default;
    ~UringPoller() override;

    /// Sets everything up; returns an empty string or the reason it cannot work here.
    std::string initialise(const PollerOptions& options);

    IOBackend backend() const noexcept override { return IOBackend::io_uring; }
    void start(IoOperation& operation) override;
    void cancel(IoOperation& operation) noexcept override;
    void update_poll(IoOperation& operation, std::uint32_t events) override;
    void close(int fd) noexcept override { ::close(fd); }
    void wait(std::optional<IOLoop::Duration> timeout) override;
    void wake() noexcept override {
        std::uint64_t one = 1;
        [[maybe_unused]] ssize_t written = ::write(wake_fd_, &one, sizeof one);
    }

  private:
    io_uring_sqe* next_sqe();
    void arm(IoOperation& operation);
    void arm_wake();
    void dispatch(std::uint64_t tag, int result, std::uint32_t flags);
    void dispatch_receive(IoOperation& operation, int result, std::uint32_t flags);
    void dispatch_multishot(IoOperation& operation, int result, bool more);
    void dispatch_poll(IoOperation& operation, int result);
    void recycle_buffer(unsigned buffer_id);
    void finish(IoOperation& operation, int result) {
        count_finish();
        operation.active = false;
        operation.complete(operation, result, false);
    }

    io_uring ring_{};
    bool ring_ready_ = false;
    int wake_fd_ = -1;
    std::uint64_t wake_value_ = 0;
    io_uring_buf_ring* buffer_ring_ = nullptr;
    std::size_t buffer_ring_bytes_ = 0;
    char* buffers_ = nullptr;
    std::size_t buffer_memory_bytes_ = 0;
    unsigned buffer_count_ = 0;
    std::size_t buffer_size_ = 0;
};

std::string UringPoller::initialise(const PollerOptions& options) {
    io_uring_params params{};
    params.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
                   IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
    params.cq_entries = options.ring_entries * 4;  // multishot operations post many completions
    int result = io_uring_queue_init_params(options.ring_entries, &ring_, &params);
    if (result == -EINVAL) {
        // Older kernels: no SINGLE_ISSUER / DEFER_TASKRUN.
        params = {};
        params.flags = IORING_SETUP_CQSIZE;
        params.cq_entries = options.ring_entries * 4;
        result = io_uring_queue_init_params(options.ring_entries, &ring_, &params);
    }
    if (result < 0) {
        return std::string("io_uring_queue_init: ") + std::strerror(-result);
    }
    ring_ready_ = true;

    io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
    if (probe == nullptr) {
        return "io_uring probe failed";
    }
    const int needed[] = {IORING_OP_ACCEPT,      IORING_OP_RECV,        IORING_OP_SEND,
                          IORING_OP_SENDMSG,     IORING_OP_CONNECT,     IORING_OP_POLL_ADD,
                          IORING_OP_POLL_REMOVE, IORING_OP_ASYNC_CANCEL};
    for (int opcode : needed) {
        if (!io_uring_opcode_supported(probe, opcode)) {
            io_uring_free_probe(probe);
            return "kernel lacks io_uring opcode " + std::to_string(opcode);
        }
    }
    io_uring_free_probe(probe);
    if (!(params.features & IORING_FEAT_FAST_POLL)) {
        return "kernel lacks IORING_FEAT_FAST_POLL";
    }
    io_uring_register_ring_fd(&ring_);  // an optimisation only; fine if refused

    // Provided-buffer ring for multishot receive (kernel 5.19+).
    buffer_count_ = round_up_to_power_of_two(options.receive_buffer_count);
    buffer_size_ = options.receive_buffer_size;
    buffer_ring_bytes_ = buffer_count_ * sizeof(io_uring_buf);
    void* ring_memory = ::mmap(nullptr, buffer_ring_bytes_, PROT_READ | PROT_WRITE,
                               MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (ring_memory == MAP_FAILED) {
        return std::string("mmap for the buffer ring: ") + std::strerror(errno);
    }
    buffer_ring_ = static_cast<io_uring_buf_ring*>(ring_memory);
    buffer_memory_bytes_ = buffer_count_ * buffer_size_;
    void* memory = ::mmap(nullptr, buffer_memory_bytes_, PROT_READ | PROT_WRITE,
                          MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (memory == MAP_FAILED) {
        return std::string("mmap for receive buffers: ") + std::strerror(errno);
    }
    buffers_ = static_cast<char*>(memory);
    io_uring_buf_reg registration{};
    registration.ring_addr = reinterpret_cast<std::uint64_t>(buffer_ring_);
    registration.ring_entries = buffer_count_;
    registration.bgid = buffer_group;
    result = io_uring_register_buf_ring(&ring_, &registration, 0);
    if (result < 0) {
        return std::string("io_uring_register_buf_ring: ") + std::strerror(-result);
    }
    io_uring_buf_ring_init(buffer_ring_);
    for (unsigned id = 0; id < buffer_count_; ++id) {
        io_uring_buf_ring_add(buffer_ring_, buffers_ + id * buffer_size_,
                              static_cast<unsigned>(buffer_size_), static_cast<unsigned short>(id),
                              io_uring_buf_ring_mask(buffer_count_), static_cast<int>(id));
    }
    io_uring_buf_ring_advance(buffer_ring_, static_cast<int>(buffer_count_));

    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) {
        return std::string("eventfd: ") + std::strerror(errno);
    }
    arm_wake();
    return {};
}

UringPoller::~UringPoller() {
    if (ring_ready_) {
        io_uring_queue_exit(&ring_);
    }
    if (wake_fd_ >= 0) {
        ::close(wake_fd_);
    }
    if (buffers_ != nullptr) {
        ::munmap(buffers_, buffer_memory_bytes_);
    }
    if (buffer_ring_ != nullptr) {
        ::munmap(buffer_ring_, buffer_ring_bytes_);
    }
}

io_uring_sqe* UringPoller::next_sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    while (sqe == nullptr) {
        int result = io_uring_submit(&ring_);
        if (result < 0 && result != -EBUSY && result != -EAGAIN) {
            throw system_error(-result, "io_uring_submit");
        }
        sqe = io_uring_get_sqe(&ring_);
    }
    return sqe;
}

void UringPoller::arm_wake() {
    io_uring_sqe* sqe = next_sqe();
    io_uring_prep_poll_multishot(sqe, wake_fd_, POLLIN);
    io_uring_sqe_set_data64(sqe, wake_tag);
}

void UringPoller::start(IoOperation& operation) {
    count_start();
    operation.active = true;
    operation.cancel_requested = false;
    operation.rearm_requested = false;
    arm(operation);
}

void UringPoller::arm(IoOperation& operation) {
    io_uring_sqe* sqe = next_sqe();
    switch (operation.kind) {
        case OperationKind::accept:
            io_uring_prep_multishot_accept(sqe, operation.fd, nullptr, nullptr,
                                           SOCK_NONBLOCK | SOCK_CLOEXEC);
            break;
        case OperationKind::receive:
            io_uring_prep_recv_multishot(sqe, operation.fd, nullptr, 0, 0);
            sqe->flags |= IOSQE_BUFFER_SELECT;
            sqe->buf_group = buffer_group;
            break;
        case OperationKind::send:
            if (operation.message.msg_iovlen == 1) {
                const iovec& only = operation.message.msg_iov[0];
                io_uring_prep_send(sqe, operation.fd, only.iov_base, only.iov_len, MSG_NOSIGNAL);
            } else {
                io_uring_prep_sendmsg(sqe, operation.fd, &operation.message, MSG_NOSIGNAL);
            }
            break;
        case OperationKind::connect:
            io_uring_prep_connect(sqe, operation.fd,
                                  static_cast<const sockaddr*>(operation.message.msg_name),
                                  operation.message.msg_namelen);
            break;
        case OperationKind::poll:
            io_uring_prep_poll_add(sqe, operation.fd, to_poll_mask(operation.poll_events));
            break;
    }
    io_uring_sqe_set_data(sqe, &operation);
}

void UringPoller::cancel(IoOperation& operation) noexcept {
    if (!operation.active || operation.cancel_requested) {
        return;
    }
    operation.cancel_requested = true;
    try {
        io_uring_sqe* sqe = next_sqe();
        io_uring_prep_cancel(sqe, &operation, 0);
        io_uring_sqe_set_data64(sqe, ignored_tag);
    } catch (const std::exception& error) {
        log::error("io_uring cancel could not be queued: {}", error.what());
    }
}

void UringPoller::update_poll(IoOperation& operation, std::uint32_t events) {
    operation.poll_events = events;
    if (!operation.active || operation.cancel_requested) {
        return;
    }
    if (operation.rearm_requested) {
        return;  // the re-arm already pending will use the new events
    }
    // Remove the armed poll; its completion (-ECANCELED) re-arms it with the new events.
    operation.rearm_requested = true;
    io_uring_sqe* sqe = next_sqe();
    io_uring_prep_poll_remove(sqe, reinterpret_cast<std::uint64_t>(&operation));
    io_uring_sqe_set_data64(sqe, ignored_tag);
}

void UringPoller::wait(std::optional<IOLoop::Duration> timeout) {
    __kernel_timespec wait_time{};
    io_uring_cqe* first = nullptr;
    int result;
    if (timeout && *timeout <= IOLoop::Duration::zero()) {
        result = io_uring_submit_and_get_events(&ring_);
    } else if (timeout) {
        auto nanoseconds = std::chrono::duration_cast<std::chrono::nanoseconds>(*timeout).count();
        wait_time.tv_sec = nanoseconds / 1'000'000'000;
        wait_time.tv_nsec = nanoseconds % 1'000'000'000;
        result = io_uring_submit_and_wait_timeout(&ring_, &first, 1, &wait_time, nullptr);
    } else {
        result = io_uring_submit_and_wait_timeout(&ring_, &first, 1, nullptr, nullptr);
    }
    if (result < 0 && result != -ETIME && result != -EINTR && result != -EBUSY &&
        result != -EAGAIN) {
        throw system_error(-result, "io_uring_submit_and_wait");
    }

    io_uring_cqe* batch[batch_size];
    while (true) {
        unsigned count = io_uring_peek_batch_cqe(&ring_, batch, batch_size);
        if (count == 0) {
            break;
        }
        for (unsigned i = 0; i < count; ++i) {
            // Copy out: dispatch may submit, which must not race our view of the entry.
            std::uint64_t tag = batch[i]->user_data;
            int cqe_result = batch[i]->res;
            std::uint32_t flags = batch[i]->flags;
            dispatch(tag, cqe_result, flags);
        }
        io_uring_cq_advance(&ring_, count);
        if (count < batch_size) {
            break;
        }
    }
}

void UringPoller::dispatch(std::uint64_t tag, int result, std::uint32_t flags) {
    if (tag == ignored_tag) {
        return;
    }
    if (tag == wake_tag) {
        ::read(wake_fd_, &wake_value_, sizeof wake_value_);
        if (!(flags & IORING_CQE_F_MORE)) {
            arm_wake();
        }
        return;
    }
    auto& operation = *reinterpret_cast<IoOperation*>(tag);
    const bool more = flags & IORING_CQE_F_MORE;
    switch (operation.kind) {
        case OperationKind::receive:
            dispatch_receive(operation, result, flags);
            return;
        case OperationKind::accept:
            dispatch_multishot(operation, result, more);
            return;
        case OperationKind::poll:
            dispatch_poll(operation, result);
            return;
        case OperationKind::send:
        case OperationKind::connect:
            finish(operation, result);
            return;
    }
}

void UringPoller::dispatch_receive(IoOperation& operation, int result, std::uint32_t flags) {
    if (flags & IORING_CQE_F_BUFFER) {
        unsigned buffer_id = flags >> IORING_CQE_BUFFER_SHIFT;
        if (result > 0) {
            operation.data = buffers_ + buffer_id * buffer_size_;
            operation.complete(operation, result, true);
        }
        recycle_buffer(buffer_id);
        if (result > 0) {
            result = 1;  // data delivered; what follows is about the multishot state only
        }
    }
    const bool more = flags & IORING_CQE_F_MORE;
    if (more) {
        return;
    }
    if (result == -ENOBUFS || result > 0) {
        // The kernel ended the multishot (out of buffers, or it chose to): re-arm quietly.
        if (!operation.cancel_requested) {
            arm(operation);
            return;
        }
        result = -ECANCELED;
    }
    finish(operation, result);
}

// Accept errors that say "try again later" rather than "this listener is broken".
bool transient_accept_error(int result) {
    return result == -EMFILE || result == -ENFILE || result == -ENOBUFS || result == -ENOMEM ||
           result == -ECONNABORTED || result == -EINTR || result == -EAGAIN;
}

void UringPoller::dispatch_multishot(IoOperation& operation, int result, bool more) {
    if (result >= 0 || (transient_accept_error(result) && !operation.cancel_requested)) {
        operation.complete(operation, result, true);  // a new fd, or a transient error (EMFILE)
        if (more) {
            return;
        }
        if (!operation.cancel_requested) {
            arm(operation);
            return;
        }
        result = -ECANCELED;
    }
    if (!more) {
        finish(operation, result);
    }
}

void UringPoller::dispatch_poll(IoOperation& operation, int result) {
    if (operation.rearm_requested && !operation.cancel_requested) {
        operation.rearm_requested = false;
        if (result > 0) {
            operation.complete(operation,
                               static_cast<int>(from_poll_mask(static_cast<std::uint32_t>(result))),
                               true);
        }
        if (!operation.cancel_requested) {
            arm(operation);
            return;
        }
    }
    if (result >= 0 && !operation.cancel_requested) {
        operation.complete(
            operation, static_cast<int>(from_poll_mask(static_cast<std::uint32_t>(result))), true);
        if (!operation.cancel_requested) {
            arm(operation);  // one-shot polls re-armed: level-triggered like epoll handlers
            return;
        }
    }
    finish(operation, result >= 0 ? -ECANCELED : result);
}

void UringPoller::recycle_buffer(unsigned buffer_id) {
    io_uring_buf_ring_add(
        buffer_ring_, buffers_ + buffer_id * buffer_size_, static_cast<unsigned>(buffer_size_),
        static_cast<unsigned short>(buffer_id), io_uring_buf_ring_mask(buffer_count_), 0);
    io_uring_buf_ring_advance(buffer_ring_, 1);
}

}  // namespace

std::unique_ptr<Poller> make_uring_poller(const PollerOptions& options, std::string& why) {
    auto poller = std::make_unique<UringPoller>();
    why = poller->initialise(options);
    if (!why.empty()) {
        return nullptr;
    }
    return poller;
}

}  // namespace gale::detail
