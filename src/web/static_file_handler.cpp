#include <gale/web/application.hpp>
#include <gale/web/etag.hpp>
#include <gale/web/mime_types.hpp>
#include <gale/web/static_file_handler.hpp>

#include <gale/http/date.hpp>
#include <gale/ioloop/executor.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>

namespace gale::web {

namespace {

constexpr std::size_t piece_size = 256 * 1024;

// An open file; closed on destruction (the reads happen on a pool thread).
struct File {
    int fd = -1;
    ~File() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
};

std::string read_piece(int fd, std::uint64_t offset, std::size_t length) {
    std::string data(length, '\0');
    std::size_t got = 0;
    while (got < length) {
        ssize_t result =
            ::pread(fd, data.data() + got, length - got, static_cast<off_t>(offset + got));
        if (result <= 0) {
            if (result < 0 && errno == EINTR) {
                continue;
            }
            throw Error("reading a static file failed (it changed size while being served?)");
        }
        got += static_cast<std::size_t>(result);
    }
    return data;
}

// If-Range holds an entity-tag (compared strongly) or the exact Last-Modified date of the
// copy the client has; no If-Range at all lets the Range apply.
bool range_is_current(std::optional<std::string_view> if_range, std::string_view etag,
                      std::time_t modified) {
    if (!if_range) {
        return true;
    }
    if (if_range->starts_with("\"") || if_range->starts_with("W/")) {
        return *if_range == etag;  // strong comparison: our tag is strong, a weak one never matches
    }
    auto date = http::parse_http_date(*if_range);
    return date && *date == modified;
}

struct ByteRange {
    std::uint64_t first = 0;
    std::uint64_t last = 0;  // inclusive
};

// One "bytes=a-b" range (RFC 9110 §14.1.2). nullopt: no usable Range (serve everything);
// `unsatisfiable`: a syntactically valid range outside the file (416).
std::optional<ByteRange> parse_range(std::string_view header, std::uint64_t size,
                                     bool& unsatisfiable) {
    unsatisfiable = false;
    if (header.rfind("bytes=", 0) != 0) {
        return std::nullopt;
    }
    std::string_view spec = header.substr(6);
    if (spec.find(',') != std::string_view::npos) {
        return std::nullopt;  // several ranges: send the whole file
    }
    std::size_t dash = spec.find('-');
    if (dash == std::string_view::npos) {
        return std::nullopt;
    }
    auto number = [](std::string_view text, std::uint64_t& value) {
        if (text.empty()) {
            return false;
        }
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        return error == std::errc() && end == text.data() + text.size();
    };
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    std::string_view first_text = spec.substr(0, dash);
    std::string_view last_text = spec.substr(dash + 1);
    if (first_text.empty()) {  // "-n": the last n bytes
        std::uint64_t suffix = 0;
        if (!number(last_text, suffix)) {
            return std::nullopt;
        }
        if (suffix == 0) {
            unsatisfiable = true;
            return std::nullopt;
        }
        if (size == 0) {
            // Satisfiable (RFC 9110 §14.1.2: a non-zero suffix), but no byte range can name
            // the whole of an empty body: it is sent as a 200.
            return std::nullopt;
        }
        return ByteRange{suffix >= size ? 0 : size - suffix, size - 1};
    }
    if (!number(first_text, first) || (!last_text.empty() && !number(last_text, last))) {
        return std::nullopt;
    }
    if (last_text.empty() || last >= size) {
        last = size == 0 ? 0 : size - 1;
    }
    if (first >= size || first > last) {
        unsatisfiable = first >= size;
        return std::nullopt;
    }
    return ByteRange{first, last};
}

}  // namespace

StaticFileHandler::StaticFileHandler(std::string root_directory, std::string default_filename)
    : root_(std::move(root_directory)), default_filename_(std::move(default_filename)) {}

Task<void> StaticFileHandler::get() {
    co_await serve(true);
}
Task<void> StaticFileHandler::head() {
    co_await serve(false);
}

Task<void> StaticFileHandler::serve(bool include_body) {
    std::string relative = path_args().empty() ? std::string() : path_args().front();
    if (relative.find('\0') != std::string::npos) {
        throw http::HTTPError(404);
    }
    namespace fs = std::filesystem;
    std::error_code error;
    fs::path root = fs::weakly_canonical(fs::path(root_), error);
    // `root / relative` replaces root when relative is absolute; canonicalising then catches
    // both that and ".." (and symlinks leading out).
    fs::path wanted = fs::weakly_canonical(root / fs::path(relative).relative_path(), error);
    std::string root_text = root.string();
    std::string wanted_text = wanted.string();
    if (error || (wanted_text != root_text && wanted_text.rfind(root_text + "/", 0) != 0)) {
        throw http::HTTPError(403, "path outside the static directory");
    }
    if (fs::is_directory(wanted, error)) {
        if (default_filename_.empty()) {
            throw http::HTTPError(403, "directory listing is not allowed");
        }
        if (!request().path().ends_with("/")) {
            redirect(std::string(request().path()) + "/", true);
            co_return;
        }
        wanted /= default_filename_;
    }
    File file;
    file.fd = ::open(wanted.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat info {};
    if (file.fd < 0 || ::fstat(file.fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        throw http::HTTPError(404);
    }
    const auto size = static_cast<std::uint64_t>(info.st_size);
    const std::time_t modified = info.st_mtim.tv_sec;
    char etag[64];
    std::snprintf(etag, sizeof etag, "\"%llx-%llx\"", static_cast<unsigned long long>(size),
                  static_cast<unsigned long long>(info.st_mtim.tv_sec) * 1000000000ull +
                      static_cast<unsigned long long>(info.st_mtim.tv_nsec));

    set_header("Content-Type", content_type_for_path(wanted.string()));
    set_header("Last-Modified", http::format_http_date(modified));
    set_header("ETag", etag);
    set_header("Accept-Ranges", "bytes");
    if (get_query_argument("v")) {
        set_header("Cache-Control", "public, max-age=31536000, immutable");
    }

    // Preconditions, in the order of RFC 9110 §13.2.2.
    const http::HeaderFields& headers = request().headers();
    if (auto if_match = headers.get("if-match")) {
        if (!etag_list_matches(*if_match, etag, EtagComparison::strong)) {
            throw http::HTTPError(412, "If-Match: the file has changed");
        }
    } else if (auto if_unmodified_since = headers.get("if-unmodified-since")) {
        auto since = http::parse_http_date(*if_unmodified_since);
        if (since && modified > *since) {
            throw http::HTTPError(412, "If-Unmodified-Since: the file has changed");
        }
    }
    if (auto if_none_match = headers.get("if-none-match")) {
        if (etag_list_matches(*if_none_match, etag, EtagComparison::weak)) {
            set_status(304);
            co_return;
        }
    } else if (auto if_modified_since = headers.get("if-modified-since")) {
        auto since = http::parse_http_date(*if_modified_since);
        if (since && modified <= *since) {
            set_status(304);
            co_return;
        }
    }

    std::uint64_t first = 0;
    std::uint64_t length = size;
    auto range_header = headers.get("range");
    // Range is defined for GET only (RFC 9110 §14.2); If-Range keeps it only while the
    // client's partial copy is current (§13.1.5).
    if (range_header && request().method() == "GET" &&
        range_is_current(headers.get("if-range"), etag, modified)) {
        bool unsatisfiable = false;
        auto range = parse_range(*range_header, size, unsatisfiable);
        if (unsatisfiable) {
            set_header("Content-Range", "bytes */" + std::to_string(size));
            throw http::HTTPError(416);
        }
        if (range) {
            set_status(206);
            first = range->first;
            length = range->last - range->first + 1;
            set_header("Content-Range", "bytes " + std::to_string(range->first) + "-" +
                                            std::to_string(range->last) + "/" +
                                            std::to_string(size));
        }
    }
    set_header("Content-Length", std::to_string(length));
    // HEAD reads a file of one piece too: the server then frames it exactly as for GET
    // (gzip and its Content-Length, RFC 9110 §9.3.2) and sends no body. A larger file's HEAD
    // gets the identity length, or none when it would be compressed.
    if (length == 0 || (!include_body && length > piece_size)) {
        co_return;
    }
    // Read off the loop in pieces; flush each so at most one piece is buffered per request.
    int fd = file.fd;
    for (std::uint64_t sent = 0; sent < length;) {
        std::size_t piece =
            static_cast<std::size_t>(std::min<std::uint64_t>(piece_size, length - sent));
        std::uint64_t offset = first + sent;
        auto work = [fd, offset, piece] { return read_piece(fd, offset, piece); };
        std::string data = co_await run_in_executor(std::move(work));
        write(data);
        sent += piece;
        if (length > piece_size) {
            co_await flush();
        }
    }
}

RedirectHandler::RedirectHandler(std::string url, bool permanent)
    : url_(std::move(url)), permanent_(permanent) {}

Task<void> RedirectHandler::get() {
    std::string target = url_;
    for (std::size_t i = 0; i < path_args().size(); ++i) {
        std::string placeholder = "{" + std::to_string(i) + "}";
        for (std::size_t at = target.find(placeholder); at != std::string::npos;
             at = target.find(placeholder, at)) {
            target.replace(at, placeholder.size(), path_args()[i]);
            at += path_args()[i].size();
        }
    }
    if (!request().query().empty()) {
        target +=
            (target.find('?') == std::string::npos ? "?" : "&") + std::string(request().query());
    }
    redirect(target, permanent_);
    co_return;
}

Task<void> ErrorHandler::prepare() {
    throw http::HTTPError(status_);
}

}  // namespace gale::web
