#pragma once
// Shared test helpers: running a task on a fresh loop, socket pairs, listening sockets,
// temporary directories, certificates made with the openssl command line, child processes.

#include <gale/ioloop/ioloop.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace gale::test {

/// Runs `task` to completion on a new loop (backend from GALE_IO_BACKEND) within `timeout`.
template <class T>
T run(Task<T> task, std::chrono::seconds timeout = std::chrono::seconds(60)) {
    IOLoop loop(IOLoopOptions{.log_backend = false});
    loop.make_current();
    return loop.run_sync(std::move(task), timeout);
}

/// Waits until `condition()` holds, checking every 10 ms for at most `limit` while the loop
/// serves; returns whether it held. Name the lambda before the co_await: GCC 12 frees a
/// lambda with captures built inside the co_await expression twice (docs/pitfalls.md).
template <class Condition>
Task<bool> eventually(Condition condition,
                      std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    constexpr std::chrono::milliseconds step(10);
    for (std::chrono::milliseconds waited(0); waited < limit; waited += step) {
        if (condition()) {
            co_return true;
        }
        co_await sleep(step);
    }
    co_return condition();
}

/// A connected pair of non-blocking Unix stream sockets.
std::pair<int, int> socket_pair();

/// A listening TCP socket on 127.0.0.1 with an ephemeral port; returns (fd, port).
std::pair<int, int> listen_loopback();

/// A blocking TCP connection to 127.0.0.1:port.
int connect_loopback(int port);

/// A directory removed with its contents when the object goes away.
class TemporaryDirectory {
  public:
    TemporaryDirectory();
    ~TemporaryDirectory();
    TemporaryDirectory(const TemporaryDirectory&) = delete;
    TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
    const std::filesystem::path& path() const noexcept { return path_; }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

  private:
    std::filesystem::path path_;
};

/// A CA and a server certificate it signed, made with `openssl` in `directory`.
struct Certificates {
    std::string ca_file;
    std::string certificate_file;
    std::string key_file;
};
Certificates make_certificates(const TemporaryDirectory& directory,
                               const std::string& common_name = "localhost",
                               const std::vector<std::string>& alt_names = {"DNS:localhost",
                                                                            "IP:127.0.0.1"});

/// Runs a shell command; returns its exit status.
int shell(const std::string& command);

/// Runs a shell command and returns its exit status and standard output. Blocking: from a
/// coroutine, call it through gale::run_in_executor so the loop keeps serving meanwhile.
struct CommandResult {
    int status = -1;
    std::string output;
};
CommandResult capture(const std::string& command);

/// True when `program` is on the PATH (or an absolute path that exists).
bool have_program(const std::string& program);

/// Resident set size of this process in bytes.
std::size_t resident_bytes();

/// A child process started with /bin/sh -c, killed (with its process group) on destruction.
class ChildProcess {
  public:
    explicit ChildProcess(const std::string& command);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    /// Waits for the child to exit and returns its status (-1 on timeout).
    int wait(std::chrono::milliseconds timeout = std::chrono::seconds(30));
    int pid() const noexcept { return pid_; }

  private:
    int pid_ = -1;
    bool reaped_ = false;
};

/// Waits until something accepts connections on 127.0.0.1:port.
bool wait_for_port(int port, std::chrono::milliseconds timeout = std::chrono::seconds(20));

/// Debian's system Python (it has the python3-* packages the tests use).
inline const char* system_python() {
    return "/usr/bin/python3";
}

}  // namespace gale::test
