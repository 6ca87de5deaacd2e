#pragma once
/// Escaping and unescaping for HTML, URLs and JSON, plus `linkify` (Tornado's tornado.escape).
///
/// Every function is pure, works on bytes (UTF-8 is passed through untouched) and never throws
/// on odd input: malformed escapes are left as they are, like Tornado and browsers do.

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace gale::web {

/// Escapes `&`, `<`, `>`, `"` and `'` as `&amp;`, `&lt;`, `&gt;`, `&quot;` and `&#39;`, which makes
/// the result safe in HTML text and in quoted attribute values.
std::string xhtml_escape(std::string_view text);

/// Replaces character references with the characters they name (UTF-8 encoded): decimal
/// (`&#32;`), hexadecimal (`&#x20;`) and the HTML 4 named entities (`&eacute;`). References that
/// are malformed, unknown, or name no Unicode scalar value (surrogates, > U+10FFFF) stay as they
/// are.
std::string xhtml_unescape(std::string_view text);

/// Percent-encodes `value` for a URL. Letters, digits and `_.-~` are kept. With `plus` (for query
/// strings and form bodies) a space becomes `+` and `/` is encoded; without it (for paths) a space
/// becomes `%20` and `/` is kept. Like Python's quote_plus / quote.
std::string url_escape(std::string_view value, bool plus = true);

/// Decodes `%XX` escapes (and, with `plus`, `+` as a space). A `%` that is not followed by two hex
/// digits is kept literally. The result is bytes: it is not checked to be UTF-8.
std::string url_unescape(std::string_view value, bool plus = true);

/// JSON text for `value` that is safe to embed in an HTML `<script>` element: `</` is written as
/// `<\/` so the data cannot close the element. Invalid UTF-8 in strings is replaced by U+FFFD.
std::string json_encode(const nlohmann::json& value);

/// Replaces every run of ASCII control characters and spaces (bytes 0x00-0x20) with one space and
/// trims both ends.
std::string squeeze(std::string_view text);

/// Options of `linkify`, with Tornado's defaults.
struct LinkifyOptions {
    /// Shortens long link texts (to about 30 characters, with "..."), keeping the full URL in
    /// the title attribute.
    bool shorten = false;
    /// Extra attributes for every `<a>` tag, e.g. `rel="nofollow" class="external"`. Not escaped:
    /// it must be trusted HTML.
    std::string extra_params{};
    /// If set, called with each link's href and used instead of `extra_params`.
    std::function<std::string(std::string_view href)> extra_params_for{};
    /// Only links with an explicit protocol (`http://...`): bare `www.example.com` stays text.
    bool require_protocol = false;
    /// Protocols that are linked; others (e.g. `javascript:`, `file:`) stay text.
    std::vector<std::string> permitted_protocols = {"http", "https"};
};

/// HTML-escapes `text` and turns the URLs in it into `<a href="...">` links, like Tornado's
/// linkify (same URL pattern, trailing punctuation and unbalanced parentheses stay outside the
/// link). `www.` links without a protocol get `http://`. Runs in linear time.
std::string linkify(std::string_view text, const LinkifyOptions& options = {});

}  // namespace gale::web
