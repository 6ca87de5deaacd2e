#include <gale/ioloop/tcp_client.hpp>
#include <gale/web/application.hpp>
#include <gale/web/static_file_handler.hpp>

#include <catch2/catch.hpp>

#include "support/helpers.hpp"
#include "support/http_exchange.hpp"

#include <fstream>

using namespace std::chrono_literals;
using gale::Task;
using gale::test::http_fetch;
using gale::web::RequestHandler;
using gale::web::route;

namespace {

class HelloHandler : public RequestHandler {
  public:
    Task<void> get() override {
        write("hello");
        co_return;
    }
};

class ArgsHandler : public RequestHandler {
  public:
    Task<void> get() override {
        write(nlohmann::json{{"args", path_args()}, {"name", get_argument("name", "none")}});
        co_return;
    }
};

// JSON from a JsonWriter; ?open=1 leaves the object open, which must fail the request, and
// ?late=writer or ?late=document writes after redirect(), which must fail it too.
class JsonWriterHandler : public RequestHandler {
  public:
    Task<void> get() override {
        gale::web::JsonWriter json;
        json.begin_object().key("name").value(get_argument("name", "none"));
        json.key("ids").begin_array().value(1).value(2).end_array();
        if (get_argument("open", "0") != "1") {
            json.end_object();
        }
        const std::string late = get_argument("late", "");
        if (!late.empty()) {
            redirect("/elsewhere");
        }
        if (late == "document") {
            write(nlohmann::json{{"ids", {1, 2}}});
        } else {
            write(json);
        }
        co_return;
    }
};

class NamedHandler : public RequestHandler {
  public:
    Task<void> get() override {
        nlohmann::json kwargs = nlohmann::json::object();
        for (const auto& [name, value] : path_kwargs()) {
            kwargs[name] = value;
        }
        write(kwargs);
        co_return;
    }
};

class FormEchoHandler : public RequestHandler {
  public:
    Task<void> post() override {
        nlohmann::json result = {{"a", get_arguments("a")}, {"stripped", get_argument("s", "")}};
        nlohmann::json files = nlohmann::json::array();
        for (const auto& file : this->files()) {
            files.push_back({file.name, file.filename, std::string(file.body)});
        }
        result["files"] = files;
        write(result);
        co_return;
    }
    Task<void> put() override {
        write(get_json_body());
        co_return;
    }
};

class RequiredArgumentHandler : public RequestHandler {
  public:
    Task<void> get() override {
        write(get_argument("needed"));
        co_return;
    }
};

class CookieHandler : public RequestHandler {
  public:
    Task<void> get() override {
        if (get_argument("set", "") == "1") {
            set_signed_cookie("user", "alice");
            set_cookie("plain", "value");
        }
        write(nlohmann::json{{"user", get_signed_cookie("user").value_or("")},
                             {"plain", get_cookie("plain").value_or("")}});
        co_return;
    }
};

class LoginRequiredHandler : public RequestHandler {
  public:
    std::optional<std::string> get_current_user() override { return get_signed_cookie("user"); }
    Task<void> get() override {
        require_login();
        write("secret for " + *current_user());
        co_return;
    }
    Task<void> post() override {
        require_login();
        co_return;
    }
};

class XsrfFormHandler : public RequestHandler {
  public:
    Task<void> get() override {
        write(xsrf_token());
        co_return;
    }
    Task<void> post() override {
        write("accepted");
        co_return;
    }
};

class ThrowingHandler : public RequestHandler {
  public:
    Task<void> get() override { throw std::runtime_error("secret internal detail"); }
};

class LifecycleHandler : public RequestHandler {
  public:
    explicit LifecycleHandler(std::vector<std::string>& log) : log_(log) {}
    Task<void> prepare() override {
        co_await RequestHandler::prepare();  // as Tornado code calls super().prepare()
        log_.push_back("prepare");
        if (get_argument("stop", "") == "1") {
            set_status(202);
            co_await finish();
        }
    }
    Task<void> get() override {
        log_.push_back("get");
        co_return;
    }
    void on_finish() override { log_.push_back("finish"); }

  private:
    std::vector<std::string>& log_;
};

class LongTextHandler : public RequestHandler {
  public:
    Task<void> get() override {
        set_header("Content-Type", "text/plain");
        write(std::string(4000, 'z'));
        co_return;
    }
};

class DatedHandler : public RequestHandler {
  public:
    Task<void> get() override {
        set_header("Last-Modified", "Tue, 02 Jan 2024 03:04:05 GMT");
        write("dated");
        co_return;
    }
};

class TaggedHandler : public RequestHandler {
  public:
    Task<void> get() override {
        set_header("ETag", "\"v1\"");
        write(std::string(2 << 20, 't'));  // over etag_max_body_size: its own tag still counts
        co_return;
    }
};

class WaitingHandler : public RequestHandler {
  public:
    explicit WaitingHandler(bool& closed) : closed_(closed) {}
    Task<void> get() override { co_await gale::sleep(1h); }
    void on_connection_close() override { closed_ = true; }

  private:
    bool& closed_;
};

struct App {
    explicit App(gale::web::ApplicationSettings settings = {},
                 std::vector<gale::web::Route> extra = {}) {
        settings.cookie_secret = "test secret";
        settings.login_url = "/login";
        std::vector<gale::web::Route> routes = {
            route<HelloHandler>("/hello", "hello"),
            route<ArgsHandler>("/args/([0-9]+)/([a-z]+)", "args"),
            route<JsonWriterHandler>("/json-writer"),
            route<NamedHandler>("/named/(?P<year>[0-9]{4})/(?P<slug>[^/]+)"),
            route<FormEchoHandler>("/form"),
            route<RequiredArgumentHandler>("/required"),
            route<CookieHandler>("/cookie"),
            route<LoginRequiredHandler>("/private"),
            route<XsrfFormHandler>("/xsrf"),
            route<ThrowingHandler>("/throw"),
            route<gale::web::RedirectHandler>(
                "/old/(.*)",
                [] { return std::make_unique<gale::web::RedirectHandler>("/new/{0}"); }),
            route<gale::web::ErrorHandler>(
                "/gone", [] { return std::make_unique<gale::web::ErrorHandler>(410); }),
        };
        for (auto& route : extra) {
            routes.push_back(std::move(route));
        }
        application = std::make_unique<gale::web::Application>(std::move(routes), settings);
        port = application->listen(0, "127.0.0.1").front().port();
    }
    std::unique_ptr<gale::web::Application> application;
    std::uint16_t port = 0;
};

std::string cookie_header_from(const gale::test::ParsedResponse& response) {
    std::string cookies;
    for (std::string_view set_cookie : response.headers.get_all("set-cookie")) {
        std::string_view pair = set_cookie.substr(0, set_cookie.find(';'));
        cookies += (cookies.empty() ? "" : "; ") + std::string(pair);
    }
    return cookies;
}

}  // namespace

TEST_CASE("routes: literal, positional and named groups, 404", "[web][routing]") {
    auto body = []() -> Task<void> {
        App app;
        auto hello = co_await http_fetch(app.port, "GET", "/hello");
        CHECK(hello.status == 200);
        CHECK(hello.body == "hello");
        auto args = co_await http_fetch(app.port, "GET", "/args/42/abc?name=%20bob%20");
        CHECK(nlohmann::json::parse(args.body) ==
              nlohmann::json{{"args", {"42", "abc"}}, {"name", "bob"}});
        auto named = co_await http_fetch(app.port, "GET", "/named/2024/hello%20world");
        CHECK(nlohmann::json::parse(named.body) ==
              nlohmann::json{{"year", "2024"}, {"slug", "hello world"}});
        auto missing = co_await http_fetch(app.port, "GET", "/args/x/abc");
        CHECK(missing.status == 404);
        // An escaped unreserved character is that character (RFC 3986 §6.2.2.2); an escaped
        // reserved one is not ("%2F" is no "/").
        auto escaped = co_await http_fetch(app.port, "GET", "/hel%6Co");
        CHECK(escaped.body == "hello");
        auto escaped_group = co_await http_fetch(app.port, "GET", "/args/%34%32/a%62c?name=bob");
        CHECK(nlohmann::json::parse(escaped_group.body) ==
              nlohmann::json{{"args", {"42", "abc"}}, {"name", "bob"}});
        auto escaped_slash = co_await http_fetch(app.port, "GET", "/named/2024%2Fhello");
        CHECK(escaped_slash.status == 404);
        auto prefix_only = co_await http_fetch(app.port, "GET", "/hello/more");
        CHECK(prefix_only.status == 404);
        CHECK(app.application->reverse_url("args", {"7", "x y"}) == "/args/7/x%20y");
        CHECK(app.application->reverse_url("hello") == "/hello");
        CHECK_THROWS_AS(app.application->reverse_url("nope"), gale::Error);
        CHECK_THROWS_AS(app.application->reverse_url("args", {"1"}), gale::Error);
    };
    gale::test::run(body());
}

namespace {

class TextHandler : public RequestHandler {
  public:
    explicit TextHandler(std::string text) : text_(std::move(text)) {}
    Task<void> get() override {
        write(text_);
        co_return;
    }

  private:
    std::string text_;
};

gale::web::Route text_route(std::string pattern, std::string text) {
    return route<TextHandler>(std::move(pattern), [text = std::move(text)] {
        return std::make_unique<TextHandler>(text);
    });
}

}  // namespace

// The literal-path index grows as routes are added: hundreds of them, each found; the first
// route of a path wins, also over a later literal, and a pattern listed earlier still comes
// before a literal path it matches.
TEST_CASE("routes: many literal paths, first match wins", "[web][routing]") {
    auto body = []() -> Task<void> {
        std::vector<gale::web::Route> routes;
        routes.push_back(text_route("/shadowed/(a|b)", "pattern"));
        for (int i = 0; i < 300; ++i) {
            routes.push_back(text_route("/r" + std::to_string(i), "route " + std::to_string(i)));
        }
        routes.push_back(text_route("/r7", "second /r7"));
        routes.push_back(text_route("/shadowed/a", "literal"));
        routes.push_back(text_route("/shadowed/c", "literal c"));
        gale::web::Application application(std::move(routes));
        const std::uint16_t port = application.listen(0, "127.0.0.1").front().port();
        for (int i : {0, 1, 7, 15, 16, 17, 128, 255, 299}) {
            auto found = co_await http_fetch(port, "GET", "/r" + std::to_string(i));
            CHECK(found.status == 200);
            CHECK(found.body == "route " + std::to_string(i));
        }
        for (std::string missing : {"/r300", "/r", "/r07", "/R1", "/r1/"}) {
            CHECK((co_await http_fetch(port, "GET", missing)).status == 404);
        }
        CHECK((co_await http_fetch(port, "GET", "/shadowed/a")).body == "pattern");
        CHECK((co_await http_fetch(port, "GET", "/shadowed/c")).body == "literal c");
        co_await application.shutdown(std::chrono::seconds(1));
    };
    gale::test::run(body());
}

TEST_CASE("methods: 405 with Allow, OPTIONS, HEAD", "[web][routing]") {
    auto body = []() -> Task<void> {
        App app;
        auto not_allowed = co_await http_fetch(app.port, "POST", "/hello");
        CHECK(not_allowed.status == 405);
        CHECK(not_allowed.headers.get("allow") == "GET, HEAD, OPTIONS");
        auto options = co_await http_fetch(app.port, "OPTIONS", "/hello");
        CHECK(options.status == 204);
        CHECK(options.headers.get("allow") == "GET, HEAD, OPTIONS");
        auto head = co_await http_fetch(app.port, "HEAD", "/hello");
        CHECK(head.status == 200);
        CHECK(head.body.empty());
        CHECK(head.headers.get("content-length") == "5");
        // A method HTTP defines but the resource does not take is 405; one HTTP does not
        // define (methods are case-sensitive) is not implemented: 501.
        auto trace = co_await http_fetch(app.port, "TRACE", "/hello");
        CHECK(trace.status == 405);
        CHECK(trace.headers.get("allow") == "GET, HEAD, OPTIONS");
        for (std::string method : {"BREW", "get"}) {
            auto unknown = co_await http_fetch(app.port, method, "/hello");
            CHECK(unknown.status == 501);
            CHECK_FALSE(unknown.headers.contains("allow"));
        }
        // OPTIONS * is about the server: 200, what it allows, and an explicit empty body.
        auto server_options = co_await http_fetch(app.port, "OPTIONS", "*");
        CHECK(server_options.status == 200);
        CHECK(server_options.headers.get("allow") ==
              "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
        CHECK(server_options.headers.get("content-length") == "0");
    };
    gale::test::run(body());
}

TEST_CASE("arguments: urlencoded, multipart, JSON, missing", "[web][arguments]") {
    auto body = []() -> Task<void> {
        App app;
        auto form = co_await http_fetch(app.port, "POST", "/form?a=1",
                                        "Content-Type: application/x-www-form-urlencoded\r\n",
                                        "a=2&a=3&s=%20x%20");
        CHECK(nlohmann::json::parse(form.body)["a"] == nlohmann::json{"1", "2", "3"});
        CHECK(nlohmann::json::parse(form.body)["stripped"] == "x");

        std::string multipart =
            "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nfield\r\n"
            "--XyZ\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"hi.txt\"\r\n"
            "Content-Type: text/plain\r\n\r\nfile content\r\n--XyZ--\r\n";
        auto upload =
            co_await http_fetch(app.port, "POST", "/form",
                                "Content-Type: multipart/form-data; boundary=XyZ\r\n", multipart);
        auto parsed = nlohmann::json::parse(upload.body);
        CHECK(parsed["a"] == nlohmann::json{"field"});
        CHECK(parsed["files"] == nlohmann::json{{"upload", "hi.txt", "file content"}});

        auto bad_multipart =
            co_await http_fetch(app.port, "POST", "/form",
                                "Content-Type: multipart/form-data; boundary=XyZ\r\n", "garbage");
        CHECK(bad_multipart.status == 400);

        auto json = co_await http_fetch(app.port, "PUT", "/form",
                                        "Content-Type: application/json\r\n", R"({"k":[1,2]})");
        CHECK(nlohmann::json::parse(json.body) == nlohmann::json{{"k", {1, 2}}});
        auto bad_json = co_await http_fetch(app.port, "PUT", "/form",
                                            "Content-Type: application/json\r\n", "{oops");
        CHECK(bad_json.status == 400);

        auto missing = co_await http_fetch(app.port, "GET", "/required");
        CHECK(missing.status == 400);
    };
    gale::test::run(body());
}

TEST_CASE("cookies and signed cookies round trip; tampering is rejected", "[web][cookies]") {
    auto body = []() -> Task<void> {
        App app;
        auto set = co_await http_fetch(app.port, "GET", "/cookie?set=1");
        std::string cookies = cookie_header_from(set);
        CHECK(cookies.find("user=") != std::string::npos);
        auto back = co_await http_fetch(app.port, "GET", "/cookie", "Cookie: " + cookies + "\r\n");
        CHECK(nlohmann::json::parse(back.body) ==
              nlohmann::json{{"user", "alice"}, {"plain", "value"}});
        std::string tampered = cookies;
        tampered.replace(tampered.find("alice") == std::string::npos ? tampered.find("|4:") + 3 : 0,
                         4, "YmVi");
        auto rejected =
            co_await http_fetch(app.port, "GET", "/cookie", "Cookie: " + tampered + "\r\n");
        CHECK(nlohmann::json::parse(rejected.body)["user"] == "");
    };
    gale::test::run(body());
}

TEST_CASE("require_login redirects GET and refuses POST", "[web][auth]") {
    auto body = []() -> Task<void> {
        App app;
        auto anonymous = co_await http_fetch(app.port, "GET", "/private?x=1");
        CHECK(anonymous.status == 302);
        CHECK(anonymous.headers.get("location") == "/login?next=%2Fprivate%3Fx%3D1");
        auto post = co_await http_fetch(app.port, "POST", "/private");
        CHECK(post.status == 403);
        auto login = co_await http_fetch(app.port, "GET", "/cookie?set=1");
        auto logged_in = co_await http_fetch(app.port, "GET", "/private",
                                             "Cookie: " + cookie_header_from(login) + "\r\n");
        CHECK(logged_in.status == 200);
        CHECK(logged_in.body == "secret for alice");
    };
    gale::test::run(body());
}

TEST_CASE("XSRF: POST needs the token from the form, query or header", "[web][xsrf]") {
    gale::web::ApplicationSettings settings;
    settings.xsrf_cookies = true;
    auto body = [](gale::web::ApplicationSettings app_settings) -> Task<void> {
        App app(app_settings);
        auto page = co_await http_fetch(app.port, "GET", "/xsrf");
        std::string cookie = cookie_header_from(page);
        std::string token = page.body;
        CHECK(cookie.rfind("_xsrf=", 0) == 0);
        auto missing = co_await http_fetch(app.port, "POST", "/xsrf", "Cookie: " + cookie + "\r\n");
        CHECK(missing.status == 403);
        auto no_cookie =
            co_await http_fetch(app.port, "POST", "/xsrf", "X-XSRFToken: " + token + "\r\n");
        CHECK(no_cookie.status == 403);
        auto by_form = co_await http_fetch(
            app.port, "POST", "/xsrf",
            "Cookie: " + cookie + "\r\nContent-Type: application/x-www-form-urlencoded\r\n",
            "_xsrf=" + token);
        CHECK(by_form.status == 200);
        auto by_header = co_await http_fetch(
            app.port, "POST", "/xsrf", "Cookie: " + cookie + "\r\nX-XSRFToken: " + token + "\r\n");
        CHECK(by_header.status == 200);
        auto wrong =
            co_await http_fetch(app.port, "POST", "/xsrf",
                                "Cookie: " + cookie + "\r\nX-CSRFToken: 2|00000000|0000|0\r\n");
        CHECK(wrong.status == 403);
    };
    gale::test::run(body(settings));
}

TEST_CASE("error pages: HTML, JSON on request, details only in debug", "[web][errors]") {
    auto body = []() -> Task<void> {
        App app;
        auto html = co_await http_fetch(app.port, "GET", "/throw");
        CHECK(html.status == 500);
        CHECK(html.headers.get("content-type") == "text/html; charset=UTF-8");
        CHECK(html.body.find("500: Internal Server Error") != std::string::npos);
        CHECK(html.body.find("secret internal detail") == std::string::npos);
        auto json = co_await http_fetch(app.port, "GET", "/gone", "Accept: application/json\r\n");
        CHECK(json.status == 410);
        CHECK(nlohmann::json::parse(json.body) ==
              nlohmann::json{{"status", 410}, {"reason", "Gone"}});
        auto redirect = co_await http_fetch(app.port, "GET", "/old/page?q=1");
        CHECK(redirect.status == 301);
        CHECK(redirect.headers.get("location") == "/new/page?q=1");
    };
    gale::test::run(body());
    gale::web::ApplicationSettings debug;
    debug.debug = true;
    auto debug_body = [](gale::web::ApplicationSettings settings) -> Task<void> {
        App app(settings);
        auto html = co_await http_fetch(app.port, "GET", "/throw");
        CHECK(html.body.find("secret internal detail") != std::string::npos);
    };
    gale::test::run(debug_body(debug));
}

TEST_CASE("write(JsonWriter): JSON without a document; an unfinished one is a 500", "[web][json]") {
    auto body = []() -> Task<void> {
        App app;
        auto json = co_await http_fetch(app.port, "GET", "/json-writer?name=a%22b");
        CHECK(json.status == 200);
        CHECK(json.headers.get("content-type") == "application/json; charset=UTF-8");
        CHECK(json.body == R"({"name":"a\"b","ids":[1,2]})");
        auto open = co_await http_fetch(app.port, "GET", "/json-writer?open=1");
        CHECK(open.status == 500);
        CHECK(open.body.find("\"ids\"") == std::string::npos);
        for (std::string late : {"writer", "document"}) {
            INFO(late);
            auto after_redirect = co_await http_fetch(app.port, "GET", "/json-writer?late=" + late);
            CHECK(after_redirect.status == 500);
            CHECK(after_redirect.headers.get("content-type") != "application/json; charset=UTF-8");
            CHECK(after_redirect.body.find("\"ids\"") == std::string::npos);
        }
    };
    gale::test::run(body());
}

TEST_CASE("ETag and 304 for small GET responses", "[web][etag]") {
    auto body = []() -> Task<void> {
        App app;
        auto first = co_await http_fetch(app.port, "GET", "/hello");
        auto etag = first.headers.get("etag");
        REQUIRE(etag);
        auto again = co_await http_fetch(app.port, "GET", "/hello",
                                         "If-None-Match: " + std::string(*etag) + "\r\n");
        CHECK(again.status == 304);
        CHECK(again.body.empty());
        CHECK(again.headers.get("etag") == *etag);
        CHECK_FALSE(again.headers.contains("content-type"));
        CHECK_FALSE(again.headers.contains("content-length"));
        auto weak = co_await http_fetch(app.port, "GET", "/hello",
                                        "If-None-Match: \"a\" , W/" + std::string(*etag) + "\r\n");
        CHECK(weak.status == 304);
        // If-Match: 412 unless it names this body (strong comparison); it comes first.
        auto matching = co_await http_fetch(app.port, "GET", "/hello",
                                            "If-Match: " + std::string(*etag) + "\r\n");
        CHECK(matching.status == 200);
        for (std::string tag : {std::string("\"nope\""), "W/" + std::string(*etag)}) {
            auto failed = co_await http_fetch(
                app.port, "GET", "/hello",
                "If-Match: " + tag + "\r\nIf-None-Match: " + std::string(*etag) + "\r\n");
            CHECK(failed.status == 412);
            CHECK(failed.body.empty());
        }
        auto other = co_await http_fetch(app.port, "GET", "/hello", "If-None-Match: \"nope\"\r\n");
        CHECK(other.status == 200);
    };
    gale::test::run(body());
}

TEST_CASE("a gzip body gets the weak form of the identity body's ETag", "[web][etag]") {
    gale::web::ApplicationSettings settings;
    settings.compress_response = true;
    auto body = [](gale::web::ApplicationSettings app_settings) -> Task<void> {
        std::vector<gale::web::Route> extra;
        extra.push_back(route<LongTextHandler>("/long"));
        App app(app_settings, std::move(extra));
        auto identity = co_await http_fetch(app.port, "GET", "/long");
        std::string strong(identity.headers.get_or("etag", ""));
        REQUIRE(strong.starts_with('"'));
        // RFC 9110 §8.8.1: one strong tag may not name two representations.
        auto gzipped = co_await http_fetch(app.port, "GET", "/long", "Accept-Encoding: gzip\r\n");
        CHECK(gzipped.headers.get_or("content-encoding", "") == "gzip");
        CHECK(gzipped.headers.get_or("etag", "") == "W/" + strong);
        // Either tag revalidates either representation (weak comparison), and the 304 carries
        // the tag its 200 would have.
        for (const std::string& tag : {strong, "W/" + strong}) {
            auto revalidated =
                co_await http_fetch(app.port, "GET", "/long",
                                    "Accept-Encoding: gzip\r\nIf-None-Match: " + tag + "\r\n");
            CHECK(revalidated.status == 304);
            CHECK(revalidated.headers.get_or("etag", "") == "W/" + strong);
            auto plain =
                co_await http_fetch(app.port, "GET", "/long", "If-None-Match: " + tag + "\r\n");
            CHECK(plain.status == 304);
            CHECK(plain.headers.get_or("etag", "") == strong);
        }
    };
    gale::test::run(body(settings));
}

TEST_CASE("If-Modified-Since and If-Unmodified-Since against the handler's Last-Modified",
          "[web][etag]") {
    auto body = []() -> Task<void> {
        std::vector<gale::web::Route> extra;
        extra.push_back(route<DatedHandler>("/dated"));
        extra.push_back(route<TaggedHandler>("/tagged"));
        App app({}, std::move(extra));
        auto status_with = [&app](std::string fields) -> Task<int> {
            auto response = co_await http_fetch(app.port, "GET", "/dated", std::move(fields));
            co_return response.status;
        };
        const std::string same = "Tue, 02 Jan 2024 03:04:05 GMT";
        const std::string earlier = "Mon, 01 Jan 2024 00:00:00 GMT";
        const std::string later = "Wed, 03 Jan 2024 00:00:00 GMT";
        CHECK(co_await status_with("If-Modified-Since: " + same + "\r\n") == 304);
        CHECK(co_await status_with("If-Modified-Since: " + later + "\r\n") == 304);
        CHECK(co_await status_with("If-Modified-Since: " + earlier + "\r\n") == 200);
        CHECK(co_await status_with("If-Modified-Since: yesterday\r\n") == 200);  // ignored
        CHECK(co_await status_with("If-Unmodified-Since: " + earlier + "\r\n") == 412);
        CHECK(co_await status_with("If-Unmodified-Since: " + same + "\r\n") == 200);
        CHECK(co_await status_with("If-Unmodified-Since: nonsense\r\n") == 200);  // ignored
        // RFC 9110 §13.2.2: If-None-Match replaces If-Modified-Since, If-Match replaces
        // If-Unmodified-Since.
        CHECK(co_await status_with("If-None-Match: \"other\"\r\nIf-Modified-Since: " + same +
                                   "\r\n") == 200);
        CHECK(co_await status_with("If-Match: *\r\nIf-Unmodified-Since: " + earlier + "\r\n") ==
              200);
        // A handler's own ETag is what the conditions compare, whatever the body's size.
        auto tagged = co_await http_fetch(app.port, "GET", "/tagged", "If-None-Match: \"v1\"\r\n");
        CHECK(tagged.status == 304);
        CHECK(tagged.headers.get("etag") == "\"v1\"");
        auto stale = co_await http_fetch(app.port, "GET", "/tagged", "If-Match: \"v0\"\r\n");
        CHECK(stale.status == 412);
        auto fresh = co_await http_fetch(app.port, "GET", "/tagged", "If-Match: \"v1\"\r\n");
        CHECK(fresh.status == 200);
        // Without a Last-Modified the dates say nothing.
        auto hello =
            co_await http_fetch(app.port, "GET", "/hello", "If-Modified-Since: " + later + "\r\n");
        CHECK(hello.status == 200);
    };
    gale::test::run(body());
}

TEST_CASE("prepare, early finish and on_finish", "[web][lifecycle]") {
    std::vector<std::string> log;
    auto body = [](std::vector<std::string>& events) -> Task<void> {
        std::vector<gale::web::Route> extra;
        extra.push_back(route<LifecycleHandler>(
            "/life", [&events] { return std::make_unique<LifecycleHandler>(events); }));
        App app({}, std::move(extra));
        auto full = co_await http_fetch(app.port, "GET", "/life");
        CHECK(full.status == 200);
        CHECK(events == std::vector<std::string>{"prepare", "get", "finish"});
        events.clear();
        auto stopped = co_await http_fetch(app.port, "GET", "/life?stop=1");
        CHECK(stopped.status == 202);
        CHECK(events == std::vector<std::string>{"prepare", "finish"});
    };
    gale::test::run(body(log));
}

TEST_CASE("on_connection_close when the client goes away", "[web][lifecycle]") {
    bool closed = false;
    auto body = [](bool& flag) -> Task<void> {
        std::vector<gale::web::Route> extra;
        extra.push_back(route<WaitingHandler>(
            "/wait", [&flag] { return std::make_unique<WaitingHandler>(flag); }));
        App app({}, std::move(extra));
        {
            auto stream =
                co_await gale::connect_to(*gale::SocketAddress::from_ip("127.0.0.1", app.port));
            co_await stream.write("GET /wait HTTP/1.1\r\nHost: a\r\n\r\n");
            co_await gale::sleep(50ms);
        }
        for (int i = 0; i < 100 && !flag; ++i) {
            co_await gale::sleep(10ms);
        }
    };
    gale::test::run(body(closed));
    CHECK(closed);
}

TEST_CASE("host-specific routes come first", "[web][routing]") {
    auto body = []() -> Task<void> {
        App app;
        app.application->add_host_routes("api\\.example\\.com", {route<ArgsHandler>("/hello")});
        auto other = co_await gale::test::http_exchange(
            app.port, "GET /hello HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n");
        CHECK(other.body == "hello");
        auto api = co_await gale::test::http_exchange(
            app.port,
            "GET /hello HTTP/1.1\r\nHost: API.example.com:8080\r\nConnection: close\r\n\r\n");
        CHECK(nlohmann::json::parse(api.body)["name"] == "none");
    };
    gale::test::run(body());
}

TEST_CASE("static files: types, validators, ranges, traversal, versions", "[web][static]") {
    gale::test::TemporaryDirectory directory;
    std::filesystem::create_directories(directory.path() / "static" / "css");
    {
        std::ofstream(directory.path() / "static" / "css" / "site.css") << "body { color: red; }";
        std::ofstream(directory.path() / "static" / "page.txt") << std::string(5000, 'p');
        std::ofstream(directory.path() / "static" / "empty.txt");
        std::ofstream(directory.path() / "secret.txt") << "outside the root";
        std::ofstream big(directory.path() / "static" / "big.bin", std::ios::binary);
        for (int i = 0; i < 1'000'000; ++i) {
            big.put(static_cast<char>(i % 251));
        }
    }
    gale::web::ApplicationSettings settings;
    settings.static_path = (directory.path() / "static").string();
    settings.compress_response = true;
    auto body = [](gale::web::ApplicationSettings app_settings) -> Task<void> {
        App app(app_settings);
        // HEAD gets the fields GET gets, gzip and its length included.
        auto gzipped =
            co_await http_fetch(app.port, "GET", "/static/page.txt", "Accept-Encoding: gzip\r\n");
        CHECK(gzipped.headers.get("content-encoding") == "gzip");
        auto gzipped_head =
            co_await http_fetch(app.port, "HEAD", "/static/page.txt", "Accept-Encoding: gzip\r\n");
        CHECK(gzipped_head.body.empty());
        CHECK(gzipped_head.headers.get("content-encoding") == "gzip");
        CHECK(gzipped_head.headers.get("content-length") == gzipped.headers.get("content-length"));
        // A range is bytes of the file itself: never gzipped.
        auto gzip_range = co_await http_fetch(app.port, "GET", "/static/page.txt",
                                              "Accept-Encoding: gzip\r\nRange: bytes=0-1999\r\n");
        CHECK(gzip_range.status == 206);
        CHECK_FALSE(gzip_range.headers.contains("content-encoding"));
        CHECK(gzip_range.body == std::string(2000, 'p'));
        auto plain_head = co_await http_fetch(app.port, "HEAD", "/static/page.txt");
        CHECK(plain_head.headers.get("content-length") == "5000");
        CHECK(plain_head.headers.get("vary") == "Accept-Encoding");

        auto css = co_await http_fetch(app.port, "GET", "/static/css/site.css");
        CHECK(css.status == 200);
        CHECK(css.body == "body { color: red; }");
        CHECK(css.headers.get_or("content-type", "").rfind("text/css", 0) == 0);
        auto etag = css.headers.get("etag");
        auto modified = css.headers.get("last-modified");
        REQUIRE(etag);
        REQUIRE(modified);
        auto by_etag = co_await http_fetch(app.port, "GET", "/static/css/site.css",
                                           "If-None-Match: " + std::string(*etag) + "\r\n");
        CHECK(by_etag.status == 304);
        auto by_date = co_await http_fetch(app.port, "GET", "/static/css/site.css",
                                           "If-Modified-Since: " + std::string(*modified) + "\r\n");
        CHECK(by_date.status == 304);
        // A 304 keeps the validators but not the representation's metadata.
        CHECK(by_etag.headers.get("etag") == *etag);
        CHECK_FALSE(by_etag.headers.contains("content-type"));
        auto weak = co_await http_fetch(app.port, "GET", "/static/css/site.css",
                                        "If-None-Match: \"x\", W/" + std::string(*etag) + "\r\n");
        CHECK(weak.status == 304);
        // If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
        auto changed_tag = co_await http_fetch(
            app.port, "GET", "/static/css/site.css",
            "If-None-Match: \"other\"\r\nIf-Modified-Since: " + std::string(*modified) + "\r\n");
        CHECK(changed_tag.status == 200);

        // If-Match and If-Unmodified-Since: 412 unless the file is the one the client names.
        auto matching = co_await http_fetch(app.port, "GET", "/static/css/site.css",
                                            "If-Match: " + std::string(*etag) + "\r\n");
        CHECK(matching.status == 200);
        for (std::string precondition :
             {std::string("If-Match: \"other\"\r\n"), "If-Match: W/" + std::string(*etag) + "\r\n",
              std::string("If-Unmodified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\n")}) {
            INFO(precondition);
            auto failed =
                co_await http_fetch(app.port, "GET", "/static/css/site.css", precondition);
            CHECK(failed.status == 412);
        }
        auto unmodified =
            co_await http_fetch(app.port, "GET", "/static/css/site.css",
                                "If-Unmodified-Since: " + std::string(*modified) + "\r\n");
        CHECK(unmodified.status == 200);

        // If-Range: the range applies only to the copy the client names.
        for (std::string validator : {std::string(*etag), std::string(*modified)}) {
            auto current =
                co_await http_fetch(app.port, "GET", "/static/css/site.css",
                                    "Range: bytes=0-3\r\nIf-Range: " + validator + "\r\n");
            CHECK(current.status == 206);
        }
        for (std::string validator : {std::string("\"other\""), "W/" + std::string(*etag),
                                      std::string("Sat, 01 Jan 2000 00:00:00 GMT")}) {
            INFO(validator);
            auto stale = co_await http_fetch(app.port, "GET", "/static/css/site.css",
                                             "Range: bytes=0-3\r\nIf-Range: " + validator + "\r\n");
            CHECK(stale.status == 200);
            CHECK(stale.body == "body { color: red; }");
        }
        // Range is for GET only.
        auto head_range =
            co_await http_fetch(app.port, "HEAD", "/static/css/site.css", "Range: bytes=0-3\r\n");
        CHECK(head_range.status == 200);
        CHECK(head_range.headers.get("content-length") == "20");

        auto range =
            co_await http_fetch(app.port, "GET", "/static/css/site.css", "Range: bytes=0-3\r\n");
        CHECK(range.status == 206);
        CHECK(range.body == "body");
        CHECK(range.headers.get("content-range") == "bytes 0-3/20");
        auto suffix =
            co_await http_fetch(app.port, "GET", "/static/css/site.css", "Range: bytes=-4\r\n");
        CHECK(suffix.body == "d; }");
        auto unsatisfiable =
            co_await http_fetch(app.port, "GET", "/static/css/site.css", "Range: bytes=100-\r\n");
        CHECK(unsatisfiable.status == 416);
        CHECK(unsatisfiable.headers.get("content-range") == "bytes */20");
        auto zero_suffix =
            co_await http_fetch(app.port, "GET", "/static/css/site.css", "Range: bytes=-0\r\n");
        CHECK(zero_suffix.status == 416);
        // RFC 9110 §14.1.2: a non-zero suffix is satisfiable even against an empty file, but no
        // range can name its (empty) whole: 200.
        auto empty_suffix =
            co_await http_fetch(app.port, "GET", "/static/empty.txt", "Range: bytes=-5\r\n");
        CHECK(empty_suffix.status == 200);
        CHECK(empty_suffix.body.empty());
        auto empty_start =
            co_await http_fetch(app.port, "GET", "/static/empty.txt", "Range: bytes=0-\r\n");
        CHECK(empty_start.status == 416);
        CHECK(empty_start.headers.get("content-range") == "bytes */0");

        for (std::string path : {"/static/../secret.txt", "/static/%2e%2e/secret.txt",
                                 "/static/css/../../secret.txt"}) {
            auto escaped = co_await http_fetch(app.port, "GET", path);
            INFO(path);
            CHECK((escaped.status == 403 || escaped.status == 404));
            CHECK(escaped.body.find("outside the root") == std::string::npos);
        }
        auto missing = co_await http_fetch(app.port, "GET", "/static/none.txt");
        CHECK(missing.status == 404);
        auto directory_listing = co_await http_fetch(app.port, "GET", "/static/css/");
        CHECK(directory_listing.status == 403);

        std::string url = app.application->static_url("css/site.css");
        CHECK(url.rfind("/static/css/site.css?v=", 0) == 0);
        auto versioned = co_await http_fetch(app.port, "GET", url);
        CHECK(versioned.headers.get_or("cache-control", "").find("max-age=31536000") !=
              std::string::npos);

        auto big = co_await http_fetch(app.port, "GET", "/static/big.bin");
        CHECK(big.status == 200);
        CHECK(big.body.size() == 1'000'000);
        CHECK(big.headers.get("content-length") == "1000000");
        CHECK(static_cast<unsigned char>(big.body[999'999]) == 999'999 % 251);
        auto head = co_await http_fetch(app.port, "HEAD", "/static/big.bin");
        CHECK(head.body.empty());
        CHECK(head.headers.get("content-length") == "1000000");
    };
    gale::test::run(body(settings));
}
