// Extension → content type table.

#include <gale/web/mime_types.hpp>

#include "web/escape_internal.hpp"

#include <algorithm>
#include <array>
#include <string>

namespace gale::web {

namespace {

struct MimeType {
    std::string_view extension;
    std::string_view content_type;
};

// Sorted by extension for binary search.
constexpr std::array<MimeType, 49> mime_types{{
    {"7z", "application/x-7z-compressed"},
    {"aac", "audio/aac"},
    {"apng", "image/apng"},
    {"avif", "image/avif"},
    {"bmp", "image/bmp"},
    {"br", "application/x-brotli"},
    {"bz2", "application/x-bzip2"},
    {"css", "text/css; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"eot", "application/vnd.ms-fontobject"},
    {"flac", "audio/flac"},
    {"gif", "image/gif"},
    {"gz", "application/gzip"},
    {"htm", "text/html; charset=utf-8"},
    {"html", "text/html; charset=utf-8"},
    {"ico", "image/x-icon"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"jsonld", "application/ld+json"},
    {"map", "application/json"},
    {"md", "text/markdown; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"oga", "audio/ogg"},
    {"ogg", "audio/ogg"},
    {"ogv", "video/ogg"},
    {"otf", "font/otf"},
    {"pdf", "application/pdf"},
    {"png", "image/png"},
    {"rss", "application/rss+xml"},
    {"svg", "image/svg+xml"},
    {"tar", "application/x-tar"},
    {"ttf", "font/ttf"},
    {"txt", "text/plain; charset=utf-8"},
    {"wasm", "application/wasm"},
    {"wav", "audio/wav"},
    {"webm", "video/webm"},
    {"webmanifest", "application/manifest+json"},
    {"webp", "image/webp"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"xhtml", "application/xhtml+xml"},
    {"xml", "application/xml"},
    {"yaml", "application/yaml"},
    {"yml", "application/yaml"},
    {"zip", "application/zip"},
}};

static_assert(std::is_sorted(mime_types.begin(), mime_types.end(),
                             [](const MimeType& a, const MimeType& b) {
                                 return a.extension < b.extension;
                             }));

}  // namespace

std::optional<std::string_view> content_type_for_extension(std::string_view extension) {
    if (extension.starts_with(".")) {
        extension.remove_prefix(1);
    }
    if (extension.empty() || extension.size() > 16) {
        return std::nullopt;
    }
    std::string key = detail::ascii_lowercase(extension);
    auto found = std::lower_bound(
        mime_types.begin(), mime_types.end(), key,
        [](const MimeType& entry, const std::string& value) { return entry.extension < value; });
    if (found == mime_types.end() || found->extension != key) {
        return std::nullopt;
    }
    return found->content_type;
}

std::string_view content_type_for_path(std::string_view path, std::string_view fallback) {
    std::string_view file_name = path.substr(path.find_last_of('/') + 1);
    std::size_t dot = file_name.rfind('.');
    if (dot == std::string_view::npos || dot == 0) {
        return fallback;  // no extension, or a dot file such as ".htaccess"
    }
    return content_type_for_extension(file_name.substr(dot + 1)).value_or(fallback);
}

}  // namespace gale::web
