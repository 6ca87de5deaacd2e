// Request validation, targets (direct or proxied, pool keys) and request heads.

#include <gale/http/parser.hpp>
#include <gale/http/writer.hpp>

#include "httpclient/request_builder.hpp"

#include <array>

namespace gale::httpclient::detail {
namespace {

constexpr std::array<std::string_view, 7> standard_methods = {"GET",    "HEAD",  "POST",   "PUT",
                                                              "DELETE", "PATCH", "OPTIONS"};

bool method_needs_body(std::string_view method) {
    return method == "POST" || method == "PUT" || method == "PATCH";
}

// Fields the client writes itself from the request's other settings: a copy in `headers`
// is left out (framing is never the caller's to choose).
bool is_framing_field(std::string_view name) {
    return http::equals_ignoring_case(name, "content-length") ||
           http::equals_ignoring_case(name, "transfer-encoding");
}

}  // namespace

void validate_request(const HTTPRequest& request) {
    const std::string& url = request.url;
    if (!http::is_token(request.method)) {
        throw InvalidRequestError(url, "invalid HTTP method '" + request.method + "' for " + url);
    }
    bool standard = std::find(standard_methods.begin(), standard_methods.end(), request.method) !=
                    standard_methods.end();
    if (!standard && !request.allow_nonstandard_methods) {
        throw InvalidRequestError(url, "unsupported HTTP method '" + request.method + "' for " +
                                           url + " (set allow_nonstandard_methods)");
    }
    bool has_body = request.body.has_value() || static_cast<bool>(request.body_producer);
    if (request.body && request.body_producer) {
        throw InvalidRequestError(url,
                                  "request for " + url + " has both a body and a body_producer");
    }
    if (!request.allow_nonstandard_methods) {
        if (method_needs_body(request.method) && !has_body) {
            throw InvalidRequestError(
                url, request.method + " request for " + url + " needs a body (possibly empty)");
        }
        if (!method_needs_body(request.method) && has_body) {
            throw InvalidRequestError(url, request.method + " request for " + url +
                                               " may not have a body "
                                               "(set allow_nonstandard_methods)");
        }
    }
    for (const auto& [name, value] : request.headers) {
        if (!http::is_valid_field_name(name)) {
            throw InvalidRequestError(url,
                                      "invalid header name '" + std::string(name) + "' for " + url);
        }
        if (!http::is_valid_field_value(value)) {
            throw InvalidRequestError(url, "invalid value of header '" + std::string(name) +
                                               "' for " + url +
                                               " (CR, LF, NUL or another control character)");
        }
    }
    for (const std::string* value :
         {&request.user_agent, &request.auth_username, &request.proxy_username}) {
        if (!http::is_valid_field_value(*value)) {
            throw InvalidRequestError(url, "control character in a request field for " + url);
        }
    }
    bool credentials = !request.auth_username.empty() || !request.auth_password.empty();
    if (credentials && request.auth_mode != "basic") {
        throw InvalidRequestError(
            url, "unsupported auth_mode '" + request.auth_mode + "' for " + url + " (only basic)");
    }
}

Target make_target(ClientState& state, const HTTPRequest& request, web::Url url,
                   std::string url_text) {
    Target target;
    if (url.scheme != "http" && url.scheme != "https") {
        throw InvalidRequestError(url_text, "unsupported URL scheme '" + url.scheme + "' in " +
                                                url_text + " (only http and https)");
    }
    if (url.host.empty()) {
        throw InvalidRequestError(url_text, "URL without a host: " + url_text);
    }
    target.tls = url.scheme == "https";
    target.host = url.host;
    target.port = *url.effective_port();
    const ClientOptions& options = state.options;
    bool own_proxy = !request.proxy_host.empty();
    target.proxy_host = own_proxy ? request.proxy_host : options.proxy_host;
    if (!target.proxy_host.empty()) {
        target.proxy_port = own_proxy ? request.proxy_port : options.proxy_port;
        if (target.proxy_port == 0) {
            throw InvalidRequestError(
                url_text, "proxy " + target.proxy_host + " without a port for " + url_text);
        }
        const std::string& user = own_proxy ? request.proxy_username : options.proxy_username;
        const std::string& password = own_proxy ? request.proxy_password : options.proxy_password;
        if (!user.empty() || !password.empty()) {
            target.proxy_authorization = basic_authorization(user, password);
        }
    }
    // Everything that makes two connections interchangeable.
    std::string& key = target.pool_key;
    key.reserve(64);
    key.append(url.scheme).append("://").append(target.host).append(":");
    key.append(std::to_string(target.port));
    if (!target.proxy_host.empty()) {
        key.append(" via ").append(target.proxy_host).append(":");
        key.append(std::to_string(target.proxy_port))
            .append(" ")
            .append(target.proxy_authorization);
    }
    if (target.tls) {
        if (request.tls_context) {
            key.append(" tls@").append(std::to_string(
                reinterpret_cast<std::uintptr_t>(request.tls_context.native_handle())));
        } else {
            key.append(request.validate_cert ? " verify " : " noverify ")
                .append(request.ca_certs)
                .append(" ")
                .append(request.client_cert)
                .append(" ")
                .append(request.client_key);
        }
    }
    if (!request.network_interface.empty()) {
        key.append(" from ").append(request.network_interface);
    }
    if (!request.allow_ipv6) {
        key.append(" ipv4");
    }
    target.url = std::move(url);
    target.url_text = std::move(url_text);
    return target;
}

Target make_target(ClientState& state, const HTTPRequest& request, const std::string& url_text) {
    web::Url url;
    try {
        url = web::Url::parse(url_text);
    } catch (const web::UrlError& error) {
        throw InvalidRequestError(url_text, "invalid URL '" + url_text + "': " + error.what());
    }
    return make_target(state, request, std::move(url), url_text);
}

bool is_cross_origin(const Target& from, const Target& to) noexcept {
    return from.url.scheme != to.url.scheme || from.host != to.host || from.port != to.port;
}

std::string build_request_head(const FetchContext& context, bool has_body, bool expect_continue) {
    const HTTPRequest& request = *context.request;
    const Target& target = context.target;
    const web::Url& url = target.url;
    const http::HTTPHeaders& headers = request.headers;
    std::string head;
    head.reserve(256);

    std::string request_target = url.request_target();
    if (!target.proxy_host.empty() && !target.tls) {
        // Through a proxy, plain http goes in absolute form.
        request_target = url.scheme + "://" + url.host_and_port() + request_target;
    }
    http::append_request_line(head, context.method, request_target);
    if (!headers.contains("host")) {
        http::append_field(head, "Host", url.host_and_port());
    }
    if (!headers.contains("user-agent")) {
        const std::string& agent =
            request.user_agent.empty() ? context.state->options.user_agent : request.user_agent;
        if (!agent.empty()) {
            http::append_field(head, "User-Agent", agent);
        }
    }
    if (request.decompress_response && !headers.contains("accept-encoding")) {
        http::append_field(head, "Accept-Encoding", "gzip");
    }
    if (!context.strip_credentials && !headers.contains("authorization")) {
        std::string user = request.auth_username;
        std::string password = request.auth_password;
        if (user.empty() && password.empty() && !url.userinfo.empty()) {
            user = url.username();
            password = url.password();
        }
        if (!user.empty() || !password.empty()) {
            http::append_field(head, "Authorization", basic_authorization(user, password));
        }
    }
    if (!target.proxy_authorization.empty() && !target.tls) {
        http::append_field(head, "Proxy-Authorization", target.proxy_authorization);
    }
    // The caller's Cookie stays with the first origin; the jar's cookies are matched to each
    // URL anyway, so they are sent to whatever origin they belong to.
    std::string cookies;
    if (auto own = headers.get("cookie"); own && !context.strip_credentials) {
        cookies.assign(*own);
    }
    if (const CookieJar* jar = context.state->options.cookie_jar.get()) {
        std::string stored = jar->cookie_header(url);
        if (!stored.empty()) {
            cookies.append(cookies.empty() ? "" : "; ").append(stored);
        }
    }
    if (!cookies.empty()) {
        http::append_field(head, "Cookie", cookies);
    }
    if (has_body) {
        if (request.body) {
            head.append("Content-Length: ");
            http::append_decimal(head, request.body->size());
            head.append("\r\n");
        } else if (request.body_size) {
            head.append("Content-Length: ");
            http::append_decimal(head, *request.body_size);
            head.append("\r\n");
        } else {
            http::append_field(head, "Transfer-Encoding", "chunked");
        }
        if (context.method == "POST" && !headers.contains("content-type")) {
            http::append_field(head, "Content-Type", "application/x-www-form-urlencoded");
        }
    }
    if (expect_continue) {
        http::append_field(head, "Expect", "100-continue");
    }
    for (const auto& [name, value] : headers) {
        if (is_framing_field(name) || http::equals_ignoring_case(name, "cookie")) {
            continue;
        }
        if (!context.send_body && (http::equals_ignoring_case(name, "content-type") ||
                                   http::equals_ignoring_case(name, "content-encoding"))) {
            continue;  // the body was dropped by a 301/302/303 redirect
        }
        if (context.strip_credentials &&
            (http::equals_ignoring_case(name, "authorization") ||
             http::equals_ignoring_case(name, "proxy-authorization"))) {
            continue;
        }
        http::append_field(head, name, value);
    }
    head.append("\r\n");
    return head;
}

}  // namespace gale::httpclient::detail
