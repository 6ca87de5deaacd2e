#pragma once
/// Graceful shutdown for servers, on one thread or several.
///
/// `run_until_shutdown(threads, serve)` runs `serve(index)` on `threads` threads, each with
/// its own IOLoop (so each can listen on the same port with `reuse_port`). SIGINT or SIGTERM
/// requests a shutdown: every `wait_for_shutdown()` returns, and `serve` finishes its
/// graceful part (stop accepting, drain connections). A second signal stops the loops at once.
///
/// ```
/// gale::run_until_shutdown(4, [port](unsigned) -> gale::Task<void> {
///     gale::TCPServer server(handle_connection);
///     server.listen(port, options_with_reuse_port);
///     co_await gale::wait_for_shutdown();
///     co_await server.shutdown(std::chrono::seconds(5));
/// });
/// ```

#include <gale/ioloop/ioloop.hpp>

#include <functional>

namespace gale {

/// Completes when a shutdown of the current loop is requested (at once if it already was).
Task<void> wait_for_shutdown();

/// Asks `loop` to shut down: its `wait_for_shutdown()` calls return. Thread-safe.
void request_shutdown(IOLoop& loop);

/// Runs `serve(index)` for index 0..threads-1, each on its own thread and loop (index 0 on
/// the calling thread), until every one has returned. SIGINT/SIGTERM request a shutdown of
/// all loops; a second signal stops them at once. Rethrows the first exception of a `serve`.
void run_until_shutdown(unsigned threads, std::function<Task<void>(unsigned index)> serve);

}  // namespace gale
