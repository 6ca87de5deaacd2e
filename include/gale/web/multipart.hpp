#pragma once
/// multipart/form-data request bodies (RFC 7578, RFC 2046 §5.1) and the form-body entry point
/// that also handles application/x-www-form-urlencoded.
///
/// The parser runs in time linear in the body (delimiters are found with a linear-time substring
/// search, headers and parameters are scanned once), bounds the number of parts and the size of
/// each part's headers, and reports every malformation as a `MultipartError` (an `InputError`:
/// answer 400). File bodies are not copied: they point into the body passed in, which must
/// outlive the result.

#include <gale/web/input_error.hpp>
#include <gale/web/url.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace gale::web {

/// A multipart/form-data body or its Content-Type is malformed or exceeds a limit.
class MultipartError : public InputError {
  public:
    using InputError::InputError;
};

/// A file from a multipart/form-data body (a part with a non-empty filename).
struct UploadedFile {
    /// The form field name.
    std::string name;
    /// As sent, decoded to UTF-8 (from filename*= when present). Untrusted: it may contain
    /// "/", ".." or anything else; never use it as a path unchecked.
    std::string filename;
    /// The part's Content-Type, or "application/unknown" (as Tornado) if absent.
    std::string content_type;
    /// The file's bytes, pointing into the parsed body.
    std::string_view body;
};

/// The fields and files of a form body, in the order they were sent.
struct FormData {
    Arguments fields;
    std::vector<UploadedFile> files;

    /// The files sent under field `name`.
    std::vector<const UploadedFile*> files_named(std::string_view name) const;
};

struct MultipartOptions {
    /// More parts than this is an error (Tornado's default).
    std::size_t max_parts = 100;
    /// A part whose header block is longer than this (in bytes) is an error (Tornado's default).
    std::size_t max_part_header_size = 10 * 1024;
    /// The longest boundary accepted (RFC 2046 allows 1-70 characters).
    std::size_t max_boundary_length = 70;
};

/// The boundary parameter of a multipart Content-Type such as
/// `multipart/form-data; boundary="abc"` (quoted or not; quoted-pair escapes are decoded).
/// Throws `MultipartError` if there is none, or it is empty, too long, or has characters outside
/// RFC 2046's bchars.
std::string multipart_boundary(std::string_view content_type, const MultipartOptions& options = {});

/// Parses a multipart/form-data body with the given boundary (as returned by
/// `multipart_boundary`). The preamble before the first delimiter and the epilogue after the
/// final one are ignored. Each part needs a `Content-Disposition: form-data` header with a
/// non-empty `name`; `filename` (a quoted string with backslash escapes, or raw UTF-8) or
/// `filename*` (RFC 5987: UTF-8 or ISO-8859-1, percent-encoded; it wins over `filename`) makes
/// it a file; an empty filename makes it a field, as in Tornado. Header lines must end in CRLF.
///
/// Throws `MultipartError` when: no delimiter or no final delimiter is found; there are more than
/// `max_parts` parts; a part has no header block, headers longer than `max_part_header_size`, a
/// malformed header line (bare CR or LF, folding, a bad name, control characters), a missing
/// or repeated Content-Disposition, a disposition other than form-data, missing/empty/repeated
/// parameters, a bad quoted string or RFC 5987 value, or a name or filename that is not UTF-8.
FormData parse_multipart_form_data(std::string_view boundary, std::string_view body,
                                   const MultipartOptions& options = {});

struct FormOptions {
    MultipartOptions multipart;
    QueryStringOptions query_string;
};

/// Parses a request body by its Content-Type: application/x-www-form-urlencoded into fields,
/// multipart/form-data into fields and files; any other type (JSON included, as in Tornado)
/// gives an empty result. Throws `MultipartError` / `QueryStringError` on malformed bodies.
FormData parse_form_body(std::string_view content_type, std::string_view body,
                         const FormOptions& options = {});

}  // namespace gale::web
