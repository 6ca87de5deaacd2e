#pragma once
/// Minimal leveled logging to stderr, formatted with fmt.
///
/// The level comes from the `GALE_LOG_LEVEL` environment variable (`debug`, `info`,
/// `warning`, `error`, `off`; default `info`) and is read once.

#include <fmt/format.h>

#include <string_view>

namespace gale::log {

enum class Level { debug = 0, info = 1, warning = 2, error = 3, off = 4 };

/// The level below which messages are dropped.
Level threshold() noexcept;

/// Writes one line (with a timestamp and the level) to stderr.
void write(Level level, std::string_view message) noexcept;

template <class... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) {
    if (threshold() <= Level::debug) {
        write(Level::debug, fmt::format(format, std::forward<Args>(args)...));
    }
}

template <class... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
    if (threshold() <= Level::info) {
        write(Level::info, fmt::format(format, std::forward<Args>(args)...));
    }
}

template <class... Args>
void warning(fmt::format_string<Args...> format, Args&&... args) {
    if (threshold() <= Level::warning) {
        write(Level::warning, fmt::format(format, std::forward<Args>(args)...));
    }
}

template <class... Args>
void error(fmt::format_string<Args...> format, Args&&... args) {
    if (threshold() <= Level::error) {
        write(Level::error, fmt::format(format, std::forward<Args>(args)...));
    }
}

}  // namespace gale::log
