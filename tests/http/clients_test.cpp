// The HTTP server against real clients: curl and Debian's Python requests and httpx.
#include <gale/http/server.hpp>
#include <gale/ioloop/executor.hpp>

#include <catch2/catch.hpp>

#include "support/helpers.hpp"

using namespace std::chrono_literals;

namespace {

gale::Task<void> handler(gale::http::HTTPRequest& request, gale::http::HTTPResponse& response) {
    if (request.path() == "/echo") {
        std::string body = co_await request.read_body();
        response.headers().set("Content-Type", "application/octet-stream");
        response.headers().set("X-Method", std::string(request.method()));
        response.write(body);
    } else if (request.path() == "/text") {
        response.headers().set("Content-Type", "text/plain; charset=utf-8");
        std::string text;
        for (int i = 0; i < 2000; ++i) {
            text += "line " + std::to_string(i) + "\n";
        }
        response.write(text);
    } else if (request.path() == "/stream") {
        for (int i = 0; i < 5; ++i) {
            response.write("part" + std::to_string(i) + ";");
            co_await response.flush();
        }
    } else {
        response.set_status(404);
        response.write("nope");
    }
}

// Runs a blocking command on the executor while the loop keeps serving.
gale::Task<gale::test::CommandResult> run_command(std::string command) {
    auto work = [command] { return gale::test::capture(command); };
    co_return co_await gale::run_in_executor(std::move(work));
}

struct LiveServer {
    LiveServer() {
        options.compress_response = true;
        server = std::make_unique<gale::http::HTTPServer>(handler, options);
        port = server->listen(0, "127.0.0.1").front().port();
        base = "http://127.0.0.1:" + std::to_string(port);
    }
    gale::http::HTTPServerOptions options;
    std::unique_ptr<gale::http::HTTPServer> server;
    std::uint16_t port = 0;
    std::string base;
};

}  // namespace

TEST_CASE("curl: GET, POST, chunked upload, HEAD, gzip, streaming", "[http][clients][curl]") {
    if (!gale::test::have_program("curl")) {
        WARN("curl is not installed");
        return;
    }
    auto body = []() -> gale::Task<void> {
        LiveServer live;
        auto get = co_await run_command("curl -s -o /dev/null -w '%{http_code}' " + live.base +
                                        "/missing");
        CHECK(get.output == "404");

        auto post =
            co_await run_command("curl -s --data-binary 'hello gale' " + live.base + "/echo");
        CHECK(post.output == "hello gale");

        auto chunked = co_await run_command(
            "printf 'streamed body' | curl -s -H 'Transfer-Encoding: chunked' "
            "--data-binary @- " +
            live.base + "/echo");
        CHECK(chunked.output == "streamed body");

        auto head = co_await run_command("curl -s -I " + live.base + "/text");
        CHECK(head.output.find("HTTP/1.1 200 OK") == 0);
        CHECK(head.output.find("Content-Length:") != std::string::npos);

        gale::test::TemporaryDirectory directory;
        std::string saved = directory.file("text");
        auto gzip = co_await run_command("curl -s --compressed -D - -o " + saved + " " + live.base +
                                         "/text && wc -l < " + saved);
        CHECK(gzip.output.find("Content-Encoding: gzip") != std::string::npos);
        CHECK(gzip.output.find("2000") != std::string::npos);

        auto stream = co_await run_command("curl -s " + live.base + "/stream");
        CHECK(stream.output == "part0;part1;part2;part3;part4;");

        auto keepalive =
            co_await run_command("curl -s -w '%{num_connects}\\n' -o /dev/null -o /dev/null " +
                                 live.base + "/text " + live.base + "/text");
        CHECK(keepalive.output == "1\n0\n");  // the second request reused the connection

        auto expect = co_await run_command(
            "head -c 2000000 /dev/zero | curl -s -H 'Expect: 100-continue' "
            "--data-binary @- " +
            live.base + "/echo | wc -c");
        CHECK(expect.output.find("2000000") != std::string::npos);
    };
    gale::test::run(body());
}

TEST_CASE("Python requests and httpx", "[http][clients][python]") {
    const char* script = R"PY(
import sys
base = sys.argv[1]
import requests
r = requests.post(base + "/echo", data=b"x" * 100000)
assert r.status_code == 200 and len(r.content) == 100000 and r.headers["X-Method"] == "POST", r
r = requests.get(base + "/text")
assert r.headers["Content-Encoding"] == "gzip" and r.text.count("\n") == 2000
s = requests.Session()
for _ in range(5):
    assert s.get(base + "/missing").status_code == 404
r = requests.put(base + "/echo", data=iter([b"a", b"b", b"c"]))  # chunked upload
assert r.content == b"abc", r.content
import httpx
with httpx.Client() as client:
    r = client.get(base + "/stream")
    assert r.text == "part0;part1;part2;part3;part4;", r.text
    r = client.head(base + "/text")
    assert r.status_code == 200 and r.content == b""
print("ok")
)PY";
    gale::test::TemporaryDirectory directory;
    std::string path = directory.file("clients.py");
    {
        std::FILE* file = std::fopen(path.c_str(), "w");
        std::fputs(script, file);
        std::fclose(file);
    }
    auto body = [](std::string script_path) -> gale::Task<void> {
        LiveServer live;
        auto result = co_await run_command(std::string(gale::test::system_python()) + " " +
                                           script_path + " " + live.base + " 2>&1");
        INFO(result.output);
        CHECK(result.status == 0);
        CHECK(result.output.find("ok") != std::string::npos);
    };
    gale::test::run(body(path));
}
