// linkify: Tornado's URL pattern, matched by hand in linear time.
//
// Tornado matches this regular expression on the HTML-escaped text:
//   \b((?:([\w-]+):(/{1,3})|www[.])
//      (?:(?:(?:[^\s&()]|&amp;|&quot;)*(?:[^!"#$%&'()*+,.:;<=>?@\[\]^`{|}~\s]))
//        |(?:\((?:[^\s&()]|&amp;|&quot;)*\)))+)
// A URL body is a sequence of units: a run of "atoms" (characters other than space, "&" and
// parentheses, or the entities &amp; and &quot;) ending in a non-punctuation character, or a
// parenthesised run of atoms. Because nothing follows the repetition, the backtracking engine's
// answer is the greedy one computed below, without backtracking. Non-ASCII characters count as
// word characters, and Unicode spaces as spaces.

#include <gale/web/escape.hpp>

#include "web/escape_internal.hpp"

#include <algorithm>
#include <optional>

namespace gale::web {

namespace {

constexpr std::size_t max_link_text_length = 30;

// Byte length of the whitespace character at `position`, or 0 (Python's \s for str).
std::size_t whitespace_length(std::string_view text, std::size_t position) {
    auto byte = [&](std::size_t offset) {
        return position + offset < text.size() ? static_cast<unsigned char>(text[position + offset])
                                               : 0;
    };
    unsigned char first = byte(0);
    if (first == ' ' || (first >= 0x09 && first <= 0x0D) || (first >= 0x1C && first <= 0x1F)) {
        return 1;
    }
    if (first == 0xC2 && (byte(1) == 0x85 || byte(1) == 0xA0)) {
        return 2;  // U+0085, U+00A0
    }
    if (first == 0xE1 && byte(1) == 0x9A && byte(2) == 0x80) {
        return 3;  // U+1680
    }
    if (first == 0xE2 && byte(1) == 0x80 &&
        (byte(2) <= 0x8A || byte(2) == 0xA8 || byte(2) == 0xA9 || byte(2) == 0xAF)) {
        return 3;  // U+2000-200A, U+2028, U+2029, U+202F
    }
    if (first == 0xE2 && byte(1) == 0x81 && byte(2) == 0x9F) {
        return 3;  // U+205F
    }
    if (first == 0xE3 && byte(1) == 0x80 && byte(2) == 0x80) {
        return 3;  // U+3000
    }
    return 0;
}

bool is_word_character(char c) {
    return detail::is_ascii_alphanumeric(c) || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

bool is_punctuation(char c) {
    return std::string_view(R"(!"#$%&'()*+,.:;<=>?@[]^`{|}~)").find(c) != std::string_view::npos;
}

// Whether the character that ends just before `position` is a word character.
bool word_character_before(std::string_view text, std::size_t position) {
    if (position == 0) {
        return false;
    }
    // Step back to the first byte of a UTF-8 sequence (at most 4 bytes long).
    std::size_t start = position - 1;
    while (start > 0 && position - start < 4 &&
           (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) {
        --start;
    }
    return is_word_character(text[start]) && whitespace_length(text, start) == 0;
}

// Python's \b, approximately: a word character on exactly one side.
bool at_word_boundary(std::string_view text, std::size_t position) {
    bool before = word_character_before(text, position);
    bool after = position < text.size() && is_word_character(text[position]) &&
                 whitespace_length(text, position) == 0;
    return before != after;
}

// Length of the atom at `position` ("&amp;", "&quot;" or one byte), or 0 if none starts there.
std::size_t atom_length(std::string_view text, std::size_t position) {
    char c = text[position];
    if (c == '&') {
        std::string_view rest = text.substr(position);
        if (rest.starts_with("&amp;")) {
            return 5;
        }
        if (rest.starts_with("&quot;")) {
            return 6;
        }
        return 0;
    }
    if (c == '(' || c == ')' || whitespace_length(text, position) > 0) {
        return 0;
    }
    return 1;
}

// End of the URL body that starts at `start` (== start when no unit matches).
std::size_t match_url_body(std::string_view text, std::size_t start) {
    std::size_t position = start;
    while (position < text.size()) {
        // A unit ending in a non-punctuation character: take the last one in the atom run.
        std::size_t cursor = position;
        std::size_t last_good_end = std::string_view::npos;
        while (cursor < text.size()) {
            std::size_t length = atom_length(text, cursor);
            if (length == 0) {
                break;
            }
            if (length == 1 && !is_punctuation(text[cursor])) {
                last_good_end = cursor + 1;
            }
            cursor += length;
        }
        if (last_good_end != std::string_view::npos) {
            position = last_good_end;
            continue;
        }
        // A parenthesised unit.
        if (text[position] != '(') {
            break;
        }
        cursor = position + 1;
        while (cursor < text.size()) {
            std::size_t length = atom_length(text, cursor);
            if (length == 0) {
                break;
            }
            cursor += length;
        }
        if (cursor >= text.size() || text[cursor] != ')') {
            break;
        }
        position = cursor + 1;
    }
    return position;
}

struct UrlMatch {
    std::size_t end = 0;
    std::string_view protocol;      // empty for "www." links
    std::size_t prefix_length = 0;  // protocol + ":" + slashes
};

class Linkifier {
  public:
    Linkifier(std::string_view text, const LinkifyOptions& options)
        : text_(text), options_(options) {}

    std::string run() {
        std::string result;
        result.reserve(text_.size() + text_.size() / 4);
        std::size_t copied = 0;
        std::size_t position = 0;
        while (position < text_.size()) {
            // Only the first byte of a UTF-8 sequence can start a match.
            bool continuation = (static_cast<unsigned char>(text_[position]) & 0xC0) == 0x80;
            if (!continuation && at_word_boundary(text_, position)) {
                if (auto match = match_at(position)) {
                    result.append(text_.substr(copied, position - copied));
                    result += make_link(text_.substr(position, match->end - position), *match);
                    position = copied = match->end;
                    continue;
                }
            }
            ++position;
        }
        result.append(text_.substr(copied));
        return result;
    }

  private:
    std::optional<UrlMatch> match_at(std::size_t start) {
        if (auto match = match_with_protocol(start)) {
            return match;
        }
        if (text_.substr(start).starts_with("www.")) {
            std::size_t end = match_url_body(text_, start + 4);
            if (end > start + 4) {
                return UrlMatch{end, {}, 0};
            }
        }
        return std::nullopt;
    }

    // The ([\w-]+):(/{1,3}) branch. The run of [\w-] is cached, so scanning a long word
    // costs its length once rather than once per start position.
    std::optional<UrlMatch> match_with_protocol(std::size_t start) {
        if (!(start >= run_start_ && start < run_end_)) {
            run_start_ = start;
            run_end_ = start;
            while (run_end_ < text_.size() &&
                   (text_[run_end_] == '-' || (is_word_character(text_[run_end_]) &&
                                               whitespace_length(text_, run_end_) == 0))) {
                ++run_end_;
            }
        }
        if (run_end_ == start || run_end_ >= text_.size() || text_[run_end_] != ':') {
            return std::nullopt;
        }
        std::size_t slashes = 0;
        while (slashes < 3 && run_end_ + 1 + slashes < text_.size() &&
               text_[run_end_ + 1 + slashes] == '/') {
            ++slashes;
        }
        // Greedy slashes first; with one fewer the body starts with "/", which always matches.
        for (std::size_t count = slashes; count >= 1; --count) {
            std::size_t body_start = run_end_ + 1 + count;
            std::size_t end = match_url_body(text_, body_start);
            if (end > body_start) {
                return UrlMatch{end, text_.substr(start, run_end_ - start), body_start - start};
            }
        }
        return std::nullopt;
    }

    std::string make_link(std::string_view url, const UrlMatch& match) const {
        bool has_protocol = !match.protocol.empty();
        if (options_.require_protocol && !has_protocol) {
            return std::string(url);
        }
        if (has_protocol &&
            std::find(options_.permitted_protocols.begin(), options_.permitted_protocols.end(),
                      match.protocol) == options_.permitted_protocols.end()) {
            return std::string(url);
        }
        std::string href = has_protocol ? std::string(url) : "http://" + std::string(url);
        std::string params;
        if (options_.extra_params_for) {
            params = " " + std::string(strip(options_.extra_params_for(href)));
        } else if (!options_.extra_params.empty()) {
            params = " " + std::string(strip(options_.extra_params));
        }
        std::string link_text(url);
        if (options_.shorten) {
            std::string shortened = shorten(url, match.prefix_length);
            if (shortened != url) {
                link_text = std::move(shortened);
                // The full URL stays visible on mouse-over.
                params += " title=\"" + href + "\"";
            }
        }
        return "<a href=\"" + href + "\"" + params + ">" + link_text + "</a>";
    }

    // Tornado's heuristic: host plus the start of the first path segment, or a hard cut; then
    // "..." unless that made it no shorter. Lengths count code points, as in Python.
    static std::string shorten(std::string_view url, std::size_t prefix_length) {
        if (code_points(url) <= max_link_text_length) {
            return std::string(url);
        }
        std::string clipped(url);
        std::string_view rest = url.substr(prefix_length);
        std::size_t first_slash = rest.find('/');
        if (first_slash != std::string_view::npos) {
            std::string_view host = rest.substr(0, first_slash);
            std::string_view segment = rest.substr(first_slash + 1);
            segment = segment.substr(0, segment.find('/'));
            segment = utf8_prefix(segment, 8);
            segment = segment.substr(0, segment.find('?'));
            segment = segment.substr(0, segment.find('.'));
            clipped = std::string(url.substr(0, prefix_length)) + std::string(host) + "/" +
                      std::string(segment);
        }
        if (code_points(clipped) * 2 > max_link_text_length * 3) {
            clipped = std::string(utf8_prefix(clipped, max_link_text_length));
        }
        if (clipped == url) {
            return clipped;
        }
        // Avoid cutting an HTML entity in half.
        std::size_t ampersand = clipped.rfind('&');
        if (ampersand != std::string::npos && code_points(std::string_view(clipped).substr(
                                                  0, ampersand)) > max_link_text_length - 5) {
            clipped.resize(ampersand);
        }
        clipped += "...";
        return code_points(clipped) >= code_points(url) ? std::string(url) : clipped;
    }

    static std::size_t code_points(std::string_view text) {
        return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
            return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
        }));
    }

    static std::string_view utf8_prefix(std::string_view text, std::size_t count) {
        std::size_t seen = 0;
        for (std::size_t i = 0; i < text.size(); ++i) {
            if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
                if (seen == count) {
                    return text.substr(0, i);
                }
                ++seen;
            }
        }
        return text;
    }

    static std::string_view strip(std::string_view text) {
        while (!text.empty() && whitespace_length(text, 0) == 1) {
            text.remove_prefix(1);
        }
        while (!text.empty() && whitespace_length(text, text.size() - 1) == 1) {
            text.remove_suffix(1);
        }
        return text;
    }

    std::string_view text_;
    const LinkifyOptions& options_;
    std::size_t run_start_ = 0;
    std::size_t run_end_ = 0;
};

}  // namespace

std::string linkify(std::string_view text, const LinkifyOptions& options) {
    std::string escaped = xhtml_escape(text);
    return Linkifier(escaped, options).run();
}

}  // namespace gale::web
