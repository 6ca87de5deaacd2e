#include <gale/web/application.hpp>
#include <gale/web/escape.hpp>
#include <gale/web/etag.hpp>
#include <gale/web/input_error.hpp>
#include <gale/web/multipart.hpp>
#include <gale/web/request_handler.hpp>
#include <gale/web/signed_value.hpp>
#include <gale/web/template.hpp>
#include <gale/web/xsrf.hpp>

#include <gale/http/date.hpp>
#include <gale/http/status.hpp>
#include <gale/ioloop/detail/frame_allocator.hpp>
#include <gale/ioloop/log.hpp>

#include "web/hash_internal.hpp"
#include "web/json_writer_internal.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

namespace gale::web {

namespace {

bool is_one_of(std::string_view method, std::initializer_list<std::string_view> methods) {
    return std::find(methods.begin(), methods.end(), method) != methods.end();
}

// Tornado strips surrounding whitespace and removes control characters from arguments.
std::string clean_argument(std::string_view value) {
    std::string cleaned;
    cleaned.reserve(value.size());
    for (char c : value) {
        auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            continue;
        }
        cleaned += c;
    }
    std::size_t begin = cleaned.find_first_not_of(" \t\r\n");
    if (begin == std::string::npos) {
        return {};
    }
    std::size_t end = cleaned.find_last_not_of(" \t\r\n");
    return cleaned.substr(begin, end - begin + 1);
}

// A 64-bit hash of the body in 11 base64url digits, quoted: 13 characters, on the stack. An
// ETag only has to change when the body does; a cryptographic hash would cost more and pull
// in OpenSSL's initialisation (memory).
struct ContentTag {
    std::array<char, 13> text;
    std::string_view view() const noexcept { return {text.data(), text.size()}; }
};

ContentTag content_etag(std::string_view data) {
    static constexpr char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::uint64_t hash = detail::hash_bytes(data);
    ContentTag tag;
    tag.text[0] = '"';
#pragma GCC unroll 11
    for (std::size_t i = 1; i <= 11; ++i) {
        tag.text[i] = digits[(hash >> (6 * (i - 1))) & 63];
    }
    tag.text[12] = '"';
    return tag;
}

// A date condition against the Last-Modified the handler set: whether the representation
// changed after the date in `field`; nullopt when that cannot be told (no such field, an
// invalid date, no Last-Modified), and the condition is then ignored (RFC 9110 §13.1.3-4).
std::optional<bool> modified_after(const http::HeaderFields& conditions, std::string_view field,
                                   http::HTTPResponse& response) {
    auto since = conditions.get(field);
    auto date = since ? http::parse_http_date(*since) : std::nullopt;
    auto last_modified = date ? response.headers().get("last-modified") : std::nullopt;
    auto modified = last_modified ? http::parse_http_date(*last_modified) : std::nullopt;
    if (!modified) {
        return std::nullopt;
    }
    return *modified > *date;
}

bool wants_json(const http::HeaderFields& headers) {
    std::string_view accept = headers.get_or("accept", "");
    std::size_t json = accept.find("application/json");
    std::size_t html = accept.find("text/html");
    return json != std::string_view::npos && (html == std::string_view::npos || json < html);
}

SignedValueSecrets secrets_of(const ApplicationSettings& settings) {
    if (!settings.cookie_secrets.empty()) {
        int version = settings.cookie_key_version.value_or(settings.cookie_secrets.rbegin()->first);
        return SignedValueSecrets(settings.cookie_secrets, version);
    }
    if (settings.cookie_secret.empty()) {
        throw Error("signed cookies need the cookie_secret (or cookie_secrets) setting");
    }
    return SignedValueSecrets(settings.cookie_secret);
}

}  // namespace

struct RequestHandler::Inputs {
    Arguments query_arguments;
    FormData form;
    std::string body;
    std::optional<std::vector<Cookie>> cookies;
    std::optional<std::optional<std::string>> current_user;
    std::optional<XsrfToken> xsrf_token;
};

namespace {
const Arguments no_arguments;
const FormData no_form;
const std::string no_body;
}  // namespace

RequestHandler::RequestHandler() = default;
RequestHandler::~RequestHandler() = default;

void* RequestHandler::operator new(std::size_t size) {
    return gale::detail::allocate_frame(size);
}

void RequestHandler::operator delete(void* pointer, std::size_t size) noexcept {
    gale::detail::deallocate_frame(pointer, size);
}

RequestHandler::Inputs& RequestHandler::inputs() {
    if (!inputs_) {
        inputs_ = std::make_unique<Inputs>();
    }
    return *inputs_;
}

const Arguments& RequestHandler::query_arguments() const noexcept {
    return inputs_ ? inputs_->query_arguments : no_arguments;
}
const Arguments& RequestHandler::body_arguments() const noexcept {
    return inputs_ ? inputs_->form.fields : no_form.fields;
}
const std::vector<UploadedFile>& RequestHandler::files() const noexcept {
    return inputs_ ? inputs_->form.files : no_form.files;
}
std::vector<const UploadedFile*> RequestHandler::files(std::string_view name) const {
    return inputs_ ? inputs_->form.files_named(name) : std::vector<const UploadedFile*>();
}
const std::string& RequestHandler::body() const noexcept {
    return inputs_ ? inputs_->body : no_body;
}

// --- default implementations ----------------------------------------------------------------

Task<void> RequestHandler::prepare() {
    return {};  // an empty task: nothing to run, no frame, complete when awaited
}
Task<void> RequestHandler::get() {
    throw http::HTTPError(405);
}
Task<void> RequestHandler::head() {
    co_await get();
}
Task<void> RequestHandler::post() {
    throw http::HTTPError(405);
}
Task<void> RequestHandler::put() {
    throw http::HTTPError(405);
}
Task<void> RequestHandler::patch() {
    throw http::HTTPError(405);
}
Task<void> RequestHandler::delete_() {
    throw http::HTTPError(405);
}

Task<void> RequestHandler::options() {
    set_status(204);
    co_return;
}

void RequestHandler::on_finish() {}
void RequestHandler::on_connection_close() {}
std::optional<std::string> RequestHandler::get_current_user() {
    return std::nullopt;
}
std::string RequestHandler::get_login_url() {
    return application_->settings().login_url;
}
bool RequestHandler::check_xsrf_required() const {
    return true;
}
bool RequestHandler::stream_request_body() const {
    return false;
}

void RequestHandler::write_error(int status, std::exception_ptr error) {
    std::string reason(http::reason_phrase(status));
    std::string detail;
    if (error && application_->settings().debug) {
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& exception) {
            detail = exception.what();
        } catch (...) {
            detail = "unknown exception";
        }
    }
    if (wants_json(request_->headers())) {
        nlohmann::json page = {{"status", status}, {"reason", reason}};
        if (!detail.empty()) {
            page["error"] = detail;
        }
        write(page);
        return;
    }
    set_header("Content-Type", "text/html; charset=UTF-8");
    std::string title = std::to_string(status) + ": " + xhtml_escape(reason);
    std::string page = "<html><title>" + title + "</title><body>" + title;
    if (!detail.empty()) {
        page += "<pre>" + xhtml_escape(detail) + "</pre>";
    }
    write(page + "</body></html>");
}

// --- the request's life -----------------------------------------------------------------------

http::HTTPResponse& RequestHandler::response() {
    if (response_ == nullptr) [[unlikely]] {
        throw Error("the response is over: the connection was handed over (WebSocket)");
    }
    return *response_;
}

void RequestHandler::detach_from_http(std::unique_ptr<http::HTTPRequest> request) noexcept {
    detached_request_ = std::move(request);
    request_ = detached_request_.get();
    response_ = nullptr;
}

Task<void> RequestHandler::serve_upgraded(std::unique_ptr<RequestHandler>) {
    co_return;
}

void RequestHandler::bind(Application& application, http::HTTPRequest& request,
                          http::HTTPResponse& response, std::vector<std::string> path_args,
                          std::map<std::string, std::string, std::less<>> path_kwargs,
                          const std::vector<std::string>* allowed_methods) noexcept {
    application_ = &application;
    request_ = &request;
    response_ = &response;
    path_args_ = std::move(path_args);
    path_kwargs_ = std::move(path_kwargs);
    allowed_methods_ = allowed_methods;
    request.set_max_body_size(application.settings().max_body_size);  // streamed bodies too
}

// One coroutine frame for the whole request: the body read, prepare() and the method are the
// only tasks it awaits on the common path. (Three frames fewer than a dispatch/run/finish
// chain: about 2 % of a pipelined plaintext request's instructions each.)
Task<void> RequestHandler::execute(std::unique_ptr<RequestHandler> self) {
    RequestHandler& handler = *self;
    http::HTTPRequest& request = *handler.request_;
    int failure_status = 0;
    std::exception_ptr failure;
    bool disconnected = false;
    try {
        handler.check_method();
        handler.read_query_arguments();
        if (handler.reads_body()) {
            co_await handler.read_body_arguments();
        }
        handler.check_xsrf_if_required();
        co_await handler.prepare();
        if (!handler.finished_) {
            co_await handler.start_method();
        }
        if (!handler.finished_) {
            co_await handler.finish_response();
        }
    } catch (const Finish&) {
        // ended early on purpose (redirect, require_login): finished below
    } catch (const http::HTTPError& error) {
        failure_status = error.status();
        failure = std::current_exception();
    } catch (const InputError& error) {
        failure_status = 400;
        failure = std::current_exception();
    } catch (const OperationCancelled&) {
        disconnected = request.connection_closed();
        if (!disconnected) {
            throw;  // the server is shutting down
        }
    } catch (const StreamClosedError&) {
        disconnected = true;
    } catch (const std::exception& error) {
        log::error("{} {} ({}): {}", request.method(), request.target(), request.remote_ip(),
                   error.what());
        failure_status = 500;
        failure = std::current_exception();
    }
    if (disconnected) {
        handler.on_connection_close();
        throw StreamClosedError("client disconnected");
    }
    if (failure) {
        co_await handler.handle_failure(failure_status, failure);
    } else if (!handler.finished_) {
        co_await handler.finish_response();
    }
    handler.on_finish();
    if (handler.hands_over_connection_) {
        handler.detach_from_http(request.detached_copy());
        Task<void> upgraded = handler.serve_upgraded(std::move(self));
        request.continue_with(std::move(upgraded));
    }
}

std::string RequestHandler::allow_header() const {
    std::string allow;
    for (const std::string& name : *allowed_methods_) {
        allow += (allow.empty() ? "" : ", ") + name;
    }
    return allow;
}

void RequestHandler::check_method() {
    std::string_view method = request_->method();
    const auto& allowed = *allowed_methods_;
    if (std::find(allowed.begin(), allowed.end(), method) == allowed.end()) {
        // A method HTTP does not define is not implemented here at all (RFC 9110 §9.1: 501);
        // a defined one that this resource does not take is 405, with what it takes.
        if (!is_one_of(method, {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
                                "TRACE", "PATCH"})) {
            throw http::HTTPError(501);
        }
        set_header("Allow", allow_header());
        throw http::HTTPError(405);
    }
}

void RequestHandler::read_query_arguments() {
    if (!request_->query().empty()) {
        inputs().query_arguments = parse_query_string(request_->query());
    }
}

bool RequestHandler::reads_body() const {
    return request_->has_body() && !stream_request_body();
}

Task<void> RequestHandler::read_body_arguments() {
    std::string body = co_await request_->read_body();
    inputs().body = std::move(body);
    parse_body_arguments();
}

void RequestHandler::check_xsrf_if_required() {
    if (application_->settings().xsrf_cookies &&
        is_one_of(request_->method(), {"POST", "PUT", "PATCH", "DELETE"}) &&
        check_xsrf_required()) {
        check_xsrf_cookie();
    }
}

// The task of the overridden method for this request (not started: the caller awaits it).
Task<void> RequestHandler::start_method() {
    using Method = Task<void> (RequestHandler::*)();
    static constexpr std::pair<std::string_view, Method> methods[] = {
        {"GET", &RequestHandler::get},     {"HEAD", &RequestHandler::head},
        {"POST", &RequestHandler::post},   {"PUT", &RequestHandler::put},
        {"PATCH", &RequestHandler::patch}, {"DELETE", &RequestHandler::delete_},
    };
    std::string_view method = request_->method();
    for (const auto& [name, member] : methods) {
        if (method == name) {
            return (this->*member)();
        }
    }
    if (method != "OPTIONS") {
        throw http::HTTPError(405);
    }
    const auto& allowed = *allowed_methods_;
    if (std::find(allowed.begin(), allowed.end(), "OPTIONS") != allowed.end() &&
        get_status() == 200 && !response().headers().contains("allow")) {
        set_header("Allow", allow_header());
    }
    return options();
}

void RequestHandler::parse_body_arguments() {
    // urlencoded and multipart/form-data bodies; other types are left to the handler.
    Inputs& parsed = inputs();
    parsed.form = parse_form_body(request_->headers().get_or("content-type", ""), parsed.body);
}

Task<void> RequestHandler::handle_failure(int status, std::exception_ptr error) {
    if (response().head_sent()) {
        throw StreamClosedError("the handler failed after the response started");
    }
    send_error(status, error);
    co_await finish_response();
}

// --- arguments ---------------------------------------------------------------------------------

std::string RequestHandler::get_argument(std::string_view name) {
    auto body_value = body_arguments().last(name);
    auto value = body_value ? body_value : query_arguments().last(name);
    if (!value) {
        throw http::HTTPError(400, "missing argument " + std::string(name));
    }
    return clean_argument(*value);
}

std::string RequestHandler::get_argument(std::string_view name, std::string_view fallback) {
    auto body_value = body_arguments().last(name);
    auto value = body_value ? body_value : query_arguments().last(name);
    return value ? clean_argument(*value) : std::string(fallback);
}

std::vector<std::string> RequestHandler::get_arguments(std::string_view name) {
    std::vector<std::string> values;
    for (const std::string& value : query_arguments().all(name)) {
        values.push_back(clean_argument(value));
    }
    for (const std::string& value : body_arguments().all(name)) {
        values.push_back(clean_argument(value));
    }
    return values;
}

std::optional<std::string> RequestHandler::get_query_argument(std::string_view name) {
    auto value = query_arguments().last(name);
    return value ? std::optional<std::string>(clean_argument(*value)) : std::nullopt;
}

std::vector<std::string> RequestHandler::get_query_arguments(std::string_view name) {
    std::vector<std::string> values;
    for (const std::string& value : query_arguments().all(name)) {
        values.push_back(clean_argument(value));
    }
    return values;
}

std::optional<std::string> RequestHandler::get_body_argument(std::string_view name) {
    auto value = body_arguments().last(name);
    return value ? std::optional<std::string>(clean_argument(*value)) : std::nullopt;
}

std::vector<std::string> RequestHandler::get_body_arguments(std::string_view name) {
    std::vector<std::string> values;
    for (const std::string& value : body_arguments().all(name)) {
        values.push_back(clean_argument(value));
    }
    return values;
}

nlohmann::json RequestHandler::get_json_body() {
    try {
        return nlohmann::json::parse(body());
    } catch (const nlohmann::json::exception& error) {
        throw http::HTTPError(400, std::string("invalid JSON body: ") + error.what());
    }
}

// --- the response ------------------------------------------------------------------------------

void RequestHandler::set_status(int status) {
    response().set_status(status);
}
int RequestHandler::get_status() const noexcept {
    return response_ != nullptr ? response_->status() : 101;  // after a hand-over: its 101
}

void RequestHandler::set_header(std::string_view name, std::string_view value) {
    response().set_header(name, value);
}

void RequestHandler::add_header(std::string_view name, std::string_view value) {
    response().add_header(name, value);
}

void RequestHandler::clear_header(std::string_view name) {
    response().headers().remove(name);
}

void RequestHandler::write(std::string_view text) {
    check_writable();
    if (!response().headers().contains("content-type")) {
        response().set_header("Content-Type", "text/html; charset=UTF-8");
    }
    response().write(text);
}

void RequestHandler::check_writable() const {
    if (finished_ || done_writing_) {
        throw Error("write() after finish() or redirect()");
    }
}

void RequestHandler::write_json_text(std::string_view text) {
    check_writable();
    response().set_header("Content-Type", "application/json; charset=UTF-8");
    response().write(text);
}

void RequestHandler::write_json(const nlohmann::json& value) {
    std::string text;
    detail::append_json(text, value);
    write_json_text(text);
}

void RequestHandler::write(const JsonWriter& json) {
    if (!json.complete()) {
        throw Error("write(JsonWriter): the JSON is not complete");
    }
    write_json_text(json.text());
}

Task<void> RequestHandler::flush() {
    streamed_ = true;
    return response().flush();
}

// The automatic ETag of a small GET or HEAD response (unless the handler set its own), and the
// preconditions in RFC 9110 §13.2.2's order: If-Match (412 unless it names this body, strong
// comparison), or else If-Unmodified-Since; then If-None-Match (304 when it names this body,
// weak comparison), or else If-Modified-Since. The dates are compared with a Last-Modified the
// handler set. The method has run already, which for GET and HEAD changes nothing.
void RequestHandler::apply_etag() {
    const ApplicationSettings& settings = application_->settings();
    std::string_view method = request_->method();
    http::HTTPResponse& answer = response();
    if (streamed_ || answer.status() != 200 || (method != "GET" && method != "HEAD")) {
        return;
    }
    // The handler's own tag, which the preconditions then use, or one computed here. (The
    // fields do not change below, so a view of them stays valid.)
    std::optional<std::string_view> own = answer.headers().get("etag");
    ContentTag computed;
    if (!own) {
        if (settings.etag_max_body_size == 0 ||
            answer.buffered_size() > settings.etag_max_body_size) {
            return;
        }
        computed = content_etag(answer.buffered_body());
        answer.add_header("ETag", computed.view());
    }
    const std::string_view etag = own ? *own : computed.view();
    if (!request_->has_preconditions()) {
        return;  // most requests: nothing to compare the tag with
    }
    const http::HeaderFields& conditions = request_->headers();
    auto if_match = conditions.get("if-match");
    if (if_match ? !etag_list_matches(*if_match, etag, EtagComparison::strong)
                 : modified_after(conditions, "if-unmodified-since", answer).value_or(false)) {
        answer.set_status(412);
        answer.clear_body();
        return;
    }
    auto if_none_match = conditions.get("if-none-match");
    if (if_none_match ? etag_list_matches(*if_none_match, etag, EtagComparison::weak)
                      : !modified_after(conditions, "if-modified-since", answer).value_or(true)) {
        answer.set_status(304);
        answer.clear_body();
    }
}

Task<void> RequestHandler::finish() {
    if (!finished_) {
        co_await finish_response();
    }
}

// Not a coroutine: the caller awaits the connection's own finish (one frame fewer).
Task<void> RequestHandler::finish_response() {
    apply_etag();
    finished_ = true;
    return response().finish();
}

void RequestHandler::render(std::string_view name, nlohmann::json data) {
    write(std::string_view(render_string(name, std::move(data))));
}

std::string RequestHandler::render_string(std::string_view name, nlohmann::json data) {
    if (!data.is_object()) {
        throw Error("render: template data must be a JSON object");
    }
    // What Tornado's templates see by default, unless the caller set it.
    auto add_default = [&data](const char* key, nlohmann::json value) {
        if (!data.contains(key)) {
            data[key] = std::move(value);
        }
    };
    const auto& user = current_user();
    add_default("current_user", user ? nlohmann::json(*user) : nlohmann::json(nullptr));
    if (application_->settings().xsrf_cookies) {
        add_default("xsrf_form_html", xsrf_form_html());
    }
    add_default("static_url_prefix", application_->settings().static_url_prefix);
    add_default("request_path", std::string(request_->path()));
    return application_->templates().render(name, data);
}

void RequestHandler::redirect(std::string_view url, bool permanent, int status) {
    if (response().head_sent()) {
        throw Error("redirect() after the response started");
    }
    if (status == 0) {
        status = permanent ? 301 : 302;
    }
    if (status < 300 || status > 399) {
        throw Error("redirect status must be 3xx");
    }
    set_status(status);
    set_header("Location", url);
    response().clear_body();
    done_writing_ = true;  // the response is complete; it is sent when the handler returns
}

void RequestHandler::send_error(int status, std::exception_ptr error) {
    if (response().head_sent()) {
        throw Error("send_error() after the response started");
    }
    response().clear_body();
    done_writing_ = false;
    for (std::string_view name :
         {"content-type", "content-encoding", "etag", "location", "content-disposition"}) {
        response().headers().remove(name);
    }
    set_status(status);
    write_error(status, error);
}

// --- cookies -------------------------------------------------------------------------------------

const std::vector<Cookie>& RequestHandler::request_cookies() {
    Inputs& known = inputs();
    if (!known.cookies) {
        std::vector<Cookie> all;
        for (const auto& field : request_->headers()) {
            if (http::equals_ignoring_case(field.name, "cookie")) {
                auto parsed = parse_cookie_header(field.value);
                all.insert(all.end(), parsed.begin(), parsed.end());
            }
        }
        known.cookies = std::move(all);
    }
    return *known.cookies;
}

std::optional<std::string> RequestHandler::get_cookie(std::string_view name) {
    return find_cookie(request_cookies(), name);
}

void RequestHandler::set_cookie(std::string_view name, std::string_view value,
                                const CookieOptions& options) {
    response().add_header("Set-Cookie", format_set_cookie(name, value, options));
}

void RequestHandler::clear_cookie(std::string_view name, const CookieOptions& options) {
    response().add_header("Set-Cookie", format_delete_cookie(name, options));
}

std::optional<std::string> RequestHandler::get_signed_cookie(std::string_view name,
                                                             int max_age_days) {
    auto raw = get_cookie(name);
    if (!raw) {
        return std::nullopt;
    }
    SignedValueOptions options;
    options.max_age_days = max_age_days;
    return decode_signed_value(secrets_of(application_->settings()), name, *raw, options);
}

void RequestHandler::set_signed_cookie(std::string_view name, std::string_view value,
                                       int expires_days, CookieOptions options) {
    if (!options.expires && !options.max_age) {
        options.expires = std::chrono::system_clock::now() + std::chrono::hours(24) * expires_days;
    }
    set_cookie(name, create_signed_value(secrets_of(application_->settings()), name, value),
               options);
}

// --- XSRF and users
// ---------------------------------------------------------------------------------

// The raw token of this user: from the _xsrf cookie, or new (and then set as the cookie).
const XsrfToken& RequestHandler::current_xsrf_token() {
    std::optional<XsrfToken>& token = inputs().xsrf_token;
    if (!token) {
        if (auto cookie = get_cookie("_xsrf")) {
            token = decode_xsrf_token(*cookie);
        }
        if (!token) {
            token = generate_xsrf_token();
            set_cookie("_xsrf", encode_xsrf_token(*token),
                       application_->settings().xsrf_cookie_options);
        }
    }
    return *token;
}

std::string RequestHandler::xsrf_token() {
    return encode_xsrf_token(current_xsrf_token());
}

std::string RequestHandler::xsrf_form_html() {
    return "<input type=\"hidden\" name=\"_xsrf\" value=\"" + xhtml_escape(xsrf_token()) + "\"/>";
}

void RequestHandler::check_xsrf_cookie() {
    std::optional<std::string> sent = get_body_argument("_xsrf");
    if (!sent) {
        sent = get_query_argument("_xsrf");
    }
    if (!sent) {
        auto header = request_->headers().get("x-xsrftoken");
        if (!header) {
            header = request_->headers().get("x-csrftoken");
        }
        if (header) {
            sent = std::string(*header);
        }
    }
    auto cookie = get_cookie("_xsrf");
    XsrfCheck result = check_xsrf_token(
        sent.value_or(""), cookie ? std::optional<std::string_view>(*cookie) : std::nullopt);
    if (result != XsrfCheck::ok) {
        throw http::HTTPError(403, "XSRF check failed: " + std::string(describe(result)));
    }
}

const std::optional<std::string>& RequestHandler::current_user() {
    std::optional<std::optional<std::string>>& user = inputs().current_user;
    if (!user) {
        user = get_current_user();
    }
    return *user;
}

void RequestHandler::require_login() {
    if (current_user()) {
        return;
    }
    std::string_view method = request_->method();
    std::string login = get_login_url();
    if (is_one_of(method, {"GET", "HEAD"}) && !login.empty()) {
        std::string next = std::string(request_->target());
        std::string separator = login.find('?') == std::string::npos ? "?" : "&";
        redirect(login + separator + "next=" + url_escape(next));
        throw Finish();
    }
    throw http::HTTPError(403);
}

// --- URLs
// ----------------------------------------------------------------------------------------------

std::string RequestHandler::static_url(std::string_view path) {
    return application_->static_url(path);
}

std::string RequestHandler::reverse_url(std::string_view name,
                                        const std::vector<std::string>& arguments) {
    return application_->reverse_url(name, arguments);
}

}  // namespace gale::web
