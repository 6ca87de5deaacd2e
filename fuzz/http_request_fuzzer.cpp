// libFuzzer target: the HTTP request parser and the chunked decoder.
//
// Invariants checked besides "no crash, no leak, no sanitizer report": the head size never
// exceeds the input, the parse of the whole input (which may take the parser's one-pass path)
// equals the parse fed byte by byte (the careful path), head for head, and parsed views point
// inside the input.
#include <gale/http/parser.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

bool inside(std::string_view part, std::string_view whole) {
    return part.empty() || (part.data() >= whole.data() &&
                            part.data() + part.size() <= whole.data() + whole.size());
}

void check(bool condition) {
    if (!condition) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    gale::http::ParserLimits limits;
    limits.max_head_size = 4096;
    limits.max_request_line = 1024;
    limits.max_header_count = 32;

    gale::http::RequestParser whole(limits);
    auto status = whole.parse(input);
    gale::http::RequestParser split(limits);
    auto split_status = gale::http::ParseStatus::incomplete;
    for (std::size_t length = 1;
         length <= input.size() && split_status == gale::http::ParseStatus::incomplete; ++length) {
        split_status = split.parse(input.substr(0, length));
    }
    check(status == split_status);
    if (status == gale::http::ParseStatus::error) {
        check(whole.error().status == split.error().status);
        return 0;
    }
    if (status != gale::http::ParseStatus::complete) {
        return 0;
    }
    check(whole.head_size() <= input.size());
    check(whole.head_size() == split.head_size());
    const auto& head = whole.head();
    const auto& split_head = split.head();
    check(head.method == split_head.method && head.target == split_head.target &&
          head.form == split_head.form && head.path == split_head.path &&
          head.query == split_head.query && head.authority == split_head.authority &&
          head.version == split_head.version && head.framing == split_head.framing &&
          head.content_length == split_head.content_length &&
          head.keep_alive == split_head.keep_alive &&
          head.expect_continue == split_head.expect_continue &&
          head.upgrade == split_head.upgrade && head.preconditions == split_head.preconditions);
    check(head.headers.size() == split_head.headers.size());
    for (auto field = head.headers.begin(), other = split_head.headers.begin();
         field != head.headers.end(); ++field, ++other) {
        check(field->name == other->name && field->value == other->value);
    }
    // An absolute-form target without a path gets the literal "/" as its path.
    check(inside(head.method, input) && inside(head.target, input) &&
          (head.path == "/" || inside(head.path, input)));
    for (const auto& field : head.headers) {
        check(inside(field.name, input) && inside(field.value, input));
    }
    if (head.framing == gale::http::BodyFraming::chunked) {
        gale::http::ChunkedDecoder decoder(limits);
        std::string_view body = input.substr(whole.head_size());
        while (true) {
            auto result = decoder.decode(body);
            check(result.consumed <= body.size());
            if (result.status != gale::http::ChunkedDecoder::Status::data) {
                break;
            }
            check(inside(result.data, input));
            body.remove_prefix(result.consumed);
        }
    }
    return 0;
}
