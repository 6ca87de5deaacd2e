#pragma once
// A raw HTTP/1.1 exchange for tests: sends bytes exactly as given, parses the response with
// gale's own codec (Content-Length, chunked or close-delimited bodies).

#include <gale/http/headers.hpp>
#include <gale/ioloop/iostream.hpp>

#include <cstdint>
#include <string>

namespace gale::test {

struct ParsedResponse {
    int status = 0;
    http::HTTPHeaders headers;
    std::string body;
    std::string raw_head;
};

/// Reads one response from `stream` (the request was for HEAD when `head_request`).
Task<ParsedResponse> read_http_response(IOStream& stream, bool head_request = false);

/// Opens a connection to 127.0.0.1:port, sends `raw_request`, reads one response.
Task<ParsedResponse> http_exchange(std::uint16_t port, std::string raw_request);

/// A GET (or `method`) with optional extra header lines ("Name: value\r\n...") and body.
Task<ParsedResponse> http_fetch(std::uint16_t port, std::string method, std::string target,
                                std::string extra_headers = {}, std::string body = {});

}  // namespace gale::test
