#pragma once
// The chat demo's server: Tornado's two chat demos — long-polling (demos/chat) and WebSocket
// (demos/websocket) — in one application over one message cache, so a message posted through
// either transport reaches the clients of both. A small library, so that the `chat` program
// and the tests build the same application (the tests in-process).
//
//   GET  /                     the page: the last messages, a form, the client script
//   POST /a/message/new        body=<text> (+ _xsrf): the message as JSON, or 302 to `next`
//   POST /a/message/updates    cursor=<last id seen> (+ _xsrf): {"messages": [...]}, waiting
//                              up to `poll_timeout` for one when there is none yet
//   GET  /chatsocket           WebSocket: {"body": text} in, every message out as JSON
//   GET  /static/...           chat.js, chat.css
//
// A message goes out as {"id": ..., "body": ..., "html": ...}: `html` is the rendered
// templates/message.html fragment, with the body HTML-escaped and its URLs made links.

#include <gale/web/application.hpp>
#include <gale/web/message_buffer.hpp>
#include <gale/websocket/broadcast.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace gale::web {
class TemplateLoader;
}

namespace chat {

/// One message, in the forms the transports send: rendered and serialised once, when posted.
struct ChatMessage {
    std::string body;
    /// templates/message.html for this message (what the page shows).
    std::string html;
    /// The JSON object {"id", "body", "html"} as text, for broadcasts and poll answers.
    std::string json;
};

struct ChatOptions {
    ChatOptions() = default;  // not an aggregate: see docs/pitfalls.md (GCC 12)

    /// The directory holding templates/ and static/ (see `find_assets`).
    std::filesystem::path assets{};
    /// How many messages the room keeps (and the page shows).
    std::size_t cache_size = 200;
    /// Longer message bodies are refused: 400 on POST, close 1009 on the WebSocket.
    std::size_t max_body_bytes = 4096;
    /// How long POST /a/message/updates waits for a message before answering with none.
    gale::IOLoop::Duration poll_timeout = std::chrono::seconds(30);
};

/// The room: the cache long-polling clients wait on, and the WebSocket subscribers. Posting
/// a message stores it (waking the pollers) and broadcasts it to every socket. One loop only.
class ChatRoom {
  public:
    explicit ChatRoom(ChatOptions options);
    ChatRoom(const ChatRoom&) = delete;
    ChatRoom& operator=(const ChatRoom&) = delete;

    /// Renders `body` with `templates`, keeps it, and sends it to every subscriber.
    std::shared_ptr<const ChatMessage> post(std::string_view body,
                                            gale::web::TemplateLoader& templates);

    gale::web::MessageBuffer<ChatMessage>& messages() noexcept { return messages_; }
    gale::websocket::Broadcaster& sockets() noexcept { return sockets_; }
    const ChatOptions& options() const noexcept { return options_; }

  private:
    std::string next_id();

    ChatOptions options_;
    // Ids are "<random prefix>-<counter>": unique within a run, and a cursor kept by a page
    // from an earlier run matches nothing (the client then gets the whole cache).
    std::string id_prefix_;
    std::uint64_t posted_ = 0;
    gale::web::MessageBuffer<ChatMessage> messages_;
    gale::websocket::Broadcaster sockets_;
};

/// The room and the web application serving it, on the current loop.
class ChatServer {
  public:
    explicit ChatServer(ChatOptions options);
    ChatServer(const ChatServer&) = delete;
    ChatServer& operator=(const ChatServer&) = delete;
    ~ChatServer();

    /// Listens on `address`:`port` (0: a free port); returns the port bound.
    std::uint16_t listen(std::uint16_t port, std::string address = "127.0.0.1");
    /// Stops listening and closes the WebSockets (1001), letting requests finish for `grace`.
    gale::Task<void> shutdown(gale::IOLoop::Duration grace);

    ChatRoom& room() noexcept { return *room_; }
    gale::web::Application& application() noexcept { return *application_; }

  private:
    std::shared_ptr<ChatRoom> room_;  // shared with the handlers, which may outlive this
    std::unique_ptr<gale::web::Application> application_;
};

/// The directory holding templates/ and static/: `preferred` if given (it must hold them),
/// else the first that does of: next to the executable (the build copies them there),
/// ../share/gale/chat from the executable (installed), the source tree. Throws gale::Error
/// naming the places tried.
std::filesystem::path find_assets(const std::filesystem::path& preferred = {});

}  // namespace chat
