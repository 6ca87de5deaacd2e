// multipart/form-data parsing in linear time, with limits.

#include <gale/web/multipart.hpp>

#include <gale/http/headers.hpp>

#include "web/escape_internal.hpp"

#include <string.h>  // memmem (GNU): a linear-time (two-way) substring search

#include <algorithm>
#include <optional>
#include <utility>

namespace gale::web {

namespace {

using detail::quote_for_message;

[[noreturn]] void fail(const std::string& reason) {
    throw MultipartError("invalid multipart/form-data: " + reason);
}

bool is_token_character(char c) {
    return detail::is_ascii_alphanumeric(c) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_control(char c) {
    auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && c != '\t') || byte == 0x7F;
}

// A header value with its parameters: `type; name=value; name="quoted"`.
struct ParameterizedValue {
    std::string_view value;
    std::vector<std::pair<std::string, std::string>> parameters;  // lowercase names

    const std::string* find(std::string_view name) const {
        for (const auto& [key, parameter] : parameters) {
            if (key == name) {
                return &parameter;
            }
        }
        return nullptr;
    }
};

class ParameterParser {
  public:
    ParameterParser(std::string_view text, std::string_view what) : text_(text), what_(what) {}

    ParameterizedValue parse() {
        ParameterizedValue result;
        std::size_t semicolon = text_.find(';');
        result.value = http::trim_whitespace(text_.substr(0, semicolon));
        position_ = semicolon == std::string_view::npos ? text_.size() : semicolon;
        while (true) {
            skip_spaces();
            if (position_ == text_.size()) {
                return result;
            }
            if (text_[position_] != ';') {
                error("expected ';' at offset " + std::to_string(position_));
            }
            ++position_;
            skip_spaces();
            if (position_ == text_.size() || text_[position_] == ';') {
                continue;  // an empty parameter, as some clients send
            }
            auto [name, value] = parse_parameter();
            for (const auto& existing : result.parameters) {
                if (existing.first == name) {
                    error("parameter \"" + name + "\" is repeated");
                }
            }
            result.parameters.emplace_back(std::move(name), std::move(value));
        }
    }

  private:
    std::pair<std::string, std::string> parse_parameter() {
        std::size_t name_start = position_;
        while (position_ < text_.size() && is_token_character(text_[position_])) {
            ++position_;
        }
        if (position_ == name_start) {
            error("bad parameter name at offset " + std::to_string(name_start));
        }
        std::string name =
            detail::ascii_lowercase(text_.substr(name_start, position_ - name_start));
        skip_spaces();
        if (position_ == text_.size() || text_[position_] != '=') {
            error("parameter \"" + name + "\" has no value");
        }
        ++position_;
        skip_spaces();
        std::string value = position_ < text_.size() && text_[position_] == '"'
                                ? parse_quoted_string(name)
                                : parse_unquoted_value(name);
        return {std::move(name), std::move(value)};
    }

    std::string parse_quoted_string(const std::string& name) {
        ++position_;  // the opening quote
        std::string value;
        while (position_ < text_.size()) {
            char c = text_[position_++];
            if (c == '"') {
                return value;
            }
            if (c == '\\') {
                if (position_ == text_.size()) {
                    break;
                }
                c = text_[position_++];
            }
            if (is_control(c)) {
                error("control character in parameter \"" + name + "\"");
            }
            value += c;
        }
        error("unterminated quoted string in parameter \"" + name + "\"");
    }

    // Lenient: anything up to the next ';' (raw UTF-8 included), but not controls.
    std::string parse_unquoted_value(const std::string& name) {
        std::size_t start = position_;
        while (position_ < text_.size() && text_[position_] != ';') {
            if (is_control(text_[position_])) {
                error("control character in parameter \"" + name + "\"");
            }
            ++position_;
        }
        std::string_view value = http::trim_whitespace(text_.substr(start, position_ - start));
        if (value.empty()) {
            error("parameter \"" + name + "\" has an empty value");
        }
        return std::string(value);
    }

    void skip_spaces() {
        while (position_ < text_.size() && (text_[position_] == ' ' || text_[position_] == '\t')) {
            ++position_;
        }
    }

    [[noreturn]] void error(const std::string& reason) const {
        fail("bad " + std::string(what_) + " " + quote_for_message(text_, 100) + ": " + reason);
    }

    std::string_view text_;
    std::string_view what_;
    std::size_t position_ = 0;
};

bool is_boundary_character(char c) {
    return detail::is_ascii_alphanumeric(c) ||
           std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

// RFC 5987 ext-value: charset "'" [language] "'" percent-encoded value.
std::string decode_extended_value(std::string_view text) {
    std::size_t first_quote = text.find('\'');
    std::size_t second_quote =
        first_quote == std::string_view::npos ? first_quote : text.find('\'', first_quote + 1);
    if (second_quote == std::string_view::npos) {
        fail("filename* " + quote_for_message(text) + " is not charset'language'value");
    }
    std::string_view charset = text.substr(0, first_quote);
    bool utf8 = detail::iequals(charset, "utf-8");
    if (!utf8 && !detail::iequals(charset, "iso-8859-1")) {
        fail("filename* charset " + quote_for_message(charset) +
             " is not supported (only UTF-8 and ISO-8859-1)");
    }
    std::string_view encoded = text.substr(second_quote + 1);
    std::string bytes;
    for (std::size_t i = 0; i < encoded.size(); ++i) {
        char c = encoded[i];
        if (c == '%') {
            if (i + 2 >= encoded.size() || detail::hex_value(encoded[i + 1]) < 0 ||
                detail::hex_value(encoded[i + 2]) < 0) {
                fail("bad percent-encoding in filename* " + quote_for_message(text));
            }
            c = static_cast<char>(detail::hex_value(encoded[i + 1]) * 16 +
                                  detail::hex_value(encoded[i + 2]));
            i += 2;
        }
        bytes += c;
    }
    if (utf8) {
        return bytes;  // checked to be UTF-8 by the caller
    }
    std::string converted;
    for (char c : bytes) {
        detail::append_utf8(converted, static_cast<unsigned char>(c));
    }
    return converted;
}

struct PartHeaders {
    std::optional<std::string_view> disposition;
    std::optional<std::string_view> content_type;
};

PartHeaders parse_part_headers(std::string_view block) {
    PartHeaders headers;
    while (!block.empty()) {
        std::size_t line_end = block.find("\r\n");
        std::string_view line = block.substr(0, line_end);
        block =
            line_end == std::string_view::npos ? std::string_view() : block.substr(line_end + 2);
        if (line.find_first_of("\r\n") != std::string_view::npos) {
            fail("bare CR or LF in part header " + quote_for_message(line));
        }
        if (line.empty() || line.front() == ' ' || line.front() == '\t') {
            fail("empty or folded part header line " + quote_for_message(line));
        }
        std::size_t colon = line.find(':');
        std::string_view name = line.substr(0, colon);
        if (colon == std::string_view::npos || name.empty() ||
            !std::all_of(name.begin(), name.end(), is_token_character)) {
            fail("bad part header line " + quote_for_message(line));
        }
        std::string_view value = http::trim_whitespace(line.substr(colon + 1));
        if (std::any_of(value.begin(), value.end(), is_control)) {
            fail("control character in part header " + quote_for_message(line));
        }
        std::optional<std::string_view>* slot = nullptr;
        if (detail::iequals(name, "Content-Disposition")) {
            slot = &headers.disposition;
        } else if (detail::iequals(name, "Content-Type")) {
            slot = &headers.content_type;
        }
        if (slot != nullptr) {
            if (*slot) {
                fail("repeated " + std::string(name) + " header in a part");
            }
            *slot = value;
        }
    }
    return headers;
}

class MultipartParser {
  public:
    MultipartParser(std::string_view boundary, std::string_view body,
                    const MultipartOptions& options)
        : needle_("\r\n--" + std::string(boundary)), body_(body), options_(options) {}

    FormData parse() {
        // The first delimiter may open the body, without the CRLF before it.
        std::string_view delimiter = std::string_view(needle_).substr(2);
        std::optional<Delimiter> current;
        if (body_.starts_with(delimiter)) {
            current = delimiter_at(0, delimiter.size());
        }
        if (!current) {
            current = find_delimiter(0);
        }
        if (!current) {
            fail("no boundary delimiter found");
        }
        std::size_t parts = 0;
        while (!current->final) {
            std::optional<Delimiter> next = find_delimiter(current->end - 2);
            if (!next) {
                fail("no final boundary delimiter found");
            }
            if (next->start < current->end) {
                fail("a part is empty");  // two delimiter lines in a row
            }
            if (++parts > options_.max_parts) {
                fail("more than " + std::to_string(options_.max_parts) + " parts");
            }
            add_part(body_.substr(current->end, next->start - current->end));
            current = next;
        }
        return std::move(form_);
    }

  private:
    struct Delimiter {
        std::size_t start;  // of the CRLF before it (or 0 for the first)
        std::size_t end;    // after its CRLF
        bool final;
    };

    // A delimiter line whose "--boundary" ends at `after`: followed by "--" (the final one), or
    // by optional spaces and CRLF. Anything else means the text was content.
    std::optional<Delimiter> delimiter_at(std::size_t start, std::size_t after) const {
        std::string_view rest = body_.substr(after);
        if (rest.starts_with("--")) {
            return Delimiter{start, body_.size(), true};
        }
        std::size_t padding = 0;
        while (padding < rest.size() && (rest[padding] == ' ' || rest[padding] == '\t')) {
            ++padding;
        }
        if (rest.substr(padding).starts_with("\r\n")) {
            return Delimiter{start, after + padding + 2, false};
        }
        return std::nullopt;
    }

    std::optional<Delimiter> find_delimiter(std::size_t from) const {
        while (from < body_.size() && body_.size() - from >= needle_.size()) {
            const void* found =
                memmem(body_.data() + from, body_.size() - from, needle_.data(), needle_.size());
            if (found == nullptr) {
                return std::nullopt;
            }
            auto start = static_cast<std::size_t>(static_cast<const char*>(found) - body_.data());
            if (auto delimiter = delimiter_at(start, start + needle_.size())) {
                return delimiter;
            }
            from = start + 1;
        }
        return std::nullopt;
    }

    void add_part(std::string_view part) {
        std::size_t header_end = 0;
        std::string_view content;
        if (part.starts_with("\r\n")) {
            content = part.substr(2);  // an empty header block
        } else {
            std::size_t window = std::min(part.size(), options_.max_part_header_size + 4);
            header_end = part.substr(0, window).find("\r\n\r\n");
            if (header_end == std::string_view::npos) {
                fail(part.size() > window
                         ? "part headers longer than " +
                               std::to_string(options_.max_part_header_size) + " bytes"
                         : "a part has no header block");
            }
            if (header_end > options_.max_part_header_size) {
                fail("part headers longer than " + std::to_string(options_.max_part_header_size) +
                     " bytes");
            }
            content = part.substr(header_end + 4);
        }
        PartHeaders headers = parse_part_headers(part.substr(0, header_end));
        if (!headers.disposition) {
            fail("a part has no Content-Disposition header");
        }
        ParameterizedValue disposition =
            ParameterParser(*headers.disposition, "Content-Disposition").parse();
        if (!detail::iequals(disposition.value, "form-data")) {
            fail("Content-Disposition " + quote_for_message(disposition.value) +
                 " is not form-data");
        }
        const std::string* name = disposition.find("name");
        if (name == nullptr || name->empty()) {
            fail("a part has no name");
        }
        if (!detail::is_valid_utf8(*name)) {
            fail("part name " + quote_for_message(*name) + " is not UTF-8");
        }
        std::string filename;
        if (const std::string* extended = disposition.find("filename*")) {
            filename = decode_extended_value(*extended);
        } else if (const std::string* plain = disposition.find("filename")) {
            filename = *plain;
        }
        if (!detail::is_valid_utf8(filename)) {
            fail("filename " + quote_for_message(filename) + " is not UTF-8");
        }
        if (filename.empty()) {
            form_.fields.add(*name, std::string(content));
            return;
        }
        form_.files.push_back(UploadedFile{
            *name, std::move(filename),
            headers.content_type ? std::string(*headers.content_type) : "application/unknown",
            content});
    }

    std::string needle_;
    std::string_view body_;
    const MultipartOptions& options_;
    FormData form_;
};

}  // namespace

std::vector<const UploadedFile*> FormData::files_named(std::string_view name) const {
    std::vector<const UploadedFile*> result;
    for (const UploadedFile& file : files) {
        if (file.name == name) {
            result.push_back(&file);
        }
    }
    return result;
}

std::string multipart_boundary(std::string_view content_type, const MultipartOptions& options) {
    ParameterizedValue parsed = ParameterParser(content_type, "Content-Type").parse();
    const std::string* boundary = parsed.find("boundary");
    if (boundary == nullptr) {
        fail("Content-Type " + quote_for_message(content_type, 100) + " has no boundary");
    }
    if (boundary->empty() || boundary->size() > options.max_boundary_length) {
        fail("boundary length " + std::to_string(boundary->size()) + " is not between 1 and " +
             std::to_string(options.max_boundary_length));
    }
    if (!std::all_of(boundary->begin(), boundary->end(), is_boundary_character) ||
        boundary->back() == ' ') {
        fail("boundary " + quote_for_message(*boundary) + " has characters RFC 2046 forbids");
    }
    return *boundary;
}

FormData parse_multipart_form_data(std::string_view boundary, std::string_view body,
                                   const MultipartOptions& options) {
    // A boundary still in quotes (as Tornado accepts); '"' is not a boundary character.
    if (boundary.size() >= 2 && boundary.front() == '"' && boundary.back() == '"') {
        boundary = boundary.substr(1, boundary.size() - 2);
    }
    if (boundary.empty()) {
        fail("empty boundary");
    }
    return MultipartParser(boundary, body, options).parse();
}

FormData parse_form_body(std::string_view content_type, std::string_view body,
                         const FormOptions& options) {
    std::string media_type = detail::ascii_lowercase(
        http::trim_whitespace(content_type.substr(0, content_type.find(';'))));
    if (media_type == "application/x-www-form-urlencoded") {
        return FormData{parse_query_string(body, options.query_string), {}};
    }
    if (media_type == "multipart/form-data") {
        return parse_multipart_form_data(multipart_boundary(content_type, options.multipart), body,
                                         options.multipart);
    }
    return {};
}

}  // namespace gale::web
