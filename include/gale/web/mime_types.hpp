#pragma once
/// Content types for file extensions (static files) and the "is it worth compressing" rule.

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

/// Whether a response of this content type is worth gzip-compressing: text/* (except
/// text/event-stream, which must reach the client message by message), JSON, JavaScript, XML and
/// their "+json"/"+xml" variants (SVG, Atom, RSS, manifests), WebAssembly, uncompressed fonts
/// (TTF, OTF) and icons. Already-compressed formats (images, video, woff2, zip, gzip, PDF) are
/// not. Parameters such as "; charset=utf-8" are ignored; the comparison ignores case.
bool is_compressible(std::string_view content_type);

}  // namespace gale::web
