// testbed: a server with a fixed contract that tests, conformance suites and benchmarks
// target on 127.0.0.1.
//
//   testbed --port P [--address 127.0.0.1] [--static-dir DIR] [--threads N]
//           [--max-body BYTES] [--max-header BYTES] [--header-timeout S] [--idle-timeout S]
//           [--body-timeout S] [--ws-max-message BYTES]
//
// GET / (what this server serves; POST and PUT echo), GET /plaintext, GET /json,
// POST|PUT /echo, GET /headers, GET /status/{code},
// GET /redirect/{n}, GET /delay/{ms}, GET /stream/{n}?delay_ms=D, GET /bytes/{n},
// GET /static/<path>, GET /cookies/set?k=v, GET /cookies, GET|POST /form.
// WebSocket: /ws (echo, same message type; permessage-deflate when offered; messages up to
// --ws-max-message bytes, 16 MiB by default) and /broadcast (each message goes to every other
// /broadcast connection of the thread).
// Server-sent events: GET /sse?count=N&delay_ms=D streams N events (3 by default, at most
// 10,000), `id: i` and `data: event i` for i = 1..N, one every D ms, after `retry: 1000`; a
// client reconnecting with Last-Event-ID: k gets the events after k.

#include <gale/http/date.hpp>
#include <gale/web/application.hpp>
#include <gale/web/escape.hpp>
#include <gale/web/etag.hpp>
#include <gale/web/event_source.hpp>
#include <gale/web/signed_value.hpp>
#include <gale/web/websocket_handler.hpp>
#include <gale/websocket/broadcast.hpp>

#include <sys/random.h>

#include "common/arguments.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>

namespace {

using gale::Task;
using gale::web::JsonWriter;
using gale::web::RequestHandler;

class PlaintextHandler : public RequestHandler {
  public:
    Task<void> get() override {
        set_header("Content-Type", "text/plain");
        write("Hello, World!");
        co_return;
    }
};

class JsonHandler : public RequestHandler {
  public:
    Task<void> get() override {
        // Serialised per request, straight from the value: building a nlohmann::json document
        // first would cost more than the rest of the request (see docs/web.md, "JSON").
        JsonWriter json;
        json.begin_object().key("message").value("Hello, World!").end_object();
        write(json);
        co_return;
    }
};

// Streams the body back as it arrives, with the request's Content-Type: a declared length is
// kept, a chunked upload gets a chunked reply. Memory stays bounded whatever the size.
class EchoHandler : public RequestHandler {
  public:
    bool stream_request_body() const override { return true; }
    Task<void> post() override { co_await echo(); }
    Task<void> put() override { co_await echo(); }

  protected:
    // The body is held until it is whole or passes this size. A body up to it that turns out
    // bad (over the limit, malformed chunks, cut short, stalled) then gets its error status,
    // since nothing has been sent yet, and a chunked one is answered with its length. Past it,
    // the echo streams, and such a body ends the connection in the middle of the response (no
    // status can follow a started one).
    static constexpr std::size_t held_body_limit = 1024 * 1024;

    // /echo has no current representation, so no If-Match can hold (RFC 9110 §13.1.1).
    virtual void check_preconditions() {
        if (request().headers().contains("if-match")) {
            throw gale::http::HTTPError(412, "/echo has no current representation");
        }
    }

    Task<void> echo() {
        check_preconditions();
        set_header("Content-Type",
                   request().headers().get_or("content-type", "application/octet-stream"));
        if (auto length = request().content_length()) {
            set_header("Content-Length", std::to_string(*length));
        }
        std::size_t held = 0;
        while (true) {
            std::string piece = co_await request().read_body_chunk(256 * 1024);
            if (piece.empty()) {
                break;
            }
            held += piece.size();
            write(piece);
            if (held > held_body_limit) {
                co_await flush();
                held = 0;
            }
        }
    }
};

// GET / describes the server; POST and PUT echo like /echo, so that probes aimed at the root
// find a resource with a body to send. The page never changes while the process runs, so its
// Last-Modified is the start time and its ETag names that start: both give 304s, and a PUT or
// POST is judged against them (If-Match needs the tag or "*", If-None-Match refuses them).
class RootHandler : public EchoHandler {
  public:
    RootHandler(std::string started, std::string etag)
        : started_(std::move(started)), etag_(std::move(etag)) {}
    Task<void> get() override {
        set_header("Content-Type", "text/plain; charset=utf-8");
        set_header("Last-Modified", started_);
        set_header("ETag", etag_);
        write(
            "testbed: GET /plaintext, /json, /headers, /status/{code}, /redirect/{n}, "
            "/delay/{ms}, /stream/{n}, /bytes/{n}, /static/<path>, /cookies, /form, /sse; "
            "POST|PUT /echo (and /); WebSocket /ws, /broadcast\n");
        co_return;
    }

  private:
    void check_preconditions() override {
        const gale::http::HeaderFields& headers = request().headers();
        auto if_match = headers.get("if-match");
        auto if_none_match = headers.get("if-none-match");
        using gale::web::EtagComparison;
        if ((if_match && !gale::web::etag_list_matches(*if_match, etag_, EtagComparison::strong)) ||
            (if_none_match &&
             gale::web::etag_list_matches(*if_none_match, etag_, EtagComparison::weak))) {
            throw gale::http::HTTPError(412);
        }
    }

    std::string started_;
    std::string etag_;
};

class HeadersHandler : public RequestHandler {
  public:
    Task<void> get() override {
        // Field names are case-insensitive: repeated fields are combined under the first
        // spelling, their values joined with ", " (RFC 9110 §5.3).
        std::vector<std::pair<std::string, std::string>> fields;
        for (const auto& field : request().headers()) {
            auto same_name = [&field](const auto& seen) {
                return gale::http::equals_ignoring_case(seen.first, field.name);
            };
            if (auto seen = std::find_if(fields.begin(), fields.end(), same_name);
                seen != fields.end()) {
                seen->second += ", ";
                seen->second += field.value;
            } else {
                fields.emplace_back(field.name, field.value);
            }
        }
        nlohmann::json headers = nlohmann::json::object();
        for (auto& [name, value] : fields) {
            headers[name] = std::move(value);
        }
        write(headers);
        co_return;
    }
};

// A path or query argument as a bounded number, or 400.
long number_argument(const std::string& text, long minimum, long maximum) {
    long value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value < minimum ||
        value > maximum) {
        throw gale::http::HTTPError(400, "expected a number from " + std::to_string(minimum) +
                                             " to " + std::to_string(maximum));
    }
    return value;
}

// The status asked for, with the fields RFC 9110 requires (or recommends) with it, so that
// clients under test see well-formed responses.
class StatusHandler : public RequestHandler {
  public:
    Task<void> get() override {
        const int status = static_cast<int>(number_argument(path_args().at(0), 200, 599));
        set_status(status);
        switch (status) {
            case 301:
            case 302:
            case 303:
            case 307:
            case 308:
                set_header("Location", "/status/200");  // §15.4
                break;
            case 401:
                set_header("WWW-Authenticate", "Basic realm=\"testbed\"");  // §15.5.2
                break;
            case 405:
                set_header("Allow", "GET, HEAD, OPTIONS");  // §15.5.6
                break;
            case 407:
                set_header("Proxy-Authenticate", "Basic realm=\"testbed\"");  // §15.5.8
                break;
            case 416:
                set_header("Content-Range", "bytes */0");  // §15.5.17
                break;
            default:
                break;
        }
        co_return;
    }
};

class RedirectHandler : public RequestHandler {
  public:
    Task<void> get() override {
        long remaining = number_argument(path_args().at(0), 0, 1000);
        if (remaining == 0) {
            set_header("Content-Type", "text/plain");
            write("done");
        } else {
            redirect("/redirect/" + std::to_string(remaining - 1));
        }
        co_return;
    }
};

class DelayHandler : public RequestHandler {
  public:
    Task<void> get() override {
        long milliseconds = number_argument(path_args().at(0), 0, 600'000);
        co_await gale::sleep(std::chrono::milliseconds(milliseconds));
        set_header("Content-Type", "text/plain");
        write("delayed " + std::to_string(milliseconds) + " ms");
    }
};

class StreamHandler : public RequestHandler {
  public:
    Task<void> get() override {
        long lines = number_argument(path_args().at(0), 0, 100'000);
        long delay = number_argument(get_argument("delay_ms", "0"), 0, 60'000);
        set_header("Content-Type", "text/plain");
        for (long line = 0; line < lines; ++line) {
            if (line > 0 && delay > 0) {
                co_await gale::sleep(std::chrono::milliseconds(delay));
            }
            write("line " + std::to_string(line) + "\n");
            co_await flush();
        }
    }
};

class BytesHandler : public RequestHandler {
  public:
    Task<void> get() override {
        long count = number_argument(path_args().at(0), 0, 1L << 30);
        set_header("Content-Type", "text/plain");  // compressible: gzip when accepted
        static const std::string pattern = [] {
            std::string text;
            for (int i = 0; i < 64 * 1024; ++i) {
                text += static_cast<char>('a' + i % 26);
            }
            return text;
        }();
        if (count <= static_cast<long>(pattern.size())) {
            write(std::string_view(pattern).substr(0, static_cast<std::size_t>(count)));
            co_return;
        }
        // Large: a fixed Content-Length, streamed in pieces with backpressure.
        set_header("Content-Length", std::to_string(count));
        for (long sent = 0; sent < count;) {
            long piece = std::min<long>(count - sent, static_cast<long>(pattern.size()));
            write(std::string_view(pattern).substr(0, static_cast<std::size_t>(piece)));
            co_await flush();
            sent += piece;
        }
    }
};

class SetCookiesHandler : public RequestHandler {
  public:
    Task<void> get() override {
        for (const auto& entry : query_arguments()) {
            if (!entry.values.empty()) {
                set_signed_cookie(entry.name, entry.values.back());
            }
        }
        redirect("/cookies");
        co_return;
    }
};

class CookiesHandler : public RequestHandler {
  public:
    Task<void> get() override {
        nlohmann::json cookies = nlohmann::json::object();
        auto header = request().headers().get("cookie");
        if (header) {
            for (const auto& cookie : gale::web::parse_cookie_header(*header)) {
                if (auto value = get_signed_cookie(cookie.name)) {  // only values we signed
                    cookies[cookie.name] = *value;
                }
            }
        }
        write(nlohmann::json{{"cookies", cookies}});
        co_return;
    }
};

class FormHandler : public RequestHandler {
  public:
    Task<void> get() override {
        write(
            "<!DOCTYPE html><html><head><title>testbed form</title></head><body>"
            "<form method=\"post\" action=\"/form\" enctype=\"multipart/form-data\">" +
            xsrf_form_html() +
            "<input name=\"name\"><input type=\"file\" name=\"upload\">"
            "<button type=\"submit\">Send</button></form></body></html>");
        co_return;
    }

    Task<void> post() override {
        check_xsrf_cookie();
        nlohmann::json fields = nlohmann::json::object();
        for (const auto& entry : body_arguments()) {
            if (entry.name != "_xsrf" && !entry.values.empty()) {
                fields[entry.name] = entry.values.back();
            }
        }
        nlohmann::json files = nlohmann::json::array();
        for (const auto& file : this->files()) {
            files.push_back({{"field", file.name},
                             {"filename", file.filename},
                             {"content_type", file.content_type},
                             {"size", file.body.size()}});
        }
        write(nlohmann::json{{"fields", fields}, {"files", files}});
        co_return;
    }
};

// WebSocket echo: each message back as the same type. A test target, so any Origin is fine.
class WebSocketEchoHandler : public gale::web::WebSocketHandler {
  public:
    explicit WebSocketEchoHandler(std::size_t max_message) : max_message_(max_message) {}

    gale::web::WebSocketOptions websocket_options() override {
        gale::web::WebSocketOptions options;
        options.compression = true;
        options.max_message_size = max_message_;
        return options;
    }
    bool check_origin(std::string_view) override { return true; }
    Task<void> on_message(std::string message, bool binary) override {
        co_await write_message(std::move(message), binary);
    }

  private:
    std::size_t max_message_;
};

// Relays each message to every other /broadcast connection of this thread, encoded once.
class BroadcastHandler : public gale::web::WebSocketHandler {
  public:
    /// `subscribers` belongs to the thread's Application, which outlives its handlers.
    explicit BroadcastHandler(gale::websocket::Broadcaster& subscribers)
        : subscribers_(subscribers) {}

    gale::web::WebSocketOptions websocket_options() override {
        gale::web::WebSocketOptions options;
        options.compression = true;
        return options;
    }
    bool check_origin(std::string_view) override { return true; }
    Task<void> open() override {
        subscribers_.subscribe(connection());
        co_return;
    }
    Task<void> on_message(std::string message, bool binary) override {
        subscribers_.publish(message, binary, connection().get());
        co_return;
    }
    void on_close() override { subscribers_.unsubscribe(*connection()); }

  private:
    gale::websocket::Broadcaster& subscribers_;
};

class EventsHandler : public RequestHandler {
  public:
    Task<void> get() override {
        long count = number_argument(get_argument("count", "3"), 0, 10'000);
        long delay = number_argument(get_argument("delay_ms", "0"), 0, 60'000);
        gale::web::EventSource events(*this);
        long first = 1;
        if (auto resumed = events.last_event_id()) {
            first = number_argument(*resumed, 0, count) + 1;
        }
        co_await events.start(std::chrono::milliseconds(1000));
        for (long id = first; id <= count; ++id) {
            if (id > first && delay > 0) {
                co_await gale::sleep(std::chrono::milliseconds(delay));
            }
            co_await events.send_data("event " + std::to_string(id), std::to_string(id));
        }
    }
};

std::string random_secret() {
    unsigned char bytes[32];
    // getrandom, not OpenSSL: the plaintext benchmark then never initialises libcrypto (RSS).
    if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
        throw std::runtime_error("getrandom failed");
    }
    return gale::web::base64_encode(
        std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

}  // namespace

int main(int argc, char** argv) {
    demo::Arguments arguments(
        argc, argv,
        {"port", "address", "static-dir", "threads", "max-body", "max-header", "header-timeout",
         "idle-timeout", "body-timeout", "ws-max-message"},
        {},
        "usage: testbed --port P [--address 127.0.0.1] [--static-dir DIR] [--threads N]\n"
        "               [--max-body BYTES] [--max-header BYTES] [--header-timeout S] "
        "[--idle-timeout S]\n"
        "               [--body-timeout S] [--ws-max-message BYTES]");
    if (!arguments.has("port")) {
        arguments.fail("--port is required");
    }
    auto port = static_cast<std::uint16_t>(arguments.number("port", 0, 0, 65535));
    auto threads = static_cast<unsigned>(arguments.number("threads", 1, 1, 256));
    auto max_body = arguments.number("max-body", 64L << 20, 0, 1L << 40);
    auto max_header = arguments.number("max-header", 64L << 10, 1024, 64L << 20);
    auto ws_max_message =
        static_cast<std::size_t>(arguments.number("ws-max-message", 16L << 20, 1, 1L << 32));

    gale::http::HTTPServerOptions server;
    server.max_body_size = static_cast<std::uint64_t>(max_body);
    server.limits.max_head_size = static_cast<std::size_t>(max_header);
    server.limits.max_request_line =
        std::min<std::size_t>(static_cast<std::size_t>(max_header), 16 * 1024);
    server.header_timeout = std::chrono::seconds(arguments.number("header-timeout", 10, 1, 3600));
    server.idle_timeout = std::chrono::seconds(arguments.number("idle-timeout", 30, 1, 3600));
    server.body_timeout = std::chrono::seconds(arguments.number("body-timeout", 60, 1, 3600));

    gale::web::ApplicationSettings settings;
    settings.compress_response = true;
    settings.cookie_secret = random_secret();  // one secret shared by every thread
    settings.static_path = arguments.text("static-dir");
    settings.max_body_size = static_cast<std::uint64_t>(max_body);

    gale::ListenOptions listen(arguments.text("address", "127.0.0.1"));
    std::printf("testbed listening on %s:%u (%u thread%s)\n", listen.address.c_str(), port, threads,
                threads > 1 ? "s" : "");
    std::fflush(stdout);
    try {
        gale::web::serve(
            [&settings, ws_max_message, started = std::time(nullptr)] {
                using gale::web::route;
                // One relay per thread, owned by the routes and so by the thread's Application.
                auto relay = std::make_shared<gale::websocket::Broadcaster>();
                return std::make_unique<gale::web::Application>(
                    std::vector<gale::web::Route>{
                        route<RootHandler>("/",
                                           [started] {
                                               return std::make_unique<RootHandler>(
                                                   gale::http::format_http_date(started),
                                                   "\"started-" + std::to_string(started) + "\"");
                                           }),
                        route<PlaintextHandler>("/plaintext"),
                        route<JsonHandler>("/json"),
                        route<EchoHandler>("/echo"),
                        route<HeadersHandler>("/headers"),
                        route<StatusHandler>("/status/([0-9]+)"),
                        route<RedirectHandler>("/redirect/([0-9]+)"),
                        route<DelayHandler>("/delay/([0-9]+)"),
                        route<StreamHandler>("/stream/([0-9]+)"),
                        route<BytesHandler>("/bytes/([0-9]+)"),
                        route<SetCookiesHandler>("/cookies/set"),
                        route<CookiesHandler>("/cookies"),
                        route<FormHandler>("/form"),
                        route<WebSocketEchoHandler>(
                            "/ws",
                            [ws_max_message] {
                                return std::make_unique<WebSocketEchoHandler>(ws_max_message);
                            }),
                        route<BroadcastHandler>(
                            "/broadcast",
                            [relay] { return std::make_unique<BroadcastHandler>(*relay); }),
                        route<EventsHandler>("/sse"),
                    },
                    settings);
            },
            port, listen, server, threads);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "testbed: %s\n", error.what());
        return 1;
    }
    return 0;
}
