#pragma once
/// The HTTP/1.1 parser shared by the server (requests) and the client (responses): strict per
/// RFC 9110/9112, zero-copy, incremental.
///
/// Feed `parse` the bytes buffered so far, as many times as needed: it answers `incomplete`
/// until the whole head is there (remembering how far it scanned, so byte-by-byte arrival
/// costs linear time), then `complete` with the head parsed into views of that buffer, or
/// `error` with the status to answer (400, 414, 431, 501, 505) and a reason. The views stay
/// valid while the caller leaves those bytes in place; `head_size()` is how many to consume.
///
/// Strictness (what a lenient parser lets through is how requests get smuggled):
/// - lines end with CRLF; a bare LF or a bare CR is an error (400);
/// - empty lines before a request line are skipped (RFC 9112 §2.2);
/// - field names are tokens with no whitespace before the colon; obsolete line folding,
///   NUL and other control characters in values are errors; values are trimmed of OWS;
/// - Content-Length is 1*DIGIT; differing values are an error, identical repeats are one;
///   Content-Length with Transfer-Encoding is an error; a request's Transfer-Encoding must
///   end in `chunked` and name it once (other codings: 501 when unknown, 400 when chunked is
///   not last); HTTP/1.0 requests may not use Transfer-Encoding;
/// - HTTP/1.1 requests need exactly one valid Host; absolute-form targets set the authority,
///   authority-form is for CONNECT only, asterisk-form for OPTIONS only;
/// - `HTTP/x.y` only: 1.0 and 1.1 (other 1.x are treated as 1.1), major version ≥ 2 → 505.

#include <gale/http/headers.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gale::http {

struct ParserLimits {
    /// Longest request line (method, target, version); longer → 414.
    std::size_t max_request_line = 8 * 1024;
    /// Largest head (request or status line plus fields); larger → 431.
    std::size_t max_head_size = 64 * 1024;
    /// Most header fields; more → 431.
    std::size_t max_header_count = 128;
    /// Longest chunk-size line including extensions; longer → 400.
    std::size_t max_chunk_line = 4 * 1024;
    /// Largest trailer section; larger → 431.
    std::size_t max_trailer_size = 16 * 1024;
};

/// A header field as a view into the parsed buffer.
struct HeaderField {
    std::string_view name;
    std::string_view value;
};

/// Case-insensitive lookup over a span of parsed fields.
class HeaderFields {
  public:
    HeaderFields() = default;
    explicit HeaderFields(std::span<const HeaderField> fields) noexcept : fields_(fields) {}

    std::optional<std::string_view> get(std::string_view name) const noexcept;
    std::string_view get_or(std::string_view name, std::string_view fallback) const noexcept;
    bool contains(std::string_view name) const noexcept { return get(name).has_value(); }
    std::size_t count(std::string_view name) const noexcept;
    std::span<const HeaderField> fields() const noexcept { return fields_; }
    std::size_t size() const noexcept { return fields_.size(); }
    auto begin() const noexcept { return fields_.begin(); }
    auto end() const noexcept { return fields_.end(); }
    /// An owning copy.
    HTTPHeaders to_headers() const;

  private:
    std::span<const HeaderField> fields_;
};

enum class Version { http_1_0, http_1_1 };

/// How the body of a message is delimited.
enum class BodyFraming {
    none,            // no body
    content_length,  // exactly `content_length` bytes
    chunked,         // chunked transfer coding
    until_close,     // responses only: the body ends when the connection closes
};

enum class TargetForm { origin, absolute, authority, asterisk };

/// A parse failure: the status to answer and why.
struct ParseError {
    int status = 400;
    std::string reason;
};

struct RequestHead {
    std::string_view method;
    std::string_view target;  // as sent
    TargetForm form = TargetForm::origin;
    std::string_view path;       // the path of origin- or absolute-form ("*" for asterisk-form)
    std::string_view query;      // after '?', without it (empty if none)
    std::string_view authority;  // from an absolute- or authority-form target, else the Host
    Version version = Version::http_1_1;
    HeaderFields headers;
    BodyFraming framing = BodyFraming::none;
    std::uint64_t content_length = 0;
    bool keep_alive = true;        // after this request, per version and Connection
    bool expect_continue = false;  // Expect: 100-continue (with a body)
    bool upgrade = false;          // Connection: upgrade with an Upgrade field
    bool preconditions = false;    // an If-* field (If-Match, If-None-Match, If-Range, ...)
};

struct ResponseHead {
    Version version = Version::http_1_1;
    int status = 0;
    std::string_view reason;
    HeaderFields headers;
    BodyFraming framing = BodyFraming::none;
    std::uint64_t content_length = 0;
    bool keep_alive = true;
};

enum class ParseStatus { incomplete, complete, error };

/// Parses request heads. Reuse one parser per connection: `reset()` between requests (its
/// storage for field views is kept, so steady-state parsing allocates nothing).
class RequestParser {
  public:
    explicit RequestParser(ParserLimits limits = {});

    ParseStatus parse(std::string_view buffer);
    void reset() noexcept;

    const RequestHead& head() const noexcept { return head_; }
    /// Bytes the head occupies at the start of the buffer (after `complete`).
    std::size_t head_size() const noexcept { return head_size_; }
    const ParseError& error() const noexcept { return error_; }
    const ParserLimits& limits() const noexcept { return limits_; }

  private:
    ParseStatus fail(int status, std::string reason);
    ParseStatus fail_long_request_line(std::string_view line);
    std::optional<ParseStatus> parse_whole_plain_head(std::string_view buffer, std::size_t start);
    bool parse_request_line(std::string_view line);
    bool parse_target();
    bool take_plain_origin_form();
    bool apply_semantics();

    ParserLimits limits_;
    RequestHead head_;
    std::vector<HeaderField> fields_;
    ParseError error_;
    std::size_t scanned_ = 0;  // bytes already searched for the end of the head
    std::size_t head_size_ = 0;
};

/// Parses response heads (for the client). Needs the request's method: responses to HEAD
/// have no body whatever their headers say.
class ResponseParser {
  public:
    explicit ResponseParser(ParserLimits limits = {});

    ParseStatus parse(std::string_view buffer, bool request_was_head = false);
    void reset() noexcept;

    const ResponseHead& head() const noexcept { return head_; }
    std::size_t head_size() const noexcept { return head_size_; }
    const ParseError& error() const noexcept { return error_; }

  private:
    ParseStatus fail(std::string reason);
    bool parse_status_line(std::string_view line);
    bool apply_semantics(bool request_was_head);

    ParserLimits limits_;
    ResponseHead head_;
    std::vector<HeaderField> fields_;
    ParseError error_;
    std::size_t scanned_ = 0;
    std::size_t head_size_ = 0;
};

/// Decodes a chunked body incrementally. Each `decode` call looks at the bytes buffered after
/// what was consumed so far and reports payload bytes as a view into them.
class ChunkedDecoder {
  public:
    explicit ChunkedDecoder(ParserLimits limits = {}) : limits_(limits) {}

    enum class Status { need_more, data, done, error };
    struct Result {
        Status status = Status::need_more;
        std::string_view data;     // payload (Status::data)
        std::size_t consumed = 0;  // bytes of input used, including `data`
    };

    /// Decodes from the start of `input`. On `data`, consume `consumed` bytes after using
    /// `data`; on `done` the body and its trailers are over (`consumed` bytes to drop).
    Result decode(std::string_view input);
    void reset() noexcept;

    const ParseError& error() const noexcept { return error_; }
    /// Trailer fields of the finished body, as an owning copy.
    const HTTPHeaders& trailers() const noexcept { return trailers_; }

  private:
    Result fail(std::string reason, int status = 400);

    enum class State { size_line, data, data_end, trailers, finished };
    ParserLimits limits_;
    State state_ = State::size_line;
    std::uint64_t remaining_ = 0;
    std::size_t trailer_bytes_ = 0;
    HTTPHeaders trailers_;
    ParseError error_;
};

/// True when `text` is a token (RFC 9110 §5.6.2): method names, field names.
bool is_token(std::string_view text) noexcept;

/// True when `status` may carry a body (not 1xx, 204, 304).
constexpr bool status_allows_body(int status) noexcept {
    return status >= 200 && status != 204 && status != 304;
}

}  // namespace gale::http
