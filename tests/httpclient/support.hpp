#pragma once
// Helpers for the HTTP client tests: an in-process server with testbed's contract and a few
// extra endpoints, the testbed binary as a child process, free ports, commands.

#include <gale/http/compression.hpp>
#include <gale/http/server.hpp>
#include <gale/httpclient/client.hpp>
#include <gale/ioloop/executor.hpp>
#include <gale/web/url.hpp>

#include "support/helpers.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

namespace httpclient_test {

using namespace std::chrono_literals;
using gale::http::HTTPRequest;
using gale::http::HTTPResponse;

/// A port nothing listens on right now (bound, then released).
inline std::uint16_t free_port() {
    auto [fd, port] = gale::test::listen_loopback();
    ::close(fd);
    return static_cast<std::uint16_t>(port);
}

/// Runs a blocking shell command off the loop.
inline gale::Task<gale::test::CommandResult> run_command(std::string command) {
    auto work = [command] { return gale::test::capture(command); };
    co_return co_await gale::run_in_executor(std::move(work));
}

inline std::string read_text_file(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

inline void write_text_file(const std::string& path, const std::string& text) {
    std::ofstream file(path, std::ios::binary);
    file << text;
}

inline std::string query_value(std::string_view query, const std::string& name,
                               std::string fallback = {}) {
    auto arguments = gale::web::parse_query_string(query);
    auto value = arguments.last(name);
    return value ? *value : fallback;
}

inline long path_number(std::string_view path, std::string_view prefix) {
    return std::stol(std::string(path.substr(prefix.size())));
}

// testbed's endpoints (GET /redirect/{n}, /delay/{ms}, /stream/{n}?delay_ms=D, /bytes/{n},
// POST|PUT /echo, /status/{code}) and a few the client tests need besides.
inline gale::Task<void> local_handler(HTTPRequest& request, HTTPResponse& response) {
    std::string_view path = request.path();
    response.headers().set("Content-Type", "text/plain");
    if (path == "/hello") {
        response.write("Hello, World!");
    } else if (path == "/echo") {
        std::string body = co_await request.read_body();
        response.headers().set("Content-Type", std::string(request.headers().get_or(
                                                   "content-type", "application/octet-stream")));
        response.headers().set("X-Method", std::string(request.method()));
        response.write(body);
    } else if (path == "/headers") {
        std::string text =
            std::string(request.method()) + " " + std::string(request.target()) + "\n";
        for (const auto& field : request.headers()) {
            text += std::string(field.name) + ": " + std::string(field.value) + "\n";
        }
        response.write(text);
    } else if (path.starts_with("/redirect/")) {
        long remaining = path_number(path, "/redirect/");
        if (remaining == 0) {
            response.write("done");
        } else {
            response.set_status(302);
            response.headers().set("Location", "/redirect/" + std::to_string(remaining - 1));
        }
    } else if (path == "/redirect-to") {
        response.set_status(std::stoi(query_value(request.query(), "status", "302")));
        response.headers().set("Location", query_value(request.query(), "url"));
        response.write("moved");
    } else if (path.starts_with("/delay/")) {
        long milliseconds = path_number(path, "/delay/");
        co_await gale::sleep(std::chrono::milliseconds(milliseconds));
        response.write("delayed " + std::to_string(milliseconds) + " ms");
    } else if (path.starts_with("/stream/")) {
        long lines = path_number(path, "/stream/");
        long delay = std::stol(query_value(request.query(), "delay_ms", "0"));
        for (long line = 0; line < lines; ++line) {
            if (line > 0 && delay > 0) {
                co_await gale::sleep(std::chrono::milliseconds(delay));
            }
            response.write("line " + std::to_string(line) + "\n");
            co_await response.flush();
        }
    } else if (path.starts_with("/bytes/")) {
        long count = path_number(path, "/bytes/");
        std::string body;
        body.reserve(static_cast<std::size_t>(count));
        for (long i = 0; i < count; ++i) {
            body += static_cast<char>('a' + i % 26);
        }
        response.write(body);
    } else if (path.starts_with("/status/")) {
        response.set_status(static_cast<int>(path_number(path, "/status/")));
        if (response.status() != 204 && response.status() != 304) {
            response.write("status " + std::to_string(response.status()));
        }
    } else if (path == "/set-cookie") {
        for (const auto& entry : gale::web::parse_query_string(request.query())) {
            response.headers().add("Set-Cookie",
                                   entry.name + "=" + entry.values.back() + "; Path=/");
        }
        response.write("set");
    } else if (path == "/peer") {
        // The client's port: equal across requests exactly when the connection was reused.
        response.write(std::to_string(request.peer_address().port()));
    } else if (path == "/bomb") {
        response.headers().set("Content-Encoding", "gzip");
        response.headers().set("Content-Type", "application/octet-stream");
        response.write(gale::http::gzip_compress(std::string(8 * 1024 * 1024, '\0'), 9));
    } else if (path == "/close") {
        response.headers().set("Connection", "close");
        response.write("closing");
    } else {
        response.set_status(404);
        response.write("not found");
    }
}

/// A gale HTTPServer with `local_handler` on 127.0.0.1, compressing responses.
struct LocalServer {
    explicit LocalServer(gale::http::HTTPServerOptions options = default_options()) {
        server = std::make_unique<gale::http::HTTPServer>(local_handler, std::move(options));
        port = server->listen(0, "127.0.0.1").front().port();
    }
    static gale::http::HTTPServerOptions default_options() {
        gale::http::HTTPServerOptions options;
        options.compress_response = true;
        return options;
    }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(port) + path;
    }
    std::unique_ptr<gale::http::HTTPServer> server;
    std::uint16_t port = 0;
};

/// gale's testbed demo as a child process, when it was built.
struct Testbed {
    static std::string binary() { return std::string(GALE_BINARY_DIR) + "/demos/testbed/testbed"; }
    static bool available() { return std::filesystem::exists(binary()); }
    Testbed()
        : port(free_port()),
          process(binary() + " --port " + std::to_string(port) +
                  " --address 127.0.0.1 --threads 1 >/dev/null 2>&1") {
        if (!gale::test::wait_for_port(port)) {
            throw gale::Error("testbed did not start on port " + std::to_string(port));
        }
    }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(port) + path;
    }
    std::uint16_t port;
    gale::test::ChildProcess process;
};

/// Waits (blocking, bounded) until `path` exists and returns its contents.
inline std::string wait_for_file(const std::string& path,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!std::filesystem::exists(path)) {
        if (std::chrono::steady_clock::now() > deadline) {
            throw gale::Error("timed out waiting for " + path);
        }
        ::usleep(10'000);
    }
    return read_text_file(path);
}

/// A Python script from tests/httpclient/ run by Debian's Python; it listens on an ephemeral
/// port and writes it to the file named by its first argument.
struct PythonServer {
    explicit PythonServer(const std::string& script, const std::string& arguments = "")
        : process(std::string(gale::test::system_python()) + " " + GALE_SOURCE_DIR +
                  "/tests/httpclient/" + script + " " + directory.file("port") + " " + arguments) {
        port = static_cast<std::uint16_t>(std::stoi(wait_for_file(directory.file("port"))));
    }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(port) + path;
    }
    gale::test::TemporaryDirectory directory;
    gale::test::ChildProcess process;
    std::uint16_t port = 0;
};

/// Debian's nginx as a child process, serving `site()` over HTTP and (with certificates) HTTPS
/// on 127.0.0.1, with keep-alive and gzip. Its access log records, per request, the
/// connection serial number, the request's number on that connection, the URI and status.
class Nginx {
  public:
    static bool available() { return gale::test::have_program("nginx"); }

    /// Starts nginx at once (the site may be written afterwards: files are read per request).
    /// The ports were free when chosen, but another test running meanwhile may take one before
    /// nginx binds it: nginx then fails, and what answers there is not nginx. So the answer to
    /// a marker URL is checked, and on a mismatch nginx starts again on other ports, before any
    /// URL of this server is handed out.
    explicit Nginx(std::optional<gale::test::Certificates> certificates = std::nullopt)
        : certificates_(std::move(certificates)) {
        std::filesystem::create_directories(directory_.path() / "site");
        std::filesystem::create_directories(directory_.path() / "temp");
        const std::string root = directory_.path().string();
        for (int attempt = 1;; ++attempt) {
            choose_ports();
            process_ = std::make_unique<gale::test::ChildProcess>(
                "exec nginx -p " + root + " -c " + root + "/nginx.conf -e " + root +
                "/error.log -g 'daemon off;' 2>>" + root + "/stderr.log");
            if (gale::test::wait_for_port(http_port_) &&
                (https_port_ == 0 || gale::test::wait_for_port(https_port_)) && answers_marker()) {
                return;
            }
            process_.reset();
            if (attempt == 3) {
                throw gale::Error(
                    "nginx did not start: " + read_text_file(directory_.file("error.log")) +
                    read_text_file(directory_.file("stderr.log")));
            }
        }
    }

    std::filesystem::path site() const { return directory_.path() / "site"; }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(http_port_) + path;
    }
    std::string https_url(const std::string& path) const {
        return "https://localhost:" + std::to_string(https_port_) + path;
    }

    struct LogLine {
        std::string connection;
        long request_on_connection = 0;
        std::string uri;
        int status = 0;
    };
    /// The log, once it has at least `expected` lines (nginx writes a line just after the
    /// response left, so the client can be a little ahead; waits at most 10 s).
    std::vector<LogLine> access_log(std::size_t expected = 0) const {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (true) {
            auto lines = read_access_log();
            if (lines.size() >= expected || std::chrono::steady_clock::now() > deadline) {
                return lines;
            }
            ::usleep(10'000);
        }
    }

  private:
    void choose_ports() {
        http_port_ = free_port();
        https_port_ = certificates_ ? free_port() : 0;
        marker_ = "gale-nginx-" + std::to_string(http_port_) + "-" + std::to_string(::getpid());
        std::string root = directory_.path().string();
        std::string config =
            "worker_processes 1;\n"
            "pid " +
            root +
            "/nginx.pid;\n"
            "error_log " +
            root +
            "/error.log warn;\n"
            "events { worker_connections 4096; }\n"
            "http {\n"
            "  log_format gale '$connection $connection_requests $request_uri $status';\n"
            "  access_log " +
            root +
            "/access.log gale;\n"
            "  client_body_temp_path " +
            root +
            "/temp/body;\n"
            "  proxy_temp_path " +
            root +
            "/temp/proxy;\n"
            "  fastcgi_temp_path " +
            root +
            "/temp/fastcgi;\n"
            "  uwsgi_temp_path " +
            root +
            "/temp/uwsgi;\n"
            "  scgi_temp_path " +
            root +
            "/temp/scgi;\n"
            "  types { text/html html; text/plain txt; }\n"
            "  keepalive_requests 1000000;\n"
            "  keepalive_timeout 60s;\n"
            "  gzip on; gzip_types text/plain; gzip_min_length 1024;\n"
            "  server { listen 127.0.0.1:" +
            std::to_string(http_port_) + "; root " + root +
            "/site;\n"
            "    location = /.gale-nginx-marker { access_log off; return 200 '" +
            marker_ + "'; } }\n";
        if (certificates_) {
            config += "  server { listen 127.0.0.1:" + std::to_string(https_port_) +
                      " ssl; ssl_certificate " + certificates_->certificate_file +
                      "; ssl_certificate_key " + certificates_->key_file + "; root " + root +
                      "/site; }\n";
        }
        config += "}\n";
        write_text_file(directory_.file("nginx.conf"), config);
    }

    // Whether this nginx answers on http_port_ (blocking, bounded by a 5 s receive timeout).
    bool answers_marker() const {
        int fd = gale::test::connect_loopback(http_port_);
        timeval timeout{5, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        const std::string request =
            "GET /.gale-nginx-marker HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        std::string answer;
        if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size())) {
            char buffer[4096];
            for (ssize_t got; (got = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) {
                answer.append(buffer, static_cast<std::size_t>(got));
            }
        }
        ::close(fd);
        return answer.find(marker_) != std::string::npos;
    }

    std::vector<LogLine> read_access_log() const {
        std::vector<LogLine> lines;
        std::istringstream text(read_text_file(directory_.file("access.log")));
        LogLine line;
        while (text >> line.connection >> line.request_on_connection >> line.uri >> line.status) {
            lines.push_back(line);
        }
        return lines;
    }

    gale::test::TemporaryDirectory directory_;
    std::optional<gale::test::Certificates> certificates_;
    std::uint16_t http_port_ = 0;
    std::uint16_t https_port_ = 0;
    std::string marker_;
    std::unique_ptr<gale::test::ChildProcess> process_;
};

}  // namespace httpclient_test
