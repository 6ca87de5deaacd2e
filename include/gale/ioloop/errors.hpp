#pragma once
/// The exception hierarchy every part of gale throws from.
///
/// All gale errors derive from `gale::Error`, so `catch (const gale::Error&)` catches the
/// library's failures and nothing else. Messages name the thing that failed (a peer address,
/// a limit, a URL) so a log line is enough to act on.

#include <stdexcept>
#include <string>
#include <system_error>

namespace gale {

/// Base of every exception gale throws.
class Error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// The operation was cancelled: its task, or a task above it, was cancelled, or its stream
/// was closed by this side while the operation waited.
class OperationCancelled : public Error {
  public:
    OperationCancelled() : Error("operation cancelled") {}
    using Error::Error;
};

/// A deadline passed (`with_timeout`, `run_sync(task, timeout)`, a lock or queue timeout).
class TimeoutError : public Error {
  public:
    TimeoutError() : Error("operation timed out") {}
    using Error::Error;
};

/// A system call failed; carries the `std::error_code`.
class SystemError : public Error {
  public:
    SystemError(std::error_code code, const std::string& what)
        : Error(what + ": " + code.message()), code_(code) {}
    const std::error_code& code() const noexcept { return code_; }

  private:
    std::error_code code_;
};

/// Builds a `SystemError` from an errno value.
inline SystemError system_error(int errno_value, const std::string& what) {
    return SystemError(std::error_code(errno_value, std::system_category()), what);
}

}  // namespace gale
