#include "chat/chat_app.hpp"

#include <gale/ioloop/log.hpp>
#include <gale/web/escape.hpp>
#include <gale/web/template.hpp>
#include <gale/web/websocket_handler.hpp>

#include <nlohmann/json.hpp>

#include <sys/random.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <system_error>
#include <vector>

namespace chat {

namespace {

using gale::Task;
using gale::http::HTTPError;

constexpr std::string_view whitespace = " \t\r\n\f\v";

// Message bodies are compared and stored without surrounding whitespace on both transports,
// as Tornado's get_argument strips form values.
std::string_view trimmed(std::string_view text) {
    auto first = text.find_first_not_of(whitespace);
    if (first == std::string_view::npos) {
        return {};
    }
    auto last = text.find_last_not_of(whitespace);
    return text.substr(first, last - first + 1);
}

// Tornado's rule for `next`: a path on this site, never `//host` or `/\host` (which browsers
// read as another host).
bool is_local_path(std::string_view url) {
    return url.size() >= 1 && url[0] == '/' &&
           (url.size() == 1 || (url[1] != '/' && url[1] != '\\'));
}

class MainHandler : public gale::web::RequestHandler {
  public:
    explicit MainHandler(std::shared_ptr<ChatRoom> room) : room_(std::move(room)) {}

    Task<void> get() override {
        // "auto": WebSocket when the browser has it; "poll" and "websocket" force one.
        std::string transport = get_argument("transport", "auto");
        if (transport != "poll" && transport != "websocket") {
            transport = "auto";
        }
        const auto& entries = room_->messages().entries();
        std::string inbox;
        for (const auto& entry : entries) {
            inbox += entry.message->html;
        }
        nlohmann::json data = {
            {"inbox_html", std::move(inbox)},
            {"cursor", entries.empty() ? std::string() : entries.back().id},
            {"transport", transport},
            {"max_body_bytes", room_->options().max_body_bytes},
            {"chat_css", static_url("chat.css")},
            {"chat_js", static_url("chat.js")},
        };
        render("index.html", std::move(data));
        co_return;
    }

  private:
    std::shared_ptr<ChatRoom> room_;
};

// The long-polling client's (and the plain HTML form's) way to post.
class NewMessageHandler : public gale::web::RequestHandler {
  public:
    explicit NewMessageHandler(std::shared_ptr<ChatRoom> room) : room_(std::move(room)) {}

    Task<void> post() override {
        std::string body = get_argument("body");  // missing: 400
        if (body.size() > room_->options().max_body_bytes) {
            throw HTTPError(400, "message longer than " +
                                     std::to_string(room_->options().max_body_bytes) + " bytes");
        }
        if (trimmed(body).empty()) {
            throw HTTPError(400, "empty message");
        }
        auto next = get_body_argument("next");
        if (next && !is_local_path(*next)) {
            throw HTTPError(400, "next must be a path on this site");
        }
        auto message = room_->post(body, application().templates());
        if (next) {
            redirect(*next);  // the form posted without JavaScript: back to the page
        } else {
            set_header("Content-Type", "application/json; charset=UTF-8");
            write(message->json);
        }
        co_return;
    }

  private:
    std::shared_ptr<ChatRoom> room_;
};

// Answers with the messages after `cursor`, waiting for one when there is none yet. A client
// that disconnects meanwhile cancels the wait (the web layer cancels the handler), which
// leaves the room's waiting list at once.
class UpdatesHandler : public gale::web::RequestHandler {
  public:
    explicit UpdatesHandler(std::shared_ptr<ChatRoom> room) : room_(std::move(room)) {}

    Task<void> post() override {
        std::optional<std::string> cursor = get_body_argument("cursor");
        if (cursor && cursor->empty()) {
            cursor.reset();
        }
        auto timeout = room_->options().poll_timeout;
        auto fresh = co_await room_->messages().wait_since(std::move(cursor), timeout);
        // Each message was serialised when posted: join the texts, re-encode nothing.
        std::string answer = "{\"messages\":[";
        for (std::size_t i = 0; i < fresh.size(); ++i) {
            answer += i == 0 ? "" : ",";
            answer += fresh[i].message->json;
        }
        answer += "]}";
        set_header("Content-Type", "application/json; charset=UTF-8");
        write(answer);
    }

  private:
    std::shared_ptr<ChatRoom> room_;
};

class ChatSocketHandler : public gale::web::WebSocketHandler {
  public:
    explicit ChatSocketHandler(std::shared_ptr<ChatRoom> room) : room_(std::move(room)) {}

    gale::web::WebSocketOptions websocket_options() override {
        gale::web::WebSocketOptions options;
        options.compression = true;  // as Tornado's demo: permessage-deflate when offered
        // Room for the JSON envelope and escapes (\u0000 is 6 bytes for 1) around the largest
        // body; the body itself is checked after parsing.
        options.max_message_size = 6 * room_->options().max_body_bytes + 1024;
        return options;
    }

    Task<void> open() override {
        room_->sockets().subscribe(connection());
        co_return;
    }

    Task<void> on_message(std::string text, bool binary) override {
        auto parsed = binary ? nlohmann::json() : nlohmann::json::parse(text, nullptr, false);
        if (!parsed.is_object() || !parsed.contains("body") || !parsed["body"].is_string()) {
            gale::log::info(
                "chat: closing a socket that sent something other than {{\"body\": text}}");
            close(1003, "expected {\"body\": text}");
            co_return;
        }
        std::string_view body = parsed["body"].get_ref<const std::string&>();
        if (body.size() > room_->options().max_body_bytes) {
            close(1009, "message too long");
            co_return;
        }
        if (trimmed(body).empty()) {
            gale::log::info("chat: ignoring an empty message");
            co_return;
        }
        room_->post(body, application().templates());
    }

    void on_close() override { room_->sockets().unsubscribe(*connection()); }

  private:
    std::shared_ptr<ChatRoom> room_;
};

// Handlers share the room: one still finishing (a WebSocket's closing handshake) after the
// server object is gone still has it.
template <class Handler>
gale::web::Route chat_route(std::string pattern, std::shared_ptr<ChatRoom> room) {
    return gale::web::route<Handler>(std::move(pattern),
                                     [room] { return std::make_unique<Handler>(room); });
}

std::string random_hex(std::size_t bytes) {
    std::array<unsigned char, 16> random{};
    bytes = std::min(bytes, random.size());
    if (::getrandom(random.data(), bytes, 0) != static_cast<ssize_t>(bytes)) {
        throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    std::string hex;
    for (std::size_t i = 0; i < bytes; ++i) {
        char pair[3];
        std::snprintf(pair, sizeof pair, "%02x", random[i]);
        hex += pair;
    }
    return hex;
}

bool holds_assets(const std::filesystem::path& directory) {
    std::error_code error;
    return std::filesystem::is_regular_file(directory / "templates" / "index.html", error) &&
           std::filesystem::is_regular_file(directory / "static" / "chat.js", error);
}

}  // namespace

ChatRoom::ChatRoom(ChatOptions options)
    : options_(std::move(options)), id_prefix_(random_hex(4)), messages_(options_.cache_size) {}

std::string ChatRoom::next_id() {
    return id_prefix_ + "-" + std::to_string(++posted_);
}

std::shared_ptr<const ChatMessage> ChatRoom::post(std::string_view body,
                                                  gale::web::TemplateLoader& templates) {
    std::string id = next_id();
    ChatMessage message;
    message.body = std::string(trimmed(body));
    nlohmann::json fragment = {{"id", id}, {"body_html", gale::web::linkify(message.body)}};
    message.html = templates.render("message.html", fragment);
    // json_encode: invalid UTF-8 (possible in form posts) becomes U+FFFD instead of throwing.
    message.json =
        gale::web::json_encode({{"id", id}, {"body", message.body}, {"html", message.html}});
    messages_.add(std::move(id), std::move(message));
    const auto& stored = messages_.entries().back().message;
    sockets_.publish(stored->json);
    return stored;
}

ChatServer::ChatServer(ChatOptions options)
    : room_(std::make_shared<ChatRoom>(std::move(options))) {
    const std::filesystem::path& assets = room_->options().assets;
    gale::web::ApplicationSettings settings;
    settings.xsrf_cookies = true;
    settings.template_path = (assets / "templates").string();
    settings.static_path = (assets / "static").string();
    settings.compress_response = true;
    settings.max_body_size = 64 * 1024;  // form posts only: 413 beyond
    std::vector<gale::web::Route> routes;
    routes.push_back(chat_route<MainHandler>("/", room_));
    routes.push_back(chat_route<NewMessageHandler>("/a/message/new", room_));
    routes.push_back(chat_route<UpdatesHandler>("/a/message/updates", room_));
    routes.push_back(chat_route<ChatSocketHandler>("/chatsocket", room_));
    application_ = std::make_unique<gale::web::Application>(std::move(routes), settings);
    // Fail at start-up, not at the first request, when a template is missing or broken.
    application_->templates().load("index.html");
    application_->templates().load("message.html");
}

ChatServer::~ChatServer() = default;

std::uint16_t ChatServer::listen(std::uint16_t port, std::string address) {
    return application_->listen(port, gale::ListenOptions(std::move(address))).front().port();
}

Task<void> ChatServer::shutdown(gale::IOLoop::Duration grace) {
    co_await application_->shutdown(grace);
}

std::filesystem::path find_assets(const std::filesystem::path& preferred) {
    if (!preferred.empty()) {
        if (!holds_assets(preferred)) {
            throw gale::Error("chat: " + preferred.string() +
                              " does not hold templates/index.html and static/chat.js");
        }
        return preferred;
    }
    std::vector<std::filesystem::path> candidates;
    std::error_code error;
    auto executable = std::filesystem::read_symlink("/proc/self/exe", error);
    if (!error) {
        candidates.push_back(executable.parent_path());
        candidates.push_back(executable.parent_path().parent_path() / "share" / "gale" / "chat");
    }
#ifdef GALE_CHAT_SOURCE_ASSETS
    candidates.emplace_back(GALE_CHAT_SOURCE_ASSETS);
#endif
    std::string tried;
    for (const auto& candidate : candidates) {
        if (holds_assets(candidate)) {
            return candidate;
        }
        tried += (tried.empty() ? "" : ", ") + candidate.string();
    }
    throw gale::Error("chat: no templates/ and static/ found (tried " + tried +
                      "); pass --assets DIR");
}

}  // namespace chat
