#pragma once
/// Content types for file extensions (static files) and the "is it worth compressing" rule.

#include <gale/http/compression.hpp>

#include <optional>
#include <string_view>

namespace gale::web {

/// The content type for a file extension, with or without the dot, in any case ("html", ".PNG").
/// Text types carry "; charset=utf-8". nullopt for an unknown extension.
std::optional<std::string_view> content_type_for_extension(std::string_view extension);

/// The content type for a file path, from its last extension ("a/b.tar.gz" → application/gzip);
/// `fallback` when there is none or it is unknown.
std::string_view content_type_for_path(std::string_view path,
                                       std::string_view fallback = "application/octet-stream");

/// Whether a response of this content type is worth gzip-compressing: the HTTP server's own
/// rule (gale/http/compression.hpp), so that what a handler expects is what the server does.
using http::is_compressible;

}  // namespace gale::web
