#pragma once
/// `Application`: routes, settings, and the glue between the HTTP server and request
/// handlers (Tornado's `tornado.web.Application`).
///
/// ```
/// class MainHandler : public gale::web::RequestHandler {
///     gale::Task<void> get() override { write("Hello, world"); co_return; }
/// };
///
/// gale::web::Application app({
///     gale::web::route<MainHandler>("/"),
///     gale::web::route<UserHandler>("/user/(?P<id>[0-9]+)", "user"),
/// });
/// app.listen(8888);
/// ```
///
/// Routes are regular expressions matched against the whole path, in order; the first match
/// wins. Groups become the handler's path arguments: positional ones (`(...)`) and named ones
/// (`(?P<name>...)`, Tornado's syntax, or `(?<name>...)`). Routes without any regular
/// expression syntax are matched by a plain string comparison. A named route can be turned
/// back into a URL with `reverse_url`. Host-specific routes are tried first for requests whose
/// Host matches their host pattern.
///
/// One Application per loop (thread): it keeps per-thread caches (templates, static file
/// versions). To serve on N threads, build one in each (`serve` does it).

#include <gale/http/server.hpp>
#include <gale/web/cookies.hpp>

#include <concepts>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gale::web {

class RequestHandler;
class TemplateLoader;
class WebSocketHandler;

struct ApplicationSettings {
    ApplicationSettings() = default;  // not an aggregate: see docs/pitfalls.md (GCC 12)

    /// Debug mode: tracebacks (exception messages) in error pages, templates and static file
    /// versions re-read when their files change.
    bool debug = false;
    /// gzip compressible responses for clients that accept it.
    bool compress_response = false;
    /// Secret(s) for signed cookies: `cookie_secret`, or several `cookie_secrets` by key
    /// version with `cookie_key_version` the one used to sign (old versions still verify).
    std::string cookie_secret{};
    std::map<int, std::string> cookie_secrets{};
    std::optional<int> cookie_key_version{};
    /// Require a valid XSRF token (cookie `_xsrf` + form field, query argument or the
    /// X-XSRFToken / X-CSRFToken header) on POST, PUT, PATCH and DELETE.
    bool xsrf_cookies = false;
    CookieOptions xsrf_cookie_options{};
    /// Where `require_login()` redirects unauthenticated GET/HEAD requests (others get 403).
    std::string login_url{};
    /// Static files: the directory, and the URL prefix served by the built-in handler.
    std::string static_path{};
    std::string static_url_prefix = "/static/";
    /// Templates directory (`render`).
    std::string template_path{};
    /// The largest request body handlers accept (413 above it).
    std::uint64_t max_body_size = 64 * 1024 * 1024;
    /// ETag and 304 Not Modified for GET/HEAD responses of at most this size (0: off).
    std::size_t etag_max_body_size = 1024 * 1024;
};

/// One routing rule. Build with `route<Handler>(...)` or `route(pattern, factory)`.
struct Route {
    std::string pattern;
    std::function<std::unique_ptr<RequestHandler>()> factory;
    std::string name{};
    /// HTTP methods the handler implements (for 405 and the Allow header).
    std::vector<std::string> methods{};
};

namespace detail {
template <class Handler>
std::vector<std::string> implemented_methods();
}

/// A route to `Handler`, default-constructed per request.
template <class Handler>
Route route(std::string pattern, std::string name = {}) {
    return Route{std::move(pattern), [] { return std::make_unique<Handler>(); }, std::move(name),
                 detail::implemented_methods<Handler>()};
}

/// A route whose handler `factory` builds (Tornado's `initialize` arguments become the
/// factory's captures). `Handler` names the type, for the methods it implements.
template <class Handler, class Factory>
requires std::invocable<Factory&> Route route(std::string pattern, Factory factory,
                                              std::string name = {}) {
    return Route{
        std::move(pattern),
        [factory = std::move(factory)]() -> std::unique_ptr<RequestHandler> { return factory(); },
        std::move(name), detail::implemented_methods<Handler>()};
}

class Application {
  public:
    explicit Application(std::vector<Route> routes, ApplicationSettings settings = {});
    Application(const Application&) = delete;
    Application& operator=(const Application&) = delete;
    ~Application();

    /// Adds routes tried (in order) after the existing ones.
    void add_routes(std::vector<Route> routes);
    /// Adds routes tried first for requests whose Host (without port) fully matches
    /// `host_pattern` (a regular expression).
    void add_host_routes(std::string host_pattern, std::vector<Route> routes);

    /// Starts an HTTP server for this application on the current loop.
    std::vector<SocketAddress> listen(std::uint16_t port, const ListenOptions& listen_options = {},
                                      http::HTTPServerOptions server_options = {});
    /// Stops the servers started by `listen`, letting requests finish for up to `grace`.
    Task<void> shutdown(IOLoop::Duration grace);

    /// The handler to give an HTTPServer of your own.
    http::HTTPHandler handler();

    /// The URL of the route named `name`, with `arguments` in place of its groups
    /// (URL-escaped). Throws gale::Error for an unknown name or a wrong argument count.
    std::string reverse_url(std::string_view name,
                            const std::vector<std::string>& arguments = {}) const;
    /// The URL of a static file with a version argument (`?v=<hash of its content>`), so
    /// it can be cached for a year. Missing files get no version.
    std::string static_url(std::string_view path);

    const ApplicationSettings& settings() const noexcept { return settings_; }
    TemplateLoader& templates();

    struct RouteTable;

  private:
    friend class RequestHandler;
    friend class WebSocketHandler;
    friend std::size_t close_all_websockets(const Application& application, int code,
                                            std::string_view reason);

    Task<void> dispatch(http::HTTPRequest& request, http::HTTPResponse& response);

    ApplicationSettings settings_;
    std::unique_ptr<RouteTable> routes_;
    std::unique_ptr<TemplateLoader> templates_;
    std::map<std::string, std::pair<std::string, std::int64_t>, std::less<>> static_versions_;
    std::vector<std::unique_ptr<http::HTTPServer>> servers_;
    // The application's open WebSockets, which shutdown closes with 1001: an intrusive list
    // through the handlers, which unlink themselves when they end.
    WebSocketHandler* open_websockets_ = nullptr;
};

/// Serves the application built by `make_application` on `threads` threads (one application
/// and loop per thread, SO_REUSEPORT listeners) until SIGINT/SIGTERM, then shuts down
/// gracefully within `grace`.
void serve(std::function<std::unique_ptr<Application>()> make_application, std::uint16_t port,
           ListenOptions listen_options = {}, http::HTTPServerOptions server_options = {},
           unsigned threads = 1, IOLoop::Duration grace = std::chrono::seconds(5));

}  // namespace gale::web

#include <gale/web/request_handler.hpp>

namespace gale::web::detail {

// A handler may declare `static constexpr bool handles_all_methods = true;` to accept every
// method. Otherwise a method is implemented when the handler declares its own override: then
// `&Handler::get` has type `Task<void> (Handler::*)()` instead of `Task<void>
// (RequestHandler::*)()`.
template <class Handler>
std::vector<std::string> implemented_methods() {
    static_assert(std::is_base_of_v<RequestHandler, Handler>, "routes lead to RequestHandlers");
    if constexpr (requires { Handler::handles_all_methods; }) {
        // Handlers that answer in prepare() whatever the method (ErrorHandler).
        return {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    }
    std::vector<std::string> methods;
    auto add_if = [&methods](bool overridden, const char* name) {
        if (overridden) {
            methods.emplace_back(name);
        }
    };
    using Base = Task<void> (RequestHandler::*)();
    add_if(!std::is_same_v<decltype(&Handler::get), Base>, "GET");
    add_if(!std::is_same_v<decltype(&Handler::get), Base> ||
               !std::is_same_v<decltype(&Handler::head), Base>,
           "HEAD");
    add_if(!std::is_same_v<decltype(&Handler::post), Base>, "POST");
    add_if(!std::is_same_v<decltype(&Handler::put), Base>, "PUT");
    add_if(!std::is_same_v<decltype(&Handler::patch), Base>, "PATCH");
    add_if(!std::is_same_v<decltype(&Handler::delete_), Base>, "DELETE");
    methods.emplace_back("OPTIONS");
    return methods;
}

}  // namespace gale::web::detail
