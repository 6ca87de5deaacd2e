#include <gale/ioloop/executor.hpp>
#include <gale/ioloop/ioloop.hpp>

#include <catch2/catch.hpp>

#include "support/helpers.hpp"

#include <gale/ioloop/iostream.hpp>

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>

#include <atomic>
#include <thread>
#include <tuple>
#include <vector>

using namespace std::chrono_literals;

TEST_CASE("the backend follows GALE_IO_BACKEND", "[ioloop]") {
    gale::IOLoop loop(gale::IOLoopOptions{.log_backend = false});
    const char* wanted = std::getenv("GALE_IO_BACKEND");
    if (wanted != nullptr && std::string(wanted) == "epoll") {
        CHECK(loop.backend() == gale::IOBackend::epoll);
    } else if (wanted != nullptr && std::string(wanted) == "io_uring") {
        CHECK(loop.backend() == gale::IOBackend::io_uring);
    }
    gale::IOLoop epoll_loop(
        gale::IOLoopOptions{.backend = gale::IOBackend::epoll, .log_backend = false});
    CHECK(epoll_loop.backend() == gale::IOBackend::epoll);
}

TEST_CASE("timers fire in deadline order, ties in scheduling order", "[ioloop][timer]") {
    gale::IOLoop loop(gale::IOLoopOptions{.log_backend = false});
    loop.make_current();
    std::vector<int> order;
    auto now = gale::IOLoop::Clock::now();
    loop.call_at(now + 30ms, [&] { order.push_back(3); });
    loop.call_at(now + 10ms, [&] { order.push_back(1); });
    loop.call_at(now + 20ms, [&] { order.push_back(2); });
    loop.call_at(now + 20ms, [&] { order.push_back(22); });
    loop.call_later(40ms, [&] { loop.stop(); });
    loop.run();
    CHECK(order == std::vector<int>{1, 2, 22, 3});
}

TEST_CASE("a timer cancelled by another timer in the same iteration does not fire",
          "[ioloop][timer]") {
    gale::IOLoop loop(gale::IOLoopOptions{.log_backend = false});
    loop.make_current();
    bool second_fired = false;
    auto when = gale::IOLoop::Clock::now() + 5ms;
    gale::TimerHandle second;
    loop.call_at(when, [&] { CHECK(second.cancel()); });
    second = loop.call_at(when, [&] { second_fired = true; });
    loop.call_later(30ms, [&] { loop.stop(); });
    loop.run();
    CHECK_FALSE(second_fired);
    CHECK_FALSE(second.cancel());  // already gone: cancelling again is harmless
}

TEST_CASE("cancelling a fired timer is harmless and many cancelled timers leave nothing",
          "[ioloop][timer]") {
    gale::IOLoop loop(gale::IOLoopOptions{.log_backend = false});
    loop.make_current();
    int fired = 0;
    auto handle = loop.call_later(1ms, [&] { ++fired; });
    std::vector<gale::TimerHandle> cancelled;
    for (int i = 0; i < 10000; ++i) {
        cancelled.push_back(loop.call_later(1h, [&] { ++fired; }));
    }
    for (auto& timer : cancelled) {
        CHECK(timer.cancel());
    }
    loop.call_later(20ms, [&] { loop.stop(); });
    loop.run();
    CHECK(fired == 1);
    CHECK_FALSE(handle.cancel());
    CHECK_FALSE(handle.pending());
}

TEST_CASE("callbacks from 8 threads all run on the loop thread", "[ioloop]") {
    gale::IOLoop loop(gale::IOLoopOptions{.log_backend = false});
    loop.make_current();
    constexpr int threads = 8;
    constexpr int per_thread = 2000;
    int count = 0;  // touched by the loop thread only
    auto loop_thread = std::this_thread::get_id();
    bool all_on_loop_thread = true;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&] {
            for (int i = 0; i < per_thread; ++i) {
                loop.add_callback([&] {
                    all_on_loop_thread &= std::this_thread::get_id() == loop_thread;
                    if (++count == threads * per_thread) {
                        loop.stop();
                    }
                });
            }
        });
    }
    loop.call_later(20s, [&] { loop.stop(); });
    loop.run();
    for (auto& worker : workers) {
        worker.join();
    }
    CHECK(count == threads * per_thread);
    CHECK(all_on_loop_thread);
}

TEST_CASE("a wake-up from another thread is immediate", "[ioloop]") {
    gale::IOLoop loop(gale::IOLoopOptions{.log_backend = false});
    loop.make_current();
    auto started = std::chrono::steady_clock::now();
    std::thread other([&] {
        std::this_thread::sleep_for(20ms);
        loop.add_callback([&] { loop.stop(); });
    });
    loop.call_later(10s, [&] { loop.stop(); });
    loop.run();
    other.join();
    CHECK(std::chrono::steady_clock::now() - started < 2s);
}

TEST_CASE("run() on a running loop fails", "[ioloop]") {
    gale::IOLoop loop(gale::IOLoopOptions{.log_backend = false});
    loop.make_current();
    bool threw = false;
    loop.add_callback([&] {
        try {
            loop.run();
        } catch (const gale::Error&) {
            threw = true;
        }
        loop.stop();
    });
    loop.run();
    CHECK(threw);
}

TEST_CASE("fd handlers are level-triggered and can be removed from a handler",
          "[ioloop][handler]") {
    gale::IOLoop loop(gale::IOLoopOptions{.log_backend = false});
    loop.make_current();
    int first_read = -1;
    int first_write = -1;
    std::tie(first_read, first_write) = gale::test::socket_pair();
    int second_read = -1;
    int second_write = -1;
    std::tie(second_read, second_write) = gale::test::socket_pair();
    int first_calls = 0;
    int second_calls = 0;
    loop.add_handler(
        first_read,
        [&](int, std::uint32_t events) {
            CHECK((events & gale::Events::read));
            ++first_calls;
            loop.remove_handler(second_read);  // the second is ready too but must not run
            if (first_calls == 3) {            // level-triggered: unread data keeps reporting
                loop.remove_handler(first_read);
                loop.call_later(10ms, [&] { loop.stop(); });
            }
        },
        gale::Events::read);
    loop.add_handler(
        second_read, [&](int, std::uint32_t) { ++second_calls; }, gale::Events::read);
    CHECK_THROWS_AS(loop.add_handler(
                        first_read, [](int, std::uint32_t) {}, gale::Events::read),
                    gale::Error);
    loop.remove_handler(12345);  // unknown fds are ignored
    REQUIRE(::write(first_write, "x", 1) == 1);
    REQUIRE(::write(second_write, "y", 1) == 1);
    loop.call_later(5s, [&] { loop.stop(); });
    loop.run();
    CHECK(first_calls == 3);
    CHECK(second_calls <= 1);  // at most one call if its event came first in the batch
    for (int fd : {first_read, first_write, second_read, second_write}) {
        ::close(fd);
    }
}

TEST_CASE("a write handler reports writability only when asked", "[ioloop][handler]") {
    gale::IOLoop loop(gale::IOLoopOptions{.log_backend = false});
    loop.make_current();
    int a = -1;
    int b = -1;
    std::tie(a, b) = gale::test::socket_pair();
    std::uint32_t seen = 0;
    loop.add_handler(
        a, [&](int, std::uint32_t events) { seen |= events; }, gale::Events::read);
    loop.call_later(20ms, [&] { loop.update_handler(a, gale::Events::write); });
    loop.call_later(60ms, [&] { loop.stop(); });
    loop.run();
    CHECK((seen & gale::Events::write));
    CHECK_FALSE((seen & gale::Events::read));
    loop.remove_handler(a);
    ::close(a);
    ::close(b);
}

TEST_CASE("run_in_executor runs blocking work off the loop thread", "[ioloop][executor]") {
    auto body = []() -> gale::Task<bool> {
        auto loop_thread = std::this_thread::get_id();
        auto worker_thread = co_await gale::run_in_executor([] {
            std::this_thread::sleep_for(10ms);
            return std::this_thread::get_id();
        });
        CHECK(std::this_thread::get_id() == loop_thread);
        CHECK_THROWS_AS(
            co_await gale::run_in_executor([]() -> int { throw std::logic_error("x"); }),
            std::logic_error);
        co_return worker_thread != loop_thread;
    };
    CHECK(gale::test::run(body()));
}

TEST_CASE("signal handlers run on the loop", "[ioloop][signal]") {
    gale::IOLoop loop(gale::IOLoopOptions{.log_backend = false});
    loop.make_current();
    bool got = false;
    loop.add_signal_handler(SIGUSR1, [&] {
        got = true;
        loop.stop();
    });
    loop.call_later(10ms, [] { ::kill(::getpid(), SIGUSR1); });
    loop.call_later(5s, [&] { loop.stop(); });
    loop.run();
    CHECK(got);
    loop.remove_signal_handler(SIGUSR1);
}

TEST_CASE("sleep resumes after the delay and cancels promptly", "[ioloop][timer]") {
    auto body = []() -> gale::Task<void> {
        auto started = gale::IOLoop::Clock::now();
        co_await gale::sleep(20ms);
        CHECK(gale::IOLoop::Clock::now() - started >= 20ms);
    };
    gale::test::run(body());
}

namespace {

#ifndef __NR_epoll_pwait2
#define __NR_epoll_pwait2 441  // the same number on every architecture Debian builds for
#endif

// What Docker's older seccomp profiles do: io_uring_setup is refused (EPERM) and a syscall the
// profile does not know, epoll_pwait2, fails with ENOSYS (as on kernels before 5.11).
bool forbid_io_uring_and_epoll_pwait2() {
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_epoll_pwait2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog program{static_cast<unsigned short>(std::size(filter)), filter};
    return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
           ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

// In the restricted child: the automatic backend is epoll, timers fire on time (not early),
// and a stream round trip works. The exit code says what failed.
[[noreturn]] void run_restricted_loop() {
    if (!forbid_io_uring_and_epoll_pwait2()) {
        ::_exit(10);
    }
    ::unsetenv("GALE_IO_BACKEND");  // the automatic choice, whatever the suite's backend
    try {
        gale::IOLoop loop(gale::IOLoopOptions{.log_backend = false});
        loop.make_current();
        if (loop.backend() != gale::IOBackend::epoll) {
            ::_exit(11);
        }
        auto round_trip = []() -> gale::Task<bool> {
            auto started = gale::IOLoop::Clock::now();
            co_await gale::sleep(15ms);
            if (gale::IOLoop::Clock::now() - started < 15ms) {
                co_return false;
            }
            auto [a, b] = gale::test::socket_pair();
            gale::IOStream left(a);
            gale::IOStream right(b);
            co_await left.write(std::string("ping\n"));
            std::string line = co_await right.read_until("\n");
            co_return line == "ping\n";
        };
        ::_exit(loop.run_sync(round_trip(), 10s) ? 0 : 12);
    } catch (const std::exception&) {
        ::_exit(13);
    }
}

}  // namespace

TEST_CASE("where io_uring and epoll_pwait2 are forbidden, the loop falls back to epoll_wait",
          "[ioloop]") {
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        run_restricted_loop();
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
