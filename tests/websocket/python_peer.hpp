#pragma once
// Python WebSocket peers (tests/websocket/peers/*.py, run by Debian's /usr/bin/python3 with
// python3-websockets and python3-autobahn; -B: no __pycache__ in the source tree) as child
// processes: their standard output goes to a file the test reads while its loop keeps
// serving, and the process group is killed when the object goes away, on every exit path.

#include <gale/ioloop/ioloop.hpp>

#include "support/helpers.hpp"

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace gale::websocket::test {

class PythonPeer {
  public:
    /// Runs `script` (a file of tests/websocket/peers/) with `arguments` (already quoted).
    PythonPeer(const std::string& script, const std::string& arguments)
        : process_(std::string(gale::test::system_python()) + " -B " + GALE_SOURCE_DIR +
                   "/tests/websocket/peers/" + script + " " + arguments + " >" +
                   directory_.file("stdout") + " 2>" + directory_.file("stderr")) {}

    /// What the peer printed so far, one entry per complete line.
    std::vector<std::string> lines() const {
        std::istringstream text(read("stdout"));
        std::vector<std::string> result;
        std::string line;
        while (std::getline(text, line)) {
            if (!text.eof()) {  // the last piece is a line only once its newline is there
                result.push_back(line);
            }
        }
        return result;
    }
    bool has_line(const std::string& line) const {
        for (const std::string& candidate : lines()) {
            if (candidate == line) {
                return true;
            }
        }
        return false;
    }
    /// Everything it printed, standard error included, for failure messages.
    std::string transcript() const { return read("stdout") + read("stderr"); }

    /// The first line starting with `prefix`, waiting for it without blocking the loop (the
    /// caller awaits at once, so `this` outlives the wait); empty after `timeout`.
    Task<std::string> wait_for_line(std::string prefix,
                                    IOLoop::Duration timeout = std::chrono::seconds(60)) {
        const auto deadline = IOLoop::current().time() + timeout;
        while (IOLoop::current().time() < deadline) {
            for (const std::string& line : lines()) {
                if (line.starts_with(prefix)) {
                    co_return line;
                }
            }
            co_await sleep(std::chrono::milliseconds(20));
        }
        co_return std::string();
    }

    /// Its exit status once it exited (-1 after `timeout`), polling without blocking the loop.
    Task<int> wait_exit(IOLoop::Duration timeout = std::chrono::seconds(90)) {
        const auto deadline = IOLoop::current().time() + timeout;
        while (IOLoop::current().time() < deadline) {
            const int status = process_.wait(std::chrono::milliseconds(0));
            if (status != -1) {
                co_return status;
            }
            co_await sleep(std::chrono::milliseconds(20));
        }
        co_return -1;
    }

  private:
    std::string read(const std::string& name) const {
        std::ifstream file(directory_.file(name), std::ios::binary);
        std::stringstream text;
        text << file.rdbuf();
        return text.str();
    }

    gale::test::TemporaryDirectory directory_;  // before process_: the output files live here
    gale::test::ChildProcess process_;
};

}  // namespace gale::websocket::test
