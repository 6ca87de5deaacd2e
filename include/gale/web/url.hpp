#pragma once
/// URLs (RFC 3986): parsing into components, recomposing, resolving a relative reference against
/// a base (§5, used to follow redirects), and application/x-www-form-urlencoded query strings.
///
/// Components are kept as written (percent-encoded), so parse → to_string round-trips and
/// resolution does not change the encoding; decoded views are computed on request.

#include <gale/web/input_error.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace gale::web {

/// A URL or relative reference is malformed (the message quotes it and names the part).
class UrlError : public InputError {
  public:
    using InputError::InputError;
};

/// A URL or relative reference, split into its RFC 3986 components.
struct Url {
    /// Lowercased, without ":"; empty for a relative reference.
    std::string scheme;
    /// Whether an authority ("//...") is present; false for "mailto:x" or "/path".
    bool has_authority = false;
    /// "user:password" as written (percent-encoded), without "@"; empty if none.
    std::string userinfo;
    /// A registered name (lowercased), an IPv4 address, or an IPv6 address without its brackets
    /// (a host containing ':' is an IPv6 literal).
    std::string host;
    std::optional<std::uint16_t> port;
    /// As written (percent-encoded); may be empty.
    std::string path;
    /// Without the "?"; nullopt when there is no "?" (an empty query is "?").
    std::optional<std::string> query;
    /// Without the "#"; nullopt when there is no "#".
    std::optional<std::string> fragment;

    /// Parses an absolute URL or a relative reference. Throws `UrlError` on control characters
    /// or spaces, a bad scheme, port (not digits, > 65535) or host (an invalid IPv6 literal,
    /// characters not allowed in a host, an empty host for http, https, ws and wss; "http:x"
    /// without "//" is a valid reference). Non-ASCII bytes are accepted in the path, query and
    /// fragment (as browsers send them); hosts must be ASCII (IDNA is out of scope).
    static Url parse(std::string_view text);

    /// The URL text (RFC 3986 §5.3 recomposition).
    std::string to_string() const;
    /// "userinfo@host:port" with brackets around an IPv6 host; empty without an authority.
    std::string authority() const;
    /// "host" or "host:port" (port only if given), as for an HTTP Host header.
    std::string host_and_port() const;
    /// The port, or the scheme's default (http/ws 80, https/wss 443); nullopt if unknown.
    std::optional<std::uint16_t> effective_port() const;
    /// Path and query for an HTTP request line: "/" if the path is empty; bytes outside
    /// printable ASCII are percent-encoded.
    std::string request_target() const;
    /// The percent-decoded path.
    std::string decoded_path() const;
    /// Percent-decoded user name and password from the userinfo.
    std::string username() const;
    std::string password() const;
    /// True for an absolute URL (it has a scheme).
    bool is_absolute() const noexcept { return !scheme.empty(); }

    /// Resolves `reference` against this URL (RFC 3986 §5.2). This URL must be absolute
    /// (throws `UrlError` otherwise). The fragment of the result is the reference's.
    Url resolve(const Url& reference) const;
    Url resolve(std::string_view reference) const { return resolve(parse(reference)); }

    bool operator==(const Url&) const = default;
};

/// RFC 3986 §5.2.4: removes "." and ".." segments from a path.
std::string remove_dot_segments(std::string_view path);

/// Name → values, in the order the names first appeared. Values of a repeated name keep their
/// order. Small lists are searched linearly; past a few names a hash index keeps lookups O(1).
class Arguments {
  public:
    struct Entry {
        std::string name;
        std::vector<std::string> values;
    };

    void add(std::string name, std::string value);
    /// Appends every value of `other` (used to merge query and body arguments).
    void merge(const Arguments& other);
    bool contains(std::string_view name) const { return find(name) != nullptr; }
    /// The values of `name`, or nullptr.
    const std::vector<std::string>* find(std::string_view name) const;
    /// The last value of `name` (as Tornado's get_argument), or nullopt.
    std::optional<std::string> last(std::string_view name) const;
    /// All values of `name`; empty if absent.
    std::vector<std::string> all(std::string_view name) const;
    /// The number of distinct names.
    std::size_t size() const noexcept { return entries_.size(); }
    bool empty() const noexcept { return entries_.empty(); }
    const std::vector<Entry>& entries() const noexcept { return entries_; }
    auto begin() const noexcept { return entries_.begin(); }
    auto end() const noexcept { return entries_.end(); }

  private:
    static constexpr std::size_t linear_search_limit = 16;
    /// The index of the entry for `name`, or npos.
    std::size_t find_index(std::string_view name) const;

    std::vector<Entry> entries_;
    std::unordered_map<std::string, std::size_t> index_;  // name → entry, once past the limit
};

struct QueryStringOptions {
    /// More "&"-separated fields than this (counting empty ones) is an error: it bounds the work
    /// and memory a single request can cause.
    std::size_t max_fields = 1000;
    /// Keeps "name=" and "name" (as empty values), like Tornado's request arguments. Otherwise
    /// they are dropped.
    bool keep_blank_values = true;
};

/// Parses application/x-www-form-urlencoded text ("a=1&b=2&a=3"; "+" is a space, %XX escapes
/// are decoded, a malformed escape is kept literally; a leading "?" is not special). Empty
/// fields are skipped. Throws `QueryStringError` past `options.max_fields`. Values are bytes:
/// UTF-8 is not checked here.
Arguments parse_query_string(std::string_view text, const QueryStringOptions& options = {});

/// The query string exceeds `QueryStringOptions::max_fields`.
class QueryStringError : public InputError {
  public:
    using InputError::InputError;
};

/// application/x-www-form-urlencoded text for name/value pairs (Python's urlencode).
std::string encode_query_string(const std::vector<std::pair<std::string, std::string>>& arguments);

/// Appends `arguments` to the query of `url`, which may already have one and may have a
/// fragment (the arguments go before it). The existing query is kept byte for byte.
std::string url_concat(std::string_view url,
                       const std::vector<std::pair<std::string, std::string>>& arguments);

}  // namespace gale::web
