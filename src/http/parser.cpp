#include <gale/http/parser.hpp>

#include "http/field_bytes.hpp"
#include "http/lowercase_literal.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <new>
#include <type_traits>

namespace gale::http {

using detail::equals_lowercase;

namespace {

// Character classes, one table lookup per byte.
constexpr std::array<bool, 256> make_token_table() {
    std::array<bool, 256> table{};
    for (int c = '0'; c <= '9'; ++c)
        table[c] = true;
    for (int c = 'a'; c <= 'z'; ++c)
        table[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c)
        table[c] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~"))
        table[static_cast<unsigned char>(c)] = true;
    return table;
}

// VCHAR, SP, HTAB and obs-text: what a field value may contain (RFC 9110 §5.5).
constexpr std::array<bool, 256> make_value_table() {
    std::array<bool, 256> table{};
    table['\t'] = true;
    for (int c = 0x20; c <= 0x7e; ++c)
        table[c] = true;
    for (int c = 0x80; c <= 0xff; ++c)
        table[c] = true;
    return table;
}

// Request-target bytes: visible ASCII (no space, no controls, no octets above 0x7F, which a
// URI has only percent-encoded: RFC 3986 §2) but "#", which starts a fragment and is never
// part of a request-target (RFC 9112 §3.2), and '"', '<' and '>', which no URI holds and
// browsers always encode. With `path`, also the other characters RFC 3986 leaves out of a
// path ("\\", "^", "`", "{", "|", "}"): browsers send some of them raw in a query, so the
// query keeps them, but in a path they serve only to slip past filters ("..\\").
constexpr std::array<bool, 256> make_target_table(bool path) {
    std::array<bool, 256> table{};
    for (int c = 0x21; c <= 0x7e; ++c)
        table[c] = std::string_view("#\"<>").find(static_cast<char>(c)) == std::string_view::npos;
    for (char c : std::string_view("\\^`{|}"))
        table[static_cast<unsigned char>(c)] = !path;
    return table;
}

// reg-name: unreserved, sub-delims and "%" of pct-encoded (RFC 3986 §3.2.2); with
// `ip_literal`, the characters of an IP literal between its brackets (IPv6 and IPvFuture).
constexpr std::array<bool, 256> make_host_table(bool ip_literal) {
    std::array<bool, 256> table{};
    for (int c = '0'; c <= '9'; ++c)
        table[c] = true;
    for (int c = 'a'; c <= 'z'; ++c)
        table[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c)
        table[c] = true;
    for (char c : std::string_view("-._~!$&'()*+,;="))
        table[static_cast<unsigned char>(c)] = true;
    table['%'] = !ip_literal;
    table[':'] = ip_literal;
    return table;
}

constexpr std::array<bool, 256> make_digit_table() {
    std::array<bool, 256> table{};
    for (int c = '0'; c <= '9'; ++c)
        table[c] = true;
    return table;
}

constexpr auto token_table = make_token_table();
constexpr auto value_table = make_value_table();
constexpr auto target_table = make_target_table(false);
constexpr auto path_table = make_target_table(true);
constexpr auto reg_name_table = make_host_table(false);
constexpr auto ip_literal_table = make_host_table(true);
constexpr auto digit_table = make_digit_table();

constexpr std::array<bool, 256> without(std::array<bool, 256> table, char excluded) {
    table[static_cast<unsigned char>(excluded)] = false;
    return table;
}
// Without "%": text made only of these characters holds no escape to check, which is the
// usual path and Host, looked at once. A plain path's scan also stops at the query's "?".
constexpr auto unescaped_path_table = without(path_table, '%');
constexpr auto unescaped_reg_name_table = without(reg_name_table, '%');
constexpr auto plain_path_table = without(unescaped_path_table, '?');

inline unsigned byte_allowed(const char* at, const std::array<bool, 256>& table) noexcept {
    return static_cast<unsigned>(table[static_cast<unsigned char>(*at)]);
}

inline bool word_allowed(const char* at, const std::array<bool, 256>& table) noexcept {
    return (byte_allowed(at, table) & byte_allowed(at + 1, table) & byte_allowed(at + 2, table) &
            byte_allowed(at + 3, table) & byte_allowed(at + 4, table) &
            byte_allowed(at + 5, table) & byte_allowed(at + 6, table) &
            byte_allowed(at + 7, table)) != 0;
}

// Eight lookups per branch and no byte loop: request lines and field names and values all
// pass through here. Past the whole words, the last eight bytes are checked again (overlapping
// the word before); a text shorter than a word falls through a switch.
bool all_of(std::string_view text, const std::array<bool, 256>& table) noexcept {
    auto allowed = [&table](const char* at) noexcept { return byte_allowed(at, table); };
    const char* at = text.data();
    const std::size_t size = text.size();
    if (size >= 8) {
        for (std::size_t offset = 0; offset + 8 < size; offset += 8) {
            if (!word_allowed(at + offset, table)) {
                return false;
            }
        }
        return word_allowed(at + size - 8, table);
    }
    unsigned all = 1;
    switch (size) {
        case 7:
            all &= allowed(at + 6);
            [[fallthrough]];
        case 6:
            all &= allowed(at + 5);
            [[fallthrough]];
        case 5:
            all &= allowed(at + 4);
            [[fallthrough]];
        case 4:
            all &= allowed(at + 3);
            [[fallthrough]];
        case 3:
            all &= allowed(at + 2);
            [[fallthrough]];
        case 2:
            all &= allowed(at + 1);
            [[fallthrough]];
        case 1:
            all &= allowed(at);
            [[fallthrough]];
        default:
            return all != 0;
    }
}

// How many bytes at the start of `text` are in `table`: for the short runs whose end matters
// (a Host's name before its port, a path before its query). Whole words while every byte is
// in the table; a tail shorter than a word is tried as the last eight bytes (overlapping
// bytes already found good), and only the word that holds the end goes byte by byte.
std::size_t span_of(std::string_view text, const std::array<bool, 256>& table) noexcept {
    const char* data = text.data();
    const std::size_t size = text.size();
    std::size_t at = 0;
    while (size - at >= 8 && word_allowed(data + at, table)) {
        at += 8;
    }
    if (size - at < 8 && at != size && size >= 8 && word_allowed(data + size - 8, table)) {
        return size;
    }
    while (at < size && byte_allowed(data + at, table) != 0) {
        ++at;
    }
    return at;
}

bool is_hex_digit(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ) after a chunk size
// (RFC 9112 §7.1.1): whitespace is allowed only around the separators.
bool are_chunk_extensions(std::string_view text) noexcept {
    std::size_t at = 0;
    auto skip_whitespace = [&] {
        while (at < text.size() && (text[at] == ' ' || text[at] == '\t')) {
            ++at;
        }
    };
    auto skip_token = [&] {
        std::size_t start = at;
        while (at < text.size() && token_table[static_cast<unsigned char>(text[at])]) {
            ++at;
        }
        return at > start;
    };
    auto skip_quoted_string = [&] {
        for (++at; at < text.size(); ++at) {
            char c = text[at];
            if (c == '"') {
                ++at;
                return true;
            }
            if (c == '\\') {
                ++at;  // quoted-pair: any value character follows
            }
            if (at == text.size() || !value_table[static_cast<unsigned char>(text[at])]) {
                return false;
            }
        }
        return false;
    };
    for (bool first = true;; first = false) {
        skip_whitespace();
        if (at == text.size()) {
            return !first || text.empty();  // whitespace after the size only before a ";"
        }
        if (text[at++] != ';') {
            return false;
        }
        skip_whitespace();
        if (!skip_token()) {
            return false;
        }
        skip_whitespace();
        if (at < text.size() && text[at] == '=') {
            ++at;
            skip_whitespace();
            bool value = at < text.size() && text[at] == '"' ? skip_quoted_string() : skip_token();
            if (!value) {
                return false;
            }
        }
    }
}

// Whether every "%" in `text` starts a pct-encoded octet (RFC 3986 §2.1); with
// `refuse_line_breaks`, also that none of them encodes NUL, CR or LF.
bool has_valid_escapes(std::string_view text, bool refuse_line_breaks) noexcept {
    for (std::size_t percent = text.find('%'); percent != std::string_view::npos;
         percent = text.find('%', percent + 1)) {
        if (text.size() - percent < 3 || !is_hex_digit(text[percent + 1]) ||
            !is_hex_digit(text[percent + 2])) {
            return false;
        }
        const std::string_view octet = text.substr(percent + 1, 2);
        if (refuse_line_breaks && (octet == "00" || equals_ignoring_case(octet, "0a") ||
                                   equals_ignoring_case(octet, "0d"))) {
            return false;
        }
    }
    return true;
}

// uri-host [":" port] (RFC 3986 §3.2.2-3.2.3, no userinfo): an IP literal in brackets or a
// reg-name (which covers IPv4 addresses), then an optional port made of digits.
bool is_valid_authority(std::string_view authority) noexcept {
    // The usual Host, a plain reg-name or IPv4 address and perhaps ":" and digits, in one pass;
    // anything else (an IP literal, an escape, a bad byte) is looked at again below.
    const std::size_t host_end = span_of(authority, unescaped_reg_name_table);
    if (host_end == authority.size() ||
        (authority[host_end] == ':' && all_of(authority.substr(host_end + 1), digit_table))) {
        return true;
    }
    std::string_view host = authority;
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        std::size_t close = authority.find(']');
        if (close == std::string_view::npos || close == 1 ||
            !all_of(authority.substr(1, close - 1), ip_literal_table)) {
            return false;
        }
        host = {};
        port = authority.substr(close + 1);
        if (!port.empty() && port.front() != ':') {
            return false;
        }
    } else if (std::size_t colon = authority.find(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon);
    }
    const bool host_valid = all_of(host, unescaped_reg_name_table) ||
                            (all_of(host, reg_name_table) && has_valid_escapes(host, false));
    return host_valid && all_of(port.substr(port.empty() ? 0 : 1), digit_table);
}

// A request path: URI path characters only, and escapes that are neither malformed nor NUL,
// CR or LF, which have no business in a path and, decoded, truncate it or split a line
// wherever it is passed on (RFC 3986 §2.1, §3.3).
bool is_valid_path(std::string_view path) noexcept {
    return all_of(path, unescaped_path_table) ||
           (all_of(path, path_table) && has_valid_escapes(path, true));
}

// Calls `visit` for each non-empty element of a comma-separated list.
template <class Visit>
void for_each_element(std::string_view list, Visit visit) {
    while (!list.empty()) {
        std::size_t comma = list.find(',');
        std::string_view element = trim_whitespace(list.substr(0, comma));
        if (!element.empty()) {
            visit(element);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        list.remove_prefix(comma + 1);
    }
}

// The outcome of looking for the end of a head: where it ends, or an error code.
struct HeadScan {
    enum class Result { incomplete, found, bare_line_feed, line_too_long, head_too_large };
    Result result = Result::incomplete;
    std::size_t end = 0;  // one past the blank line
};

// Finds the blank line that ends a head starting at `start`. Every LF must follow a CR.
// `scanned` carries the progress between calls so partial heads are scanned once. Limits are
// checked in stream order (the first line, then the head), so the outcome does not depend on
// how the bytes were split into reads.
HeadScan find_head_end(std::string_view buffer, std::size_t start, std::size_t& scanned,
                       const ParserLimits& limits) {
    const char* data = buffer.data();
    std::string_view pending = buffer.substr(start);
    std::size_t first_line_length = std::min(pending.find('\n'), pending.size());
    if (first_line_length > limits.max_request_line + 1) {
        return {HeadScan::Result::line_too_long, 0};
    }
    // Nothing past the largest allowed head is looked at.
    std::size_t scan_end = std::min(buffer.size(), start + limits.max_head_size + 1);
    std::size_t position = std::max(scanned, start);
    while (position < scan_end) {
        const void* found = std::memchr(data + position, '\n', scan_end - position);
        if (found == nullptr) {
            break;
        }
        std::size_t newline = static_cast<std::size_t>(static_cast<const char*>(found) - data);
        if (newline == start || data[newline - 1] != '\r') {
            return {HeadScan::Result::bare_line_feed, 0};
        }
        if (newline >= start + 3 && data[newline - 2] == '\n') {
            return {HeadScan::Result::found, newline + 1};
        }
        position = newline + 1;
    }
    scanned = std::max(position, scan_end);
    if (pending.size() > limits.max_head_size) {
        return {HeadScan::Result::head_too_large, 0};
    }
    return {};
}

// Splits the head into lines (without CRLF); the first line is returned separately.
// Returns false (with a reason) on a malformed field line.
struct FieldParse {
    bool ok = true;
    int status = 400;
    std::string reason;
};

// The common case in one pass over the bytes: lines of "name:value\r\n" made of token and
// value characters, from `at` up to a line that starts with CR (the blank line) or `end`.
// Returns where it stopped, or nullptr for anything else (and at the field limit): the careful
// parse below then gives the reason.
const char* scan_plain_fields(const char* at, const char* end, std::vector<HeaderField>& fields,
                              std::size_t max_count) {
    fields.clear();
    auto in = [](const std::array<bool, 256>& table, char c) {
        return table[static_cast<unsigned char>(c)];
    };
    while (at != end && *at != '\r') {
        const char* name = at;
        while (at != end && in(token_table, *at)) {
            ++at;
        }
        if (at == name || at == end || *at != ':') {
            return nullptr;
        }
        const char* colon = at++;
        const char* value = at;
        // Up to the CR, in words; a tab (allowed in a value) goes on byte by byte.
        at = detail::find_control_byte(at, end);
        while (at != end && in(value_table, *at)) {
            ++at;
        }
        if (end - at < 2 || at[0] != '\r' || at[1] != '\n' || fields.size() >= max_count) {
            return nullptr;
        }
        fields.push_back(
            {std::string_view(name, static_cast<std::size_t>(colon - name)),
             trim_whitespace(std::string_view(value, static_cast<std::size_t>(at - value)))});
        at += 2;
    }
    return at;
}

// Whether `at`, where scan_plain_fields stopped, is a complete blank line.
bool is_blank_line(const char* at, const char* end) noexcept {
    return end - at >= 2 && at[0] == '\r' && at[1] == '\n';
}

// The fields of a block that ends with the blank line (or without it), all plain.
bool parse_plain_fields(std::string_view block, std::vector<HeaderField>& fields,
                        std::size_t max_count) {
    const char* end = block.data() + block.size();
    const char* stop = scan_plain_fields(block.data(), end, fields, max_count);
    return stop != nullptr && (stop == end || is_blank_line(stop, end));
}

FieldParse parse_fields(std::string_view block, std::vector<HeaderField>& fields,
                        std::size_t max_count) {
    if (parse_plain_fields(block, fields, max_count)) {
        return {};
    }
    fields.clear();
    while (!block.empty()) {
        std::size_t line_end = block.find("\r\n");
        std::string_view line = block.substr(0, line_end);
        block.remove_prefix(line_end == std::string_view::npos ? block.size() : line_end + 2);
        if (line.empty()) {
            break;
        }
        if (line.front() == ' ' || line.front() == '\t') {
            return {false, 400, "obsolete line folding in a header field"};
        }
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) {
            return {false, 400, "header line without a colon"};
        }
        std::string_view name = line.substr(0, colon);
        if (name.empty() || !all_of(name, token_table)) {
            return {false, 400, "invalid header field name"};
        }
        std::string_view value = line.substr(colon + 1);
        if (!all_of(value, value_table)) {
            return {false, 400,
                    "invalid character in the value of header '" + std::string(name) + "'"};
        }
        if (fields.size() >= max_count) {
            return {false, 431, "too many header fields (limit " + std::to_string(max_count) + ")"};
        }
        fields.push_back({name, trim_whitespace(value)});
    }
    return {};
}

// Parses "HTTP/x.y". Returns 0 on success, else the status to answer.
int parse_version(std::string_view text, Version& version) noexcept {
    if (text.size() != 8 || text.substr(0, 5) != "HTTP/" || text[6] != '.' || text[5] < '0' ||
        text[5] > '9' || text[7] < '0' || text[7] > '9') {
        return 400;
    }
    if (text[5] != '1') {
        return 505;
    }
    version = text[7] == '0' ? Version::http_1_0 : Version::http_1_1;
    return 0;
}

// Content-Length: every value (including list members) must be the same 1*DIGIT.
bool parse_content_length(const HeaderFields& fields, std::optional<std::uint64_t>& length) {
    bool valid = true;
    for (const HeaderField& field : fields) {
        if (!equals_lowercase(field.name, "content-length")) {
            continue;
        }
        std::size_t elements = 0;
        for_each_element(field.value, [&](std::string_view element) {
            ++elements;
            std::uint64_t value = 0;
            for (char c : element) {
                if (c < '0' || c > '9' || value > (std::uint64_t{1} << 60)) {
                    valid = false;
                    return;
                }
                value = value * 10 + static_cast<std::uint64_t>(c - '0');
            }
            if (length && *length != value) {
                valid = false;
            }
            length = value;
        });
        // "" or "," carries no length: invalid, not absent. Only the same value repeated may
        // form a list (RFC 9110 §8.6), so an empty member ("5," or ",5") is invalid too.
        const auto commas =
            static_cast<std::size_t>(std::count(field.value.begin(), field.value.end(), ','));
        if (!valid || elements == 0 || elements != commas + 1) {
            return false;
        }
    }
    return valid;
}

// Transfer-Encoding codings in order (all fields combined).
std::vector<std::string_view> transfer_codings(const HeaderFields& fields) {
    std::vector<std::string_view> codings;
    for (const HeaderField& field : fields) {
        if (equals_lowercase(field.name, "transfer-encoding")) {
            for_each_element(field.value, [&](std::string_view coding) {
                codings.push_back(coding.substr(0, coding.find(';')));  // parameters ignored
            });
        }
    }
    return codings;
}

// Whether a Transfer-Encoding member is "chunked" with parameters, which that coding does not
// define: an error (RFC 9112 §7.1), and a smuggling vector wherever "chunked;x" is not chunked.
bool has_chunked_with_parameters(const HeaderFields& fields) {
    bool found = false;
    for (const HeaderField& field : fields) {
        if (equals_lowercase(field.name, "transfer-encoding")) {
            for_each_element(field.value, [&](std::string_view coding) {
                std::size_t semicolon = coding.find(';');
                found = found || (semicolon != std::string_view::npos &&
                                  equals_ignoring_case(trim_whitespace(coding.substr(0, semicolon)),
                                                       "chunked"));
            });
        }
    }
    return found;
}

bool is_known_coding(std::string_view coding) noexcept {
    for (std::string_view known :
         {"chunked", "gzip", "x-gzip", "deflate", "compress", "identity"}) {
        if (equals_ignoring_case(trim_whitespace(coding), known)) {
            return true;
        }
    }
    return false;
}

// The Expect fields: whether they ask for 100-continue, and whether they ask for anything
// else, which this server cannot meet (RFC 9110 §10.1.1: 100-continue is the only
// expectation HTTP defines).
struct Expectations {
    bool continue_100 = false;
    bool unknown = false;
};

Expectations read_expectations(const HeaderFields& fields) {
    Expectations found;
    for (const HeaderField& field : fields) {
        if (equals_lowercase(field.name, "expect")) {
            for_each_element(field.value, [&found](std::string_view expectation) {
                bool is_continue = equals_ignoring_case(expectation, "100-continue");
                found.continue_100 = found.continue_100 || is_continue;
                found.unknown = found.unknown || !is_continue;
            });
        }
    }
    return found;
}

bool connection_has(const HeaderFields& fields, std::string_view token) noexcept {
    for (const HeaderField& field : fields) {
        if (equals_lowercase(field.name, "connection") && list_contains_token(field.value, token)) {
            return true;
        }
    }
    return false;
}

}  // namespace

// --- helpers ----------------------------------------------------------------------------------

bool is_token(std::string_view text) noexcept {
    return !text.empty() && all_of(text, token_table);
}

// --- HeaderFields -------------------------------------------------------------------------------

std::optional<std::string_view> HeaderFields::get(std::string_view name) const noexcept {
    for (const HeaderField& field : fields_) {
        if (equals_ignoring_case(field.name, name)) {
            return field.value;
        }
    }
    return std::nullopt;
}

std::string_view HeaderFields::get_or(std::string_view name,
                                      std::string_view fallback) const noexcept {
    auto value = get(name);
    return value ? *value : fallback;
}

std::size_t HeaderFields::count(std::string_view name) const noexcept {
    std::size_t count = 0;
    for (const HeaderField& field : fields_) {
        count += equals_ignoring_case(field.name, name) ? 1 : 0;
    }
    return count;
}

HTTPHeaders HeaderFields::to_headers() const {
    HTTPHeaders headers;
    for (const HeaderField& field : fields_) {
        headers.add(field.name, field.value);
    }
    return headers;
}

// --- RequestParser ----------------------------------------------------------------------------

RequestParser::RequestParser(ParserLimits limits) : limits_(limits) {
    fields_.reserve(std::min<std::size_t>(limits_.max_header_count, 8));
}

void RequestParser::reset() noexcept {
    // Default-initialised in place: `head_ = RequestHead{}` zeroes a temporary with a string
    // instruction whose start-up cost showed in every request's profile. The members' own
    // initialisers still set every one of them.
    static_assert(std::is_trivially_destructible_v<RequestHead>);
    ::new (static_cast<void*>(&head_)) RequestHead;
    fields_.clear();
    error_.status = 400;
    error_.reason.clear();
    scanned_ = 0;
    head_size_ = 0;
}

// A request line over the limit is a URI too long (414), unless what is long is the method:
// no method we know is longer than this, and the target is not to blame (RFC 9112 §3).
ParseStatus RequestParser::fail_long_request_line(std::string_view line) {
    constexpr std::size_t longest_method = 32;
    // No further than the limit: the outcome must not depend on how much has arrived.
    const std::size_t looked_at = std::min(longest_method + 1, limits_.max_request_line);
    if (line.substr(0, looked_at).find(' ') == std::string_view::npos) {
        return fail(400, "request method too long");
    }
    return fail(414,
                "request line longer than " + std::to_string(limits_.max_request_line) + " bytes");
}

ParseStatus RequestParser::fail(int status, std::string reason) {
    error_.status = status;
    error_.reason = std::move(reason);
    return ParseStatus::error;
}

ParseStatus RequestParser::parse(std::string_view buffer) {
    // Empty lines before the request line are ignored (RFC 9112 §2.2).
    std::size_t start = 0;
    while (buffer.size() >= start + 2 && buffer[start] == '\r' && buffer[start + 1] == '\n') {
        start += 2;
        if (start > limits_.max_request_line) {
            return fail(400, "too many empty lines before the request");
        }
    }
    if (buffer.size() > start && buffer[start] == '\n') {
        return fail(400, "bare LF before the request line");
    }
    if (scanned_ == 0) {
        if (std::optional<ParseStatus> status = parse_whole_plain_head(buffer, start)) {
            return *status;
        }
        reset();  // what the fast path took is left to the careful parse (nothing was scanned)
    }
    HeadScan scan = find_head_end(buffer, start, scanned_, limits_);
    switch (scan.result) {
        case HeadScan::Result::incomplete:
            return ParseStatus::incomplete;
        case HeadScan::Result::bare_line_feed:
            return fail(400, "line ending without CR (bare LF)");
        case HeadScan::Result::line_too_long:
            return fail_long_request_line(buffer.substr(start));
        case HeadScan::Result::head_too_large:
            return fail(431, "request head larger than " + std::to_string(limits_.max_head_size) +
                                 " bytes");
        case HeadScan::Result::found:
            break;
    }
    if (scan.end - start > limits_.max_head_size) {
        return fail(431,
                    "request head larger than " + std::to_string(limits_.max_head_size) + " bytes");
    }
    std::string_view head = buffer.substr(start, scan.end - start);
    std::size_t line_end = head.find("\r\n");
    if (line_end > limits_.max_request_line) {
        return fail_long_request_line(head);
    }
    if (!parse_request_line(head.substr(0, line_end))) {
        return ParseStatus::error;
    }
    FieldParse fields = parse_fields(head.substr(line_end + 2), fields_, limits_.max_header_count);
    if (!fields.ok) {
        return fail(fields.status, std::move(fields.reason));
    }
    head_.headers = HeaderFields(fields_);
    if (!apply_semantics()) {
        return ParseStatus::error;
    }
    head_size_ = scan.end;
    return ParseStatus::complete;
}

// The usual head, in one pass: all of it already buffered, every line ending with CRLF and
// made of plain token and value bytes. Anything else (a head still arriving, a bad byte, a
// limit, a malformed request line) returns nullopt and is left to the careful parse, which
// finds the same errors in the same order as when the head arrives in pieces. Tried only on
// a head's first bytes: the careful parse keeps its progress, and a head that trickles in is
// not scanned again and again.
std::optional<ParseStatus> RequestParser::parse_whole_plain_head(std::string_view buffer,
                                                                 std::size_t start) {
    if (buffer.size() <= start) {
        return std::nullopt;  // nothing yet (and an empty view's data() may be null)
    }
    const char* line = buffer.data() + start;
    const char* end = buffer.data() + buffer.size();
    const std::size_t line_limit = std::min(limits_.max_request_line, limits_.max_head_size);
    const auto* newline = static_cast<const char*>(
        std::memchr(line, '\n', std::min<std::size_t>(end - line, line_limit + 2)));
    if (newline == nullptr || newline == line || newline[-1] != '\r' ||
        !parse_request_line(std::string_view(line, static_cast<std::size_t>(newline - 1 - line)))) {
        return std::nullopt;
    }
    const char* stop = scan_plain_fields(newline + 1, end, fields_, limits_.max_header_count);
    if (stop == nullptr || !is_blank_line(stop, end) ||
        static_cast<std::size_t>(stop + 2 - line) > limits_.max_head_size) {
        return std::nullopt;
    }
    head_.headers = HeaderFields(fields_);
    if (!apply_semantics()) {
        return ParseStatus::error;
    }
    head_size_ = static_cast<std::size_t>(stop + 2 - buffer.data());
    return ParseStatus::complete;
}

bool RequestParser::parse_request_line(std::string_view line) {
    std::size_t first_space = line.find(' ');
    std::size_t last_space = line.rfind(' ');
    if (first_space == std::string_view::npos || first_space == last_space) {
        fail(400, "malformed request line");
        return false;
    }
    head_.method = line.substr(0, first_space);
    head_.target = line.substr(first_space + 1, last_space - first_space - 1);
    std::string_view version = line.substr(last_space + 1);
    if (!is_token(head_.method)) {
        fail(400, "invalid method");
        return false;
    }
    // The usual target, a path without escapes and a query, has its bytes checked once.
    const bool plain_origin_form = take_plain_origin_form();
    if (!plain_origin_form && (head_.target.empty() || !all_of(head_.target, target_table))) {
        fail(400, "invalid request target");
        return false;
    }
    if (int status = parse_version(version, head_.version); status != 0) {
        fail(status, status == 505 ? "HTTP version not supported" : "malformed HTTP version");
        return false;
    }
    return plain_origin_form || parse_target();
}

// An origin-form target whose path has only path characters and no escape, and whose query
// only target characters: what parse_target() would accept, and set, for it.
bool RequestParser::take_plain_origin_form() {
    const std::string_view target = head_.target;
    if (target.empty() || target.front() != '/' || head_.method == "CONNECT") {
        return false;
    }
    // The path is scanned up to the first byte that is not a path character: the end, or a
    // "?" and the query.
    const std::size_t path_end = span_of(target, plain_path_table);
    const std::string_view path = target.substr(0, path_end);
    std::string_view query;
    if (path_end != target.size()) {
        query = target.substr(path_end + 1);
        if (target[path_end] != '?' || !all_of(query, target_table)) {
            return false;
        }
    }
    head_.form = TargetForm::origin;
    head_.path = path;
    head_.query = query;
    return true;
}

bool RequestParser::parse_target() {
    std::string_view target = head_.target;
    const bool is_connect = head_.method == "CONNECT";
    if (target == "*") {
        if (head_.method != "OPTIONS") {
            fail(400, "asterisk-form target is only for OPTIONS");
            return false;
        }
        head_.form = TargetForm::asterisk;
        head_.path = target;
        return true;
    }
    if (is_connect) {
        // authority-form is uri-host ":" port (RFC 9112 §3.2.3): the port is not optional.
        std::size_t colon = target.rfind(':');
        if (colon == std::string_view::npos || colon + 1 == target.size() || target.back() == ']' ||
            !is_valid_authority(target)) {
            fail(400, "CONNECT needs an authority-form target (host:port)");
            return false;
        }
        head_.form = TargetForm::authority;
        head_.authority = target;
        return true;
    }
    if (target.front() != '/') {
        // absolute-form: scheme "://" authority [path] (RFC 9112 §3.2.2)
        std::size_t scheme_end = target.find("://");
        std::string_view scheme = target.substr(0, scheme_end);
        if (scheme_end == std::string_view::npos ||
            !(equals_ignoring_case(scheme, "http") || equals_ignoring_case(scheme, "https"))) {
            fail(400, "request target is neither a path nor an http(s) URI");
            return false;
        }
        std::string_view rest = target.substr(scheme_end + 3);
        std::size_t path_start = rest.find_first_of("/?");
        head_.authority = rest.substr(0, path_start);
        if (head_.authority.empty() || !is_valid_authority(head_.authority)) {
            fail(400, "invalid authority in the request target");
            return false;
        }
        head_.form = TargetForm::absolute;
        target =
            path_start == std::string_view::npos ? std::string_view("/") : rest.substr(path_start);
        if (target.front() == '?') {
            head_.path = "/";
            head_.query = target.substr(1);
            return true;
        }
    }
    std::size_t question = target.find('?');
    head_.path = target.substr(0, question);
    head_.query =
        question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
    if (!is_valid_path(head_.path)) {
        fail(400, "invalid character or escape in the request path");
        return false;
    }
    return true;
}

namespace {

// The fields that framing and the connection depend on, found in one pass (by length first:
// most names are compared no further).
struct FramingFields {
    std::size_t hosts = 0;
    std::string_view host;
    bool content_length = false;
    bool transfer_encoding = false;
    bool connection = false;
    bool upgrade = false;
    bool expect = false;
    bool preconditions = false;
};

// If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since, If-Range (RFC 9110 §13.1).
bool is_precondition_name(std::string_view name) noexcept {
    return name.size() > 3 && (name[0] | 0x20) == 'i' && (name[1] | 0x20) == 'f' && name[2] == '-';
}

FramingFields find_framing_fields(const HeaderFields& fields) noexcept {
    FramingFields found;
    for (const HeaderField& field : fields) {
        std::string_view name = field.name;
        found.preconditions = found.preconditions || is_precondition_name(name);
        switch (name.size()) {
            case 4:
                if (equals_lowercase(name, "host") && found.hosts++ == 0) {
                    found.host = field.value;
                }
                break;
            case 6:
                found.expect = found.expect || equals_lowercase(name, "expect");
                break;
            case 7:
                found.upgrade = found.upgrade || equals_lowercase(name, "upgrade");
                break;
            case 10:
                found.connection = found.connection || equals_lowercase(name, "connection");
                break;
            case 14:
                found.content_length =
                    found.content_length || equals_lowercase(name, "content-length");
                break;
            case 17:
                found.transfer_encoding =
                    found.transfer_encoding || equals_lowercase(name, "transfer-encoding");
                break;
            default:
                break;
        }
    }
    return found;
}

}  // namespace

bool RequestParser::apply_semantics() {
    const HeaderFields& fields = head_.headers;
    const FramingFields found = find_framing_fields(fields);
    std::size_t hosts = found.hosts;
    if (hosts > 1) {
        fail(400, "more than one Host header");
        return false;
    }
    if (hosts == 0 && head_.version == Version::http_1_1) {
        fail(400, "HTTP/1.1 request without a Host header");
        return false;
    }
    std::string_view host = found.host;
    if (!is_valid_authority(host)) {
        fail(400, "invalid Host header");
        return false;
    }
    // An empty Host is for URIs without an authority, and an http URI with an empty host is
    // invalid (RFC 9110 §4.2.1): refused unless an absolute-form target names the host.
    if (hosts == 1 && host.empty() && head_.authority.empty()) {
        fail(400, "empty Host header");
        return false;
    }
    if (head_.authority.empty()) {
        head_.authority = host;
    }
    head_.preconditions = found.preconditions;

    std::optional<std::uint64_t> content_length;
    if (found.content_length && !parse_content_length(fields, content_length)) {
        fail(400, "invalid or conflicting Content-Length");
        return false;
    }
    if (found.transfer_encoding) {
        std::vector<std::string_view> codings = transfer_codings(fields);
        if (head_.version == Version::http_1_0) {
            fail(400, "Transfer-Encoding in an HTTP/1.0 request");
            return false;
        }
        if (content_length) {
            fail(400, "both Content-Length and Transfer-Encoding");
            return false;
        }
        if (has_chunked_with_parameters(fields)) {
            fail(400, "the chunked transfer coding takes no parameters");
            return false;
        }
        std::size_t chunked_count = 0;
        for (std::string_view coding : codings) {
            if (!is_known_coding(coding)) {
                fail(501, "unsupported transfer coding '" + std::string(coding) + "'");
                return false;
            }
            chunked_count += equals_ignoring_case(trim_whitespace(coding), "chunked") ? 1 : 0;
        }
        if (codings.empty() || !equals_ignoring_case(trim_whitespace(codings.back()), "chunked") ||
            chunked_count != 1) {
            fail(400, "Transfer-Encoding must end with chunked, once");
            return false;
        }
        if (codings.size() > 1) {
            fail(501, "transfer codings other than chunked are not supported");
            return false;
        }
        head_.framing = BodyFraming::chunked;
    } else if (content_length && *content_length > 0) {
        head_.framing = BodyFraming::content_length;
        head_.content_length = *content_length;
    }

    bool close = found.connection && connection_has(fields, "close");
    head_.keep_alive = head_.version == Version::http_1_1
                           ? !close
                           : (!close && found.connection && connection_has(fields, "keep-alive"));
    // Expect is HTTP/1.1's: an HTTP/1.0 request's is ignored (RFC 9110 §10.1.1), and such a
    // client gets no 1xx (§15.2).
    if (found.expect && head_.version == Version::http_1_1) {
        Expectations expectations = read_expectations(fields);
        if (expectations.unknown) {
            fail(417, "the only expectation this server meets is 100-continue");
            return false;
        }
        head_.expect_continue = expectations.continue_100 && head_.framing != BodyFraming::none;
    }
    // An HTTP/1.0 request's Upgrade is ignored (RFC 9110 §7.8).
    head_.upgrade = head_.version == Version::http_1_1 && found.upgrade && found.connection &&
                    connection_has(fields, "upgrade");
    return true;
}

// --- ResponseParser ---------------------------------------------------------------------------

ResponseParser::ResponseParser(ParserLimits limits) : limits_(limits) {
    fields_.reserve(std::min<std::size_t>(limits_.max_header_count, 8));
}

void ResponseParser::reset() noexcept {
    head_ = ResponseHead{};
    fields_.clear();
    error_ = ParseError{};
    scanned_ = 0;
    head_size_ = 0;
}

ParseStatus ResponseParser::fail(std::string reason) {
    error_.status = 0;
    error_.reason = std::move(reason);
    return ParseStatus::error;
}

ParseStatus ResponseParser::parse(std::string_view buffer, bool request_was_head) {
    HeadScan scan = find_head_end(buffer, 0, scanned_, limits_);
    switch (scan.result) {
        case HeadScan::Result::incomplete:
            return ParseStatus::incomplete;
        case HeadScan::Result::bare_line_feed:
            return fail("response line ending without CR (bare LF)");
        case HeadScan::Result::line_too_long:
            return fail("status line longer than " + std::to_string(limits_.max_request_line) +
                        " bytes");
        case HeadScan::Result::head_too_large:
            return fail("response head larger than " + std::to_string(limits_.max_head_size) +
                        " bytes");
        case HeadScan::Result::found:
            break;
    }
    if (scan.end > limits_.max_head_size) {
        return fail("response head larger than " + std::to_string(limits_.max_head_size) +
                    " bytes");
    }
    std::string_view head = buffer.substr(0, scan.end);
    std::size_t line_end = head.find("\r\n");
    if (!parse_status_line(head.substr(0, line_end))) {
        return ParseStatus::error;
    }
    FieldParse fields = parse_fields(head.substr(line_end + 2), fields_, limits_.max_header_count);
    if (!fields.ok) {
        return fail(std::move(fields.reason));
    }
    head_.headers = HeaderFields(fields_);
    if (!apply_semantics(request_was_head)) {
        return ParseStatus::error;
    }
    head_size_ = scan.end;
    return ParseStatus::complete;
}

bool ResponseParser::parse_status_line(std::string_view line) {
    if (line.size() < 12 || line[8] != ' ') {
        fail("malformed status line");
        return false;
    }
    int status = parse_version(line.substr(0, 8), head_.version);
    if (status != 0) {
        fail("unsupported or malformed HTTP version in the status line");
        return false;
    }
    std::string_view code = line.substr(9, 3);
    if (code[0] < '1' || code[0] > '5' || code[1] < '0' || code[1] > '9' || code[2] < '0' ||
        code[2] > '9') {
        fail("malformed status code");
        return false;
    }
    head_.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    if (line.size() > 12 && line[12] != ' ') {
        fail("malformed status line");
        return false;
    }
    head_.reason = line.size() > 13 ? line.substr(13) : std::string_view();
    if (!all_of(head_.reason, value_table)) {
        fail("invalid character in the reason phrase");
        return false;
    }
    return true;
}

bool ResponseParser::apply_semantics(bool request_was_head) {
    const HeaderFields& fields = head_.headers;
    std::optional<std::uint64_t> content_length;
    if (!parse_content_length(fields, content_length)) {
        fail("invalid or conflicting Content-Length in the response");
        return false;
    }
    bool close = connection_has(fields, "close");
    head_.keep_alive = head_.version == Version::http_1_1
                           ? !close
                           : (!close && connection_has(fields, "keep-alive"));
    if (request_was_head || !status_allows_body(head_.status)) {
        head_.framing = BodyFraming::none;
        return true;
    }
    std::vector<std::string_view> codings = transfer_codings(fields);
    if (fields.contains("transfer-encoding") && head_.version == Version::http_1_1) {
        if (!codings.empty() && equals_ignoring_case(codings.back(), "chunked")) {
            head_.framing = BodyFraming::chunked;
        } else {
            head_.framing = BodyFraming::until_close;  // RFC 9112 §6.3 rule 4
            head_.keep_alive = false;
        }
        return true;
    }
    if (content_length) {
        head_.framing = *content_length > 0 ? BodyFraming::content_length : BodyFraming::none;
        head_.content_length = *content_length;
        return true;
    }
    head_.framing = BodyFraming::until_close;
    head_.keep_alive = false;
    return true;
}

// --- ChunkedDecoder ---------------------------------------------------------------------------

void ChunkedDecoder::reset() noexcept {
    state_ = State::size_line;
    remaining_ = 0;
    trailer_bytes_ = 0;
    trailers_.clear();
    error_ = ParseError{};
}

ChunkedDecoder::Result ChunkedDecoder::fail(std::string reason, int status) {
    error_.status = status;
    error_.reason = std::move(reason);
    return {Status::error, {}, 0};
}

ChunkedDecoder::Result ChunkedDecoder::decode(std::string_view input) {
    std::size_t used = 0;
    while (true) {
        std::string_view rest = input.substr(used);
        switch (state_) {
            case State::size_line: {
                std::size_t line_end = rest.find('\n');
                if (line_end == std::string_view::npos) {
                    if (rest.size() > limits_.max_chunk_line) {
                        return fail("chunk size line too long");
                    }
                    return {Status::need_more, {}, used};
                }
                if (line_end == 0 || rest[line_end - 1] != '\r') {
                    return fail("chunk size line without CRLF");
                }
                if (line_end > limits_.max_chunk_line) {
                    return fail("chunk size line too long");
                }
                std::string_view line = rest.substr(0, line_end - 1);
                std::size_t digit_count = 0;
                while (digit_count < line.size() && is_hex_digit(line[digit_count])) {
                    ++digit_count;
                }
                if (digit_count == 0 || digit_count > 15) {
                    return fail("invalid chunk size");
                }
                if (!are_chunk_extensions(line.substr(digit_count))) {
                    return fail("invalid chunk extension");
                }
                std::uint64_t size = 0;
                for (char c : line.substr(0, digit_count)) {
                    int value = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
                    size = size * 16 + static_cast<std::uint64_t>(value);
                }
                used += line_end + 1;
                remaining_ = size;
                state_ = size == 0 ? State::trailers : State::data;
                break;
            }
            case State::data: {
                if (rest.empty()) {
                    return {Status::need_more, {}, used};
                }
                std::size_t take =
                    static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, rest.size()));
                remaining_ -= take;
                if (remaining_ != 0 || rest.size() < take + 2) {
                    state_ = remaining_ == 0 ? State::data_end : State::data;
                    return {Status::data, rest.substr(0, take), used + take};
                }
                // The CRLF after the data is here already: checked before the data is handed
                // out, so that a malformed body is refused before any of it is used.
                if (rest[take] != '\r' || rest[take + 1] != '\n') {
                    return fail("chunk data not followed by CRLF");
                }
                state_ = State::size_line;
                return {Status::data, rest.substr(0, take), used + take + 2};
            }
            case State::data_end: {
                if (rest.size() < 2) {
                    return {Status::need_more, {}, used};
                }
                if (rest[0] != '\r' || rest[1] != '\n') {
                    return fail("chunk data not followed by CRLF");
                }
                used += 2;
                state_ = State::size_line;
                break;
            }
            case State::trailers: {
                std::size_t line_end = rest.find('\n');
                if (line_end == std::string_view::npos) {
                    if (trailer_bytes_ + rest.size() > limits_.max_trailer_size) {
                        return fail("trailer section too large", 431);
                    }
                    return {Status::need_more, {}, used};
                }
                if (line_end == 0 || rest[line_end - 1] != '\r') {
                    return fail("trailer line without CRLF");
                }
                trailer_bytes_ += line_end + 1;
                if (trailer_bytes_ > limits_.max_trailer_size) {
                    return fail("trailer section too large", 431);
                }
                std::string_view line = rest.substr(0, line_end - 1);
                used += line_end + 1;
                if (line.empty()) {
                    state_ = State::finished;
                    return {Status::done, {}, used};
                }
                std::size_t colon = line.find(':');
                if (colon == std::string_view::npos || colon == 0 ||
                    !is_token(line.substr(0, colon)) ||
                    !all_of(line.substr(colon + 1), value_table)) {
                    return fail("malformed trailer field");
                }
                trailers_.add(line.substr(0, colon), trim_whitespace(line.substr(colon + 1)));
                break;
            }
            case State::finished:
                return {Status::done, {}, used};
        }
    }
}

}  // namespace gale::http
