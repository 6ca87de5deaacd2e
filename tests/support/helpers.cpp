#include "support/helpers.hpp"

#include <gale/ioloop/errors.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace gale::test {

std::pair<int, int> socket_pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
        throw system_error(errno, "socketpair");
    }
    return {fds[0], fds[1]};
}

std::pair<int, int> listen_loopback() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd, 4096) != 0) {
        throw system_error(errno, "bind/listen");
    }
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    return {fd, ntohs(address.sin_port)};
}

int connect_loopback(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        int saved = errno;
        ::close(fd);
        throw system_error(saved, "connect to 127.0.0.1:" + std::to_string(port));
    }
    return fd;
}

TemporaryDirectory::TemporaryDirectory() {
    std::random_device random;
    auto base = std::filesystem::temp_directory_path();
    for (int attempt = 0; attempt < 100; ++attempt) {
        auto candidate = base / ("gale-test-" + std::to_string(random()));
        if (std::filesystem::create_directory(candidate)) {
            path_ = candidate;
            return;
        }
    }
    throw Error("cannot create a temporary directory");
}

TemporaryDirectory::~TemporaryDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

int shell(const std::string& command) {
    int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

CommandResult capture(const std::string& command) {
    CommandResult result;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
        return result;
    }
    char buffer[4096];
    std::size_t got;
    while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) {
        result.output.append(buffer, got);
    }
    int status = ::pclose(pipe);
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

bool have_program(const std::string& program) {
    return shell("command -v '" + program + "' >/dev/null 2>&1") == 0;
}

Certificates make_certificates(const TemporaryDirectory& directory, const std::string& common_name,
                               const std::vector<std::string>& alt_names) {
    Certificates result{directory.file("ca.pem"), directory.file(common_name + ".pem"),
                        directory.file(common_name + ".key")};
    std::string ca_key = directory.file("ca.key");
    std::string request = directory.file(common_name + ".csr");
    std::string extensions = directory.file(common_name + ".ext");
    {
        std::ofstream out(extensions);
        out << "subjectAltName=";
        for (std::size_t i = 0; i < alt_names.size(); ++i) {
            out << (i ? "," : "") << alt_names[i];
        }
        out << "\n";
    }
    std::ostringstream script;
    script << "set -e; cd '" << directory.path().string() << "'; "
           << "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
           << "-subj '/CN=gale test CA' -keyout '" << ca_key << "' -out '" << result.ca_file
           << "' 2>/dev/null; "
           << "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
           << "-subj '/CN=" << common_name << "' -keyout '" << result.key_file << "' -out '"
           << request << "' 2>/dev/null; "
           << "openssl x509 -req -in '" << request << "' -CA '" << result.ca_file << "' -CAkey '"
           << ca_key << "' -CAcreateserial -days 2 -extfile '" << extensions << "' -out '"
           << result.certificate_file << "' 2>/dev/null";
    if (shell(script.str()) != 0) {
        throw Error("openssl could not make the test certificates");
    }
    return result;
}

std::size_t resident_bytes() {
    std::ifstream status("/proc/self/statm");
    std::size_t pages_total = 0;
    std::size_t pages_resident = 0;
    status >> pages_total >> pages_resident;
    return pages_resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

ChildProcess::ChildProcess(const std::string& command) {
    pid_ = ::fork();
    if (pid_ < 0) {
        throw system_error(errno, "fork");
    }
    if (pid_ == 0) {
        ::setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::setpgid(pid_, pid_);
}

ChildProcess::~ChildProcess() {
    if (reaped_) {
        return;
    }
    ::kill(-pid_, SIGTERM);
    if (wait(std::chrono::seconds(5)) == -1) {
        ::kill(-pid_, SIGKILL);
        int status;
        ::waitpid(pid_, &status, 0);
    }
}

int ChildProcess::wait(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        int status = 0;
        pid_t result = ::waitpid(pid_, &status, WNOHANG);
        if (result == pid_) {
            reaped_ = true;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        if (std::chrono::steady_clock::now() > deadline) {
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

bool wait_for_port(int port, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        try {
            ::close(connect_loopback(port));
            return true;
        } catch (const Error&) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    return false;
}

}  // namespace gale::test
