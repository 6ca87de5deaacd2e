#include <gale/ioloop/log.hpp>

#include <fmt/chrono.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace gale::log {
namespace {

Level level_from_environment() noexcept {
    const char* value = std::getenv("GALE_LOG_LEVEL");
    if (value == nullptr) {
        return Level::info;
    }
    std::string_view name(value);
    if (name == "debug") {
        return Level::debug;
    }
    if (name == "warning") {
        return Level::warning;
    }
    if (name == "error") {
        return Level::error;
    }
    if (name == "off") {
        return Level::off;
    }
    return Level::info;
}

constexpr std::string_view level_names[] = {"DEBUG", "INFO", "WARNING", "ERROR", "OFF"};

}  // namespace

Level threshold() noexcept {
    static const Level level = level_from_environment();
    return level;
}

void write(Level level, std::string_view message) noexcept {
    try {
        auto now = std::chrono::system_clock::now();
        auto milliseconds =
            std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
        std::string line =
            fmt::format("[{:%Y-%m-%d %H:%M:%S}.{:03d} {} gale] {}\n",
                        std::chrono::floor<std::chrono::seconds>(now), milliseconds.count(),
                        level_names[static_cast<int>(level)], message);
        std::fwrite(line.data(), 1, line.size(), stderr);
    } catch (...) {
        // Logging must never throw into the caller.
    }
}

}  // namespace gale::log
