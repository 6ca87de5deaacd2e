// AsyncHTTPClient: the fetch loop (slots, connections, redirects, retries) and its errors.

#include <gale/ioloop/combinators.hpp>

#include "httpclient/client_state.hpp"
#include "httpclient/request_builder.hpp"

#include <cmath>

namespace gale::httpclient {

const char* to_string(TimeoutPhase phase) noexcept {
    switch (phase) {
        case TimeoutPhase::queue:
            return "the request queue";
        case TimeoutPhase::connect:
            return "connecting";
        case TimeoutPhase::proxy_connect:
            return "the proxy CONNECT";
        case TimeoutPhase::tls_handshake:
            return "the TLS handshake";
        case TimeoutPhase::send_request:
            return "sending the request";
        case TimeoutPhase::wait_response:
            return "waiting for the response";
        case TimeoutPhase::read_response:
            return "reading the response";
    }
    return "the request";
}

namespace detail {
namespace {

bool is_idempotent(std::string_view method) {
    return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
           method == "OPTIONS" || method == "TRACE";
}

std::string seconds_text(IOLoop::Duration duration) {
    double seconds = std::chrono::duration<double>(duration).count();
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%g s", std::round(seconds * 1000) / 1000);
    return buffer;
}

// One hop: a connection (reused or new), one exchange, with one retry on a fresh connection
// when a reused one turns out to be closed before any byte of the response arrived.
Task<void> run_hop(FetchContext* context) {
    ClientState* state = context->state;
    bool retried = false;
    while (true) {
        context->phase = TimeoutPhase::queue;
        context->producer_called = false;
        context->response.time_info.connect = {};
        context->response.time_info.tls = {};
        IOLoop::TimePoint queued_at = IOLoop::current().time();
        ConnectionLease lease =
            co_await acquire_connection(state, context->target.pool_key, retried);
        context->response.time_info.queue += IOLoop::current().time() - queued_at;
        if (lease.connection.stream) {
            ++state->counters.connections_reused;
        } else {
            lease.connection.stream = co_await open_connection(context);
        }
        context->response.reused_connection = lease.reused;
        bool reusable = false;
        try {
            reusable = co_await exchange(context, &lease.connection);
        } catch (const HTTPConnectionError&) {
            bool can_retry = lease.reused && !context->received_any && !retried &&
                             is_idempotent(context->method) && !context->producer_called;
            if (!can_retry) {
                throw;
            }
            retried = true;
            ++state->counters.retries;
            continue;  // the lease closes the stale connection
        }
        lease.release(reusable);
        co_return;
    }
}

// Points the context at the Location of the redirect in `context->response`.
void follow_redirect(FetchContext* context) {
    HTTPResponse& response = context->response;
    std::string location(response.headers.get_or("location", ""));
    web::Url next;
    try {
        next = context->target.url.resolve(location);
    } catch (const web::UrlError& error) {
        throw HTTPProtocolError(context->target.url_text, "invalid redirect Location '" + location +
                                                              "' from " + context->target.url_text +
                                                              ": " + error.what());
    }
    std::string next_text = next.to_string();
    Target target;
    try {
        target = make_target(*context->state, *context->request, next, next_text);
    } catch (const InvalidRequestError& error) {
        throw HTTPProtocolError(
            context->target.url_text,
            "cannot follow the redirect from " + context->target.url_text + ": " + error.what());
    }
    int code = response.code;
    // RFC 9110 §15.4: 303 turns anything but HEAD into GET; browsers (and Tornado) do the same
    // for POST after 301 and 302. 307 and 308 keep the method and the body.
    bool to_get = (code == 303 && context->method != "HEAD") ||
                  ((code == 301 || code == 302) && context->method == "POST");
    if (to_get) {
        context->method = "GET";
        context->send_body = false;
    }
    if (is_cross_origin(context->target, target)) {
        context->strip_credentials = true;  // never hand credentials to another origin
    }
    context->target = std::move(target);
    --context->redirects_left;
    ++response.redirects;
}

Task<void> run_hops(FetchContext* context) {
    ClientState* state = context->state;
    IOLoop::TimePoint queued_at = IOLoop::current().time();
    context->phase = TimeoutPhase::queue;
    co_await acquire_slot(state);
    SlotGuard slot(state);  // a redirect keeps the slot
    context->response.time_info.queue += IOLoop::current().time() - queued_at;
    while (true) {
        co_await run_hop(context);
        if (context->final_hop) {
            co_return;
        }
        follow_redirect(context);
    }
}

[[noreturn]] void throw_timeout(const FetchContext& context) {
    const HTTPRequest& request = *context.request;
    std::string limits = "request_timeout " + seconds_text(request.request_timeout);
    if (request.connect_timeout > IOLoop::Duration::zero()) {
        limits += ", connect_timeout " + seconds_text(request.connect_timeout);
    }
    throw HTTPTimeoutError(context.phase, context.target.url_text,
                           std::string("timeout in ") + to_string(context.phase) + " fetching " +
                               context.target.url_text + " (" + limits + ")");
}

Task<HTTPResponse> run_fetch(std::shared_ptr<ClientState> state,
                             std::shared_ptr<const HTTPRequest> request, bool raise_error) {
    if (state->closed) {
        throw HTTPClientError(599, request->url,
                              "fetch of " + request->url + " on a closed client");
    }
    FetchContext context;
    context.state = state.get();
    context.request = request;
    context.started = IOLoop::current().time();
    context.response.start_time = std::chrono::system_clock::now();
    validate_request(*request);
    context.target = make_target(*state, *request, request->url);
    context.method = request->method;
    context.redirects_left = request->follow_redirects ? std::max(request->max_redirects, 0) : 0;
    context.max_body_size =
        request->max_body_size > 0 ? request->max_body_size : state->options.max_body_size;
    if (context.target.tls || request->tls_context) {
        context.tls_context = tls_context_for(*state, *request, request->url);
    }
    if (request->request_timeout > IOLoop::Duration::zero()) {
        context.deadline = context.started + request->request_timeout;
    }
    try {
        if (context.deadline) {
            co_await with_deadline(*context.deadline, run_hops(&context));
        } else {
            co_await run_hops(&context);
        }
    } catch (const TimeoutError&) {
        throw_timeout(context);
    }
    HTTPResponse& response = context.response;
    response.request = request;
    response.effective_url = context.target.url_text;
    response.time_info.total = IOLoop::current().time() - context.started;
    response.request_time = response.time_info.total - response.time_info.queue;
    if (!raise_error || response.ok()) {
        co_return std::move(response);
    }
    int code = response.code;
    std::string url = response.effective_url;
    bool too_many = request->follow_redirects && code >= 300 && code < 400 &&
                    response.headers.contains("location") && context.redirects_left == 0 &&
                    (code == 301 || code == 302 || code == 303 || code == 307 || code == 308);
    auto shared = std::make_shared<const HTTPResponse>(std::move(response));
    if (too_many) {
        throw TooManyRedirectsError(shared, url, code,
                                    "too many redirects (max_redirects " +
                                        std::to_string(request->max_redirects) + ") fetching " +
                                        request->url + "; the last one, " + url + ", answered " +
                                        std::to_string(code) + " to " +
                                        std::string(shared->headers.get_or("location", "")));
    }
    throw HTTPStatusError(
        shared, url, code,
        "HTTP " + std::to_string(code) + " " + shared->reason + " fetching " + url);
}

}  // namespace
}  // namespace detail

AsyncHTTPClient::AsyncHTTPClient(ClientOptions options)
    : state_(std::make_shared<detail::ClientState>(std::move(options))) {}

AsyncHTTPClient::~AsyncHTTPClient() {
    close();
}

Task<HTTPResponse> AsyncHTTPClient::fetch(HTTPRequest request, bool raise_error) {
    auto shared = std::make_shared<const HTTPRequest>(std::move(request));
    return detail::run_fetch(state_, std::move(shared), raise_error);
}

Task<HTTPResponse> AsyncHTTPClient::fetch(std::string url, bool raise_error) {
    auto shared = std::make_shared<const HTTPRequest>(std::move(url));
    return detail::run_fetch(state_, std::move(shared), raise_error);
}

void AsyncHTTPClient::close() noexcept {
    if (state_) {
        state_->closed = true;
        state_->close_idle();
    }
}

ClientStats AsyncHTTPClient::stats() const noexcept {
    ClientStats stats = state_->counters;
    stats.idle_connections = state_->idle_count;
    stats.queued = state_->slot_waiters.size();
    stats.active_connections = 0;
    for (const auto& [key, host] : state_->hosts) {
        stats.active_connections += host->active;
        stats.queued += host->waiters.size();
    }
    return stats;
}

const ClientOptions& AsyncHTTPClient::options() const noexcept {
    return state_->options;
}

}  // namespace gale::httpclient
