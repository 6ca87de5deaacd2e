#pragma once
/// `StaticFileHandler`: serves files from a directory (Tornado's StaticFileHandler).
///
/// - Content-Type from the extension; Last-Modified and an ETag (from size and mtime);
///   If-None-Match / If-Modified-Since give 304 Not Modified.
/// - A single byte range (Range: bytes=a-b, a-, -n) gives 206 with Content-Range, an
///   unsatisfiable one 416; several ranges get the whole file.
/// - URLs made by `static_url` carry `?v=<content hash>`: those responses are cached for a year
///   (Cache-Control: public, max-age=31536000, immutable).
/// - Paths that leave the directory (`..`, absolute paths, symlinks pointing outside) are
///   refused with 403; directories and missing files are 404.
/// - Files are read off the loop thread in 256 KiB pieces and streamed with backpressure, so a
///   large file never sits whole in memory.
///
/// Route it with one group for the path: `route<StaticFileHandler>("/files/(.*)", factory)`,
/// or set `static_path` in the application settings.

#include <gale/web/request_handler.hpp>

#include <string>

namespace gale::web {

class StaticFileHandler : public RequestHandler {
  public:
    explicit StaticFileHandler(std::string root_directory, std::string default_filename = {});

    Task<void> get() override;
    Task<void> head() override;

    /// Cache-Control max-age for unversioned URLs (versioned ones get a year).
    static constexpr int unversioned_max_age = 0;

  private:
    Task<void> serve(bool include_body);

    std::string root_;
    std::string default_filename_;
};

/// Redirects every request to a URL (Tornado's RedirectHandler); `{0}`, `{1}`, ... in the
/// target are replaced by the route's groups, and the query string is kept.
class RedirectHandler : public RequestHandler {
  public:
    explicit RedirectHandler(std::string url, bool permanent = true);
    Task<void> get() override;

  private:
    std::string url_;
    bool permanent_;
};

/// Answers every request with an error status (Tornado's ErrorHandler).
class ErrorHandler : public RequestHandler {
  public:
    static constexpr bool handles_all_methods = true;
    explicit ErrorHandler(int status) : status_(status) {}
    Task<void> prepare() override;

  private:
    int status_;
};

}  // namespace gale::web
