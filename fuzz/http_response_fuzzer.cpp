// libFuzzer target: the HTTP response parser (as the client sees servers) and decompression
// of whatever follows the head, with a small output limit.
#include <gale/http/compression.hpp>
#include <gale/http/parser.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    gale::http::ParserLimits limits;
    limits.max_head_size = 4096;
    for (bool head_request : {false, true}) {
        gale::http::ResponseParser parser(limits);
        if (parser.parse(input, head_request) == gale::http::ParseStatus::complete) {
            if (parser.head_size() > input.size()) {
                std::abort();
            }
            std::string out;
            try {
                gale::http::Decompressor decompressor(64 * 1024);
                decompressor.decompress(input.substr(parser.head_size()), out);
            } catch (const gale::http::DecompressionError&) {
            }
            if (out.size() > 64 * 1024) {
                std::abort();
            }
        }
    }
    return 0;
}
