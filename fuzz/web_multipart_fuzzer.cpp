// libFuzzer target: form bodies (multipart/form-data and urlencoded) and boundary extraction.
//
// Input: the first line is the Content-Type, the rest the body. Invariants besides "no crash,
// no leak, no sanitizer report": the only exception is InputError; limits hold; file bodies
// point inside the input.
#include <gale/web/multipart.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

void check(bool condition) {
    if (!condition) {
        std::abort();
    }
}

bool inside(std::string_view part, std::string_view whole) {
    return part.empty() || (part.data() >= whole.data() &&
                            part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    std::size_t newline = input.find('\n');
    std::string_view content_type = input.substr(0, newline);
    std::string_view body =
        newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
    gale::web::FormOptions options;
    options.multipart.max_parts = 8;
    options.multipart.max_part_header_size = 256;
    options.query_string.max_fields = 16;
    try {
        gale::web::FormData form = gale::web::parse_form_body(content_type, body, options);
        std::size_t values = form.files.size();
        for (const auto& entry : form.fields) {
            values += entry.values.size();
        }
        check(values <= 16);
        for (const auto& file : form.files) {
            check(inside(file.body, body));
            check(!file.filename.empty() && !file.name.empty());
        }
    } catch (const gale::web::InputError&) {
    }
    // The boundary alone, with the default limits.
    try {
        std::string boundary = gale::web::multipart_boundary(content_type);
        check(!boundary.empty() && boundary.size() <= 70);
        gale::web::parse_multipart_form_data(boundary, body);
    } catch (const gale::web::InputError&) {
    }
    return 0;
}
