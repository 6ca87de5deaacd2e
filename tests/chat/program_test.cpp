// The `chat` program: its flags, the line it prints once listening, serving the page from the
// assets copied next to it, and a clean exit on SIGTERM.

#include <catch2/catch.hpp>

#include "support/helpers.hpp"
#include "support/http_exchange.hpp"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

std::string chat_binary() {
    return std::string(GALE_BINARY_DIR) + "/demos/chat/chat";
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

TEST_CASE("chat program: flags, start-up line, graceful exit", "[chat]") {
    REQUIRE(std::filesystem::exists(chat_binary()));  // compiled only with the demos

    auto no_port = gale::test::capture(chat_binary() + " 2>&1");
    CHECK(no_port.status == 2);
    CHECK(no_port.output.find("--port is required") != std::string::npos);
    auto unknown = gale::test::capture(chat_binary() + " --port 0 --threads 4 2>&1");
    CHECK(unknown.status == 2);
    auto no_assets = gale::test::capture(chat_binary() + " --port 0 --assets /nonexistent 2>&1");
    CHECK(no_assets.status == 1);
    CHECK(no_assets.output.find("/nonexistent does not hold templates") != std::string::npos);

    auto [probe, port] = gale::test::listen_loopback();
    ::close(probe);
    gale::test::TemporaryDirectory directory;
    std::string output = directory.file("stdout");
    gale::test::ChildProcess chat("GALE_LOG_LEVEL=warning exec " + chat_binary() + " --port " +
                                  std::to_string(port) + " --address 127.0.0.1 > " + output);
    REQUIRE(gale::test::wait_for_port(port));
    CHECK(read_file(output) ==
          "chat listening on http://127.0.0.1:" + std::to_string(port) + "/\n");
    auto page =
        gale::test::run(gale::test::http_fetch(static_cast<std::uint16_t>(port), "GET", "/"));
    CHECK(page.status == 200);
    CHECK(page.body.find("id=\"messageform\"") != std::string::npos);

    ::kill(chat.pid(), SIGTERM);
    CHECK(chat.wait(std::chrono::seconds(30)) == 0);
}
