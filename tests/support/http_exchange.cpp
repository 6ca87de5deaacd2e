#include "support/http_exchange.hpp"

#include <gale/http/parser.hpp>
#include <gale/ioloop/combinators.hpp>
#include <gale/ioloop/tcp_client.hpp>

namespace gale::test {

Task<ParsedResponse> read_http_response(IOStream& stream, bool head_request) {
    http::ResponseParser parser;
    ParsedResponse response;
    while (true) {
        auto status = parser.parse(stream.buffered(), head_request);
        if (status == http::ParseStatus::error) {
            throw Error("test client: bad response: " + parser.error().reason);
        }
        if (status == http::ParseStatus::complete) {
            if (parser.head().status >= 100 && parser.head().status < 200) {
                stream.consume(parser.head_size());  // interim response: skip it
                parser.reset();
                continue;
            }
            break;
        }
        if (!co_await stream.wait_for_data()) {
            throw Error("test client: connection closed before the response head");
        }
    }
    const auto& head = parser.head();
    response.status = head.status;
    response.headers = head.headers.to_headers();
    response.raw_head = std::string(stream.buffered().substr(0, parser.head_size()));
    http::BodyFraming framing = head.framing;
    std::uint64_t length = head.content_length;
    stream.consume(parser.head_size());
    if (framing == http::BodyFraming::content_length) {
        response.body = co_await stream.read_bytes(static_cast<std::size_t>(length));
    } else if (framing == http::BodyFraming::chunked) {
        http::ChunkedDecoder decoder;
        while (true) {
            auto result = decoder.decode(stream.buffered());
            if (result.status == http::ChunkedDecoder::Status::error) {
                throw Error("test client: bad chunked body: " + decoder.error().reason);
            }
            if (result.status == http::ChunkedDecoder::Status::data) {
                response.body.append(result.data);
            }
            stream.consume(result.consumed);
            if (result.status == http::ChunkedDecoder::Status::done) {
                break;
            }
            if (result.status == http::ChunkedDecoder::Status::need_more &&
                !co_await stream.wait_for_data()) {
                throw Error("test client: connection closed inside a chunked body");
            }
        }
    } else if (framing == http::BodyFraming::until_close) {
        response.body = co_await stream.read_until_close();
    }
    co_return response;
}

Task<ParsedResponse> http_exchange(std::uint16_t port, std::string raw_request) {
    bool head_request = raw_request.rfind("HEAD ", 0) == 0;
    IOStream stream = co_await connect_to(*SocketAddress::from_ip("127.0.0.1", port));
    co_await stream.write(std::move(raw_request));
    co_return co_await with_timeout(std::chrono::seconds(30),
                                    read_http_response(stream, head_request));
}

Task<ParsedResponse> http_fetch(std::uint16_t port, std::string method, std::string target,
                                std::string extra_headers, std::string body) {
    std::string request = method + " " + target +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra_headers;
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
        request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    request += "\r\n" + body;
    co_return co_await http_exchange(port, std::move(request));
}

}  // namespace gale::test
