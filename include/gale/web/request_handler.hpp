#pragma once
/// `RequestHandler`: one instance per request, Tornado's shape.
///
/// Override the methods you serve, as public coroutines: `get`, `head` (defaults to `get`
/// without the body), `post`, `put`, `patch`, `delete_`, `options` (defaults to 204 with an
/// Allow header). Other methods get 405 with `Allow`. Before the method: `prepare()`; after the
/// response: `on_finish()`. If the client disconnects while the handler waits,
/// `on_connection_close()` runs and the waiting operation throws `OperationCancelled`.
///
/// ```
/// class HelloHandler : public gale::web::RequestHandler {
/// public:
///     gale::Task<void> get() override {
///         write({{"hello", get_argument("name", "world")}});   // JSON
///         co_return;
///     }
/// };
/// ```
///
/// The response ends when the method returns (or with `finish()`), with Content-Length, and
/// an ETag (304 on a matching If-None-Match) for small GET responses. Throw
/// `http::HTTPError(status)` or call `send_error(status)` for error pages (HTML, or JSON when
/// the client asks for JSON; exception details only in debug mode).

#include <gale/http/request.hpp>
#include <gale/http/response.hpp>
#include <gale/web/cookies.hpp>
#include <gale/web/json_writer.hpp>
#include <gale/web/multipart.hpp>
#include <gale/web/url.hpp>
#include <gale/web/xsrf.hpp>

#include <nlohmann/json.hpp>

#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gale::web {

class Application;

/// Thrown by `require_login()` after redirecting, to end the handler early without an error;
/// handlers may throw it too. The framework catches it and sends the response.
class Finish : public Error {
  public:
    Finish() : Error("handler finished early") {}
};

class RequestHandler {
  public:
    RequestHandler();
    // A handler is made and destroyed for every request: its memory comes from the per-thread
    // cache that coroutine frames use, not from malloc.
    static void* operator new(std::size_t size);
    static void operator delete(void* pointer, std::size_t size) noexcept;
    RequestHandler(const RequestHandler&) = delete;
    RequestHandler& operator=(const RequestHandler&) = delete;
    virtual ~RequestHandler();

    // --- what subclasses override -----------------------------------------------------
    /// Runs before the method. The default does nothing: it returns an empty task (no
    /// coroutine frame), which is complete when awaited, so an override may await it or not.
    virtual Task<void> prepare();
    virtual Task<void> get();
    virtual Task<void> head();
    virtual Task<void> post();
    virtual Task<void> put();
    virtual Task<void> patch();
    virtual Task<void> delete_();
    virtual Task<void> options();
    /// After the response was sent (logging, cleanup).
    virtual void on_finish();
    /// The client went away before the response was finished.
    virtual void on_connection_close();
    /// Writes the error page for `status`; `error` is the exception that caused it, if any.
    virtual void write_error(int status, std::exception_ptr error);
    /// The logged-in user (Tornado's get_current_user); none by default.
    virtual std::optional<std::string> get_current_user();
    /// Where `require_login` sends anonymous users (default: the login_url setting).
    virtual std::string get_login_url();
    /// Whether the request is exempt from the XSRF check; override to disable it per handler.
    virtual bool check_xsrf_required() const;
    /// Tornado's @stream_request_body: when true, the body is not read before prepare(); the
    /// handler reads it with request().read_body_chunk() (and there are no body arguments).
    virtual bool stream_request_body() const;

    // --- the request --------------------------------------------------------------------
    http::HTTPRequest& request() noexcept { return *request_; }
    Application& application() noexcept { return *application_; }
    /// Positional groups of the route's pattern, and named ones.
    const std::vector<std::string>& path_args() const noexcept { return path_args_; }
    const std::map<std::string, std::string, std::less<>>& path_kwargs() const noexcept {
        return path_kwargs_;
    }

    /// The last value of a query or body argument (whitespace-stripped like Tornado), or
    /// `fallback`; without a fallback a missing argument is HTTPError(400).
    std::string get_argument(std::string_view name);
    std::string get_argument(std::string_view name, std::string_view fallback);
    std::vector<std::string> get_arguments(std::string_view name);
    std::optional<std::string> get_query_argument(std::string_view name);
    std::vector<std::string> get_query_arguments(std::string_view name);
    std::optional<std::string> get_body_argument(std::string_view name);
    std::vector<std::string> get_body_arguments(std::string_view name);
    const Arguments& query_arguments() const noexcept;
    const Arguments& body_arguments() const noexcept;
    /// Files uploaded with multipart/form-data (their bodies are views of `body()`).
    const std::vector<UploadedFile>& files() const noexcept;
    /// The files uploaded in form field `name`.
    std::vector<const UploadedFile*> files(std::string_view name) const;
    /// The request body (read before prepare()).
    const std::string& body() const noexcept;
    /// The body parsed as JSON; HTTPError(400) when it is not valid JSON.
    nlohmann::json get_json_body();

    // --- the response -------------------------------------------------------------------
    void set_status(int status);
    int get_status() const noexcept;
    /// Sets a header, replacing earlier values. Throws on names or values that would break
    /// the response (CR, LF, NUL: header injection).
    void set_header(std::string_view name, std::string_view value);
    void add_header(std::string_view name, std::string_view value);
    void clear_header(std::string_view name);
    /// Appends to the body. A JSON value sets Content-Type: application/json; invalid UTF-8 in
    /// its strings (bytes echoed from a request, say) is written as U+FFFD, not an error.
    void write(std::string_view text);
    void write(const std::string& text) { write(std::string_view(text)); }
    void write(const char* text) { write(std::string_view(text)); }
    /// Only an actual JSON value takes this overload (strings must not turn into JSON).
    template <class Json>
    requires std::same_as<std::remove_cvref_t<Json>, nlohmann::json>
    void write(const Json& value) { write_json(value); }
    /// The text of a JsonWriter (Content-Type application/json): JSON without building a
    /// document, for hot endpoints. Throws gale::Error while an object or array is open.
    void write(const JsonWriter& json);
    /// Sends what was written so far (the response becomes chunked); waits for a slow client.
    Task<void> flush();
    /// Ends the response (ETag/304 handling, Content-Length).
    Task<void> finish();
    bool finished() const noexcept { return finished_; }
    /// Renders the template `name` with `data` and writes it (Content-Type text/html).
    void render(std::string_view name, nlohmann::json data = nlohmann::json::object());
    std::string render_string(std::string_view name,
                              nlohmann::json data = nlohmann::json::object());
    /// Redirects (302, or 301 when permanent, or `status`). The response is complete: writing
    /// more is an error; it is sent when the handler returns.
    void redirect(std::string_view url, bool permanent = false, int status = 0);
    /// Replaces the response with the error page for `status`.
    void send_error(int status, std::exception_ptr error = nullptr);

    // --- cookies ------------------------------------------------------------------------
    std::optional<std::string> get_cookie(std::string_view name);
    void set_cookie(std::string_view name, std::string_view value,
                    const CookieOptions& options = {});
    void clear_cookie(std::string_view name, const CookieOptions& options = {});
    /// A cookie signed with the application's cookie secret; nullopt when missing, tampered
    /// with, signed with an unknown key or older than `max_age_days`.
    std::optional<std::string> get_signed_cookie(std::string_view name, int max_age_days = 31);
    void set_signed_cookie(std::string_view name, std::string_view value, int expires_days = 30,
                           CookieOptions options = {});

    // --- XSRF and users -----------------------------------------------------------------
    /// The XSRF token for this user (sets the `_xsrf` cookie when needed), masked anew for each
    /// use as Tornado does, and the hidden form field that carries it.
    std::string xsrf_token();
    std::string xsrf_form_html();
    /// Throws HTTPError(403) unless the request carries a token matching the cookie.
    void check_xsrf_cookie();
    /// The current user (calls get_current_user() once).
    const std::optional<std::string>& current_user();
    /// Tornado's @authenticated: anonymous GET/HEAD requests are redirected to the login URL
    /// (with `next`), others get 403. Ends the handler (throws Finish) when not logged in.
    void require_login();

    // --- URLs ---------------------------------------------------------------------------
    std::string static_url(std::string_view path);
    std::string reverse_url(std::string_view name, const std::vector<std::string>& arguments = {});

  protected:
    // --- protocols that take the connection over after a 101 (WebSocketHandler) ---------
    /// Called by a method that finished a 101 and detached the stream: once the request is
    /// over (`on_finish` has run), the handler outlives the HTTP exchange and
    /// `serve_upgraded(self)` runs in the connection's stead. `request()` is then a detached
    /// copy (head and addresses, no body) and the response methods throw.
    void hand_over_connection() noexcept { hands_over_connection_ = true; }
    /// What runs after the hand-over (see above). `self` owns this handler: the coroutine
    /// keeps it to its end. The default does nothing.
    virtual Task<void> serve_upgraded(std::unique_ptr<RequestHandler> self);

  private:
    friend class Application;
    // After the hand-over: the handler keeps its own copy of the request, and no response.
    void detach_from_http(std::unique_ptr<http::HTTPRequest> request) noexcept;
    http::HTTPResponse& response();

    // --- the request's life, run by the Application ----------------------------------------
    void bind(Application& application, http::HTTPRequest& request, http::HTTPResponse& response,
              std::vector<std::string> path_args,
              std::map<std::string, std::string, std::less<>> path_kwargs,
              const std::vector<std::string>* allowed_methods) noexcept;
    /// Runs the bound handler for its request; owns it (and, after a hand-over, passes it on).
    static Task<void> execute(std::unique_ptr<RequestHandler> self);
    void check_method();
    void read_query_arguments();
    bool reads_body() const;
    Task<void> read_body_arguments();
    void check_xsrf_if_required();
    Task<void> start_method();
    Task<void> finish_response();
    std::string allow_header() const;

    void check_writable() const;
    void write_json(const nlohmann::json& value);
    // JSON text, as application/json (replacing a Content-Type set before).
    void write_json_text(std::string_view text);
    void parse_body_arguments();
    Task<void> handle_failure(int status, std::exception_ptr error);
    void apply_etag();
    const std::vector<Cookie>& request_cookies();
    const XsrfToken& current_xsrf_token();

    Application* application_ = nullptr;
    http::HTTPRequest* request_ = nullptr;
    http::HTTPResponse* response_ = nullptr;
    std::unique_ptr<http::HTTPRequest> detached_request_;
    const std::vector<std::string>* allowed_methods_ = nullptr;
    std::vector<std::string> path_args_;
    std::map<std::string, std::string, std::less<>> path_kwargs_;
    // Arguments, body, cookies, user, XSRF token: allocated when a request has any of them,
    // so that a plain GET (and a WebSocket, which lives long) carries none of their room.
    struct Inputs;
    Inputs& inputs();
    std::unique_ptr<Inputs> inputs_;
    bool finished_ = false;
    bool done_writing_ = false;
    bool streamed_ = false;
    bool hands_over_connection_ = false;
};

}  // namespace gale::web
