// The chat demo's contract, over HTTP and WebSocket against the application in-process: the
// page, posting with and without XSRF, cursors and waiting in long-polling, the WebSocket
// fan-out across both transports, the 200-message cache, escaping and the body limits.

#include <gale/ioloop/combinators.hpp>
#include <gale/ioloop/tcp_client.hpp>
#include <gale/web/escape.hpp>
#include <gale/websocket/client.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "chat/chat_app.hpp"
#include "support/helpers.hpp"
#include "support/http_exchange.hpp"

#include <set>

using namespace std::chrono_literals;
using gale::Task;
using gale::test::eventually;
using gale::test::http_fetch;
using gale::test::ParsedResponse;
using gale::websocket::ClientConnection;

namespace {

chat::ChatOptions test_options(gale::IOLoop::Duration poll_timeout = 30s) {
    chat::ChatOptions options;
    options.assets = chat::find_assets();
    options.poll_timeout = poll_timeout;
    return options;
}

// What a browser keeps after loading the page: the _xsrf cookie and the form's token.
struct Session {
    Session() = default;  // not an aggregate: passed by value to coroutines (GCC 12)
    std::uint16_t port = 0;
    std::string cookie;
    std::string token;
};

std::string hidden_field(const std::string& page, const std::string& name) {
    std::string marker = "name=\"" + name + "\" value=\"";
    auto at = page.find(marker);
    REQUIRE(at != std::string::npos);
    at += marker.size();
    return page.substr(at, page.find('"', at) - at);
}

Task<Session> open_session(std::uint16_t port) {
    auto page = co_await http_fetch(port, "GET", "/");
    REQUIRE(page.status == 200);
    std::string set_cookie(page.headers.get_or("set-cookie", ""));
    REQUIRE(set_cookie.rfind("_xsrf=", 0) == 0);
    Session session;
    session.port = port;
    session.cookie = set_cookie.substr(0, set_cookie.find(';'));
    session.token = hidden_field(page.body, "_xsrf");
    co_return session;
}

// A form post as the page's script sends it: the cookie, and `fields` plus the token.
Task<ParsedResponse> post_form(Session session, std::string target, std::string fields,
                               bool with_token = true) {
    std::string headers =
        "Content-Type: application/x-www-form-urlencoded\r\nCookie: " + session.cookie + "\r\n";
    if (with_token) {
        fields += (fields.empty() ? "_xsrf=" : "&_xsrf=") + gale::web::url_escape(session.token);
    }
    co_return co_await http_fetch(session.port, "POST", std::move(target), std::move(headers),
                                  std::move(fields));
}

Task<nlohmann::json> post_message(Session session, std::string body) {
    std::string fields = "body=" + gale::web::url_escape(body);
    auto response = co_await post_form(std::move(session), "/a/message/new", std::move(fields));
    REQUIRE(response.status == 200);
    CHECK(response.headers.get_or("content-type", "").rfind("application/json", 0) == 0);
    co_return nlohmann::json::parse(response.body);
}

// POST /a/message/updates; the answer's messages.
Task<nlohmann::json> updates(Session session, std::optional<std::string> cursor) {
    std::string fields = cursor ? "cursor=" + gale::web::url_escape(*cursor) : std::string();
    auto response = co_await post_form(std::move(session), "/a/message/updates", std::move(fields));
    REQUIRE(response.status == 200);
    auto answer = nlohmann::json::parse(response.body);
    REQUIRE(answer["messages"].is_array());
    co_return answer["messages"];
}

std::vector<std::string> bodies_of(const nlohmann::json& messages) {
    std::vector<std::string> bodies;
    for (const auto& message : messages) {
        bodies.push_back(message["body"].get<std::string>());
    }
    return bodies;
}

using Bodies = std::vector<std::string>;

Task<ClientConnection> open_socket(std::uint16_t port) {
    std::string url = "ws://127.0.0.1:" + std::to_string(port) + "/chatsocket";
    gale::websocket::ClientOptions options;
    options.compression = true;
    co_return co_await gale::websocket::websocket_connect(std::move(url), std::move(options));
}

Task<nlohmann::json> next_message(ClientConnection socket) {
    auto message = co_await gale::with_timeout(20s, socket.read_message());
    REQUIRE(message);
    CHECK_FALSE(message->binary);
    co_return nlohmann::json::parse(message->data);
}

std::size_t count_of(const std::string& text, const std::string& needle) {
    std::size_t count = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
        ++count;
    }
    return count;
}

}  // namespace

TEST_CASE("chat: GET / renders the page with the messages, the form and the transport", "[chat]") {
    auto body = [](chat::ChatOptions options) -> Task<void> {
        chat::ChatServer server(std::move(options));
        auto port = server.listen(0);
        auto page = co_await http_fetch(port, "GET", "/");
        CHECK(page.status == 200);
        CHECK(page.headers.get_or("content-type", "").rfind("text/html", 0) == 0);
        CHECK(page.body.find("<form action=\"/a/message/new\" method=\"post\"") !=
              std::string::npos);
        CHECK(page.body.find("name=\"_xsrf\"") != std::string::npos);
        CHECK(page.body.find("data-requested-transport=\"auto\"") != std::string::npos);
        CHECK(page.body.find("data-cursor=\"\"") != std::string::npos);

        auto polling = co_await http_fetch(port, "GET", "/?transport=poll");
        CHECK(polling.body.find("data-requested-transport=\"poll\"") != std::string::npos);
        auto odd = co_await http_fetch(port, "GET", "/?transport=%22%3E");
        CHECK(odd.body.find("data-requested-transport=\"auto\"") != std::string::npos);

        // The page's script and style sheet, with versioned URLs.
        auto script_at = page.body.find("/static/chat.js?v=");
        REQUIRE(script_at != std::string::npos);
        auto script = co_await http_fetch(port, "GET", "/static/chat.js");
        CHECK(script.status == 200);
        CHECK(script.body.find("/chatsocket") != std::string::npos);
        auto style = co_await http_fetch(port, "GET", "/static/chat.css");
        CHECK(style.status == 200);

        // Messages are in the page, oldest first, and the newest is the cursor to poll from.
        auto session = co_await open_session(port);
        auto first = co_await post_message(session, "first");
        auto second = co_await post_message(session, "second");
        auto again = co_await http_fetch(port, "GET", "/");
        auto first_at = again.body.find(first["html"].get<std::string>());
        auto second_at = again.body.find(second["html"].get<std::string>());
        CHECK(first_at != std::string::npos);
        CHECK(second_at != std::string::npos);
        CHECK(first_at < second_at);
        CHECK(again.body.find("data-cursor=\"" + second["id"].get<std::string>() + "\"") !=
              std::string::npos);
        co_await server.shutdown(5s);  // closes the sockets, lets their handlers finish
    };
    gale::test::run(body(test_options()));
}

TEST_CASE("chat: POST /a/message/new needs the XSRF token and answers with the message", "[chat]") {
    auto body = [](chat::ChatOptions options) -> Task<void> {
        chat::ChatServer server(std::move(options));
        auto port = server.listen(0);
        auto session = co_await open_session(port);

        auto no_token = co_await post_form(session, "/a/message/new", "body=hello", false);
        CHECK(no_token.status == 403);
        Session no_cookie = session;
        no_cookie.cookie = "other=1";
        auto forged = co_await post_form(no_cookie, "/a/message/new", "body=hello");
        CHECK(forged.status == 403);
        CHECK(server.room().messages().size() == 0);

        auto message = co_await post_message(session, "  hello, world  ");
        CHECK(message["body"] == "hello, world");  // surrounding whitespace dropped
        CHECK(message["id"].is_string());
        std::string expected_html = "<div class=\"message\" id=\"m" +
                                    message["id"].get<std::string>() + "\">hello, world</div>";
        CHECK(message["html"] == expected_html);
        CHECK(server.room().messages().size() == 1);

        // The plain HTML form (no script) posts `next` and is sent back to the page.
        auto form = co_await post_form(session, "/a/message/new", "body=from+a+form&next=%2F");
        CHECK(form.status == 302);
        CHECK(form.headers.get("location") == "/");
        auto elsewhere =
            co_await post_form(session, "/a/message/new", "body=x&next=%2F%2Fevil.example");
        CHECK(elsewhere.status == 400);

        auto missing = co_await post_form(session, "/a/message/new", "text=x");
        CHECK(missing.status == 400);
        auto blank = co_await post_form(session, "/a/message/new", "body=+++");
        CHECK(blank.status == 400);
        std::string longest(4096, 'a');
        auto fits = co_await post_form(session, "/a/message/new", "body=" + longest);
        CHECK(fits.status == 200);
        auto too_long = co_await post_form(session, "/a/message/new", "body=a" + longest);
        CHECK(too_long.status == 400);
        CHECK(server.room().messages().size() == 3);
        co_await server.shutdown(5s);  // closes the sockets, lets their handlers finish
    };
    gale::test::run(body(test_options()));
}

TEST_CASE("chat: updates answers what follows the cursor", "[chat]") {
    auto body = [](chat::ChatOptions options) -> Task<void> {
        chat::ChatServer server(std::move(options));
        auto port = server.listen(0);
        auto session = co_await open_session(port);
        auto one = co_await post_message(session, "one");
        auto two = co_await post_message(session, "two");
        co_await post_message(session, "three");

        auto after_one = co_await updates(session, one["id"].get<std::string>());
        CHECK(bodies_of(after_one) == Bodies{"two", "three"});
        CHECK(after_one[0] == two);  // the same object the poster got
        auto after_two = co_await updates(session, two["id"].get<std::string>());
        CHECK(bodies_of(after_two) == Bodies{"three"});
        // No cursor, or one the room does not know (trimmed, another run): everything kept.
        auto everything = co_await updates(session, std::nullopt);
        CHECK(bodies_of(everything) == Bodies{"one", "two", "three"});
        auto unknown = co_await updates(session, std::string("0000-1"));
        CHECK(bodies_of(unknown) == Bodies{"one", "two", "three"});

        auto no_token = co_await post_form(session, "/a/message/updates", "cursor=x", false);
        CHECK(no_token.status == 403);
        co_await server.shutdown(5s);  // closes the sockets, lets their handlers finish
    };
    gale::test::run(body(test_options()));
}

TEST_CASE("chat: updates waits for the next message, or times out with none", "[chat]") {
    auto body = [](chat::ChatOptions options) -> Task<void> {
        chat::ChatServer server(std::move(options));
        auto port = server.listen(0);
        auto session = co_await open_session(port);
        auto newest = co_await post_message(session, "before");
        std::string cursor = newest["id"].get<std::string>();

        auto poster = [](Session poster_session, chat::ChatRoom& room) -> Task<nlohmann::json> {
            auto one_waiting = [&room] { return room.messages().waiter_count() == 1; };
            bool waited = co_await eventually(one_waiting);
            CHECK(waited);
            co_return co_await post_message(std::move(poster_session), "wake up");
        };
        auto waiting = updates(session, cursor);
        auto posting = poster(session, server.room());
        auto [woken, posted] = co_await gale::when_all(std::move(waiting), std::move(posting));
        REQUIRE(woken.size() == 1);
        CHECK(woken[0] == posted);
        CHECK(server.room().messages().waiter_count() == 0);

        // Nothing newer within the poll timeout (200 ms here): an empty list, poll again.
        auto started = gale::IOLoop::current().time();
        auto nothing = co_await updates(session, posted["id"].get<std::string>());
        CHECK(nothing.empty());
        CHECK(gale::IOLoop::current().time() - started >= 150ms);
        CHECK(server.room().messages().waiter_count() == 0);
        co_await server.shutdown(5s);  // closes the sockets, lets their handlers finish
    };
    gale::test::run(body(test_options(200ms)));
}

TEST_CASE("chat: a poller that disconnects leaves no waiter", "[chat]") {
    auto body = [](chat::ChatOptions options) -> Task<void> {
        chat::ChatServer server(std::move(options));
        auto port = server.listen(0);
        auto session = co_await open_session(port);
        auto& room = server.room();
        constexpr int clients = 5;
        std::vector<gale::IOStream> streams;
        std::string fields = "_xsrf=" + gale::web::url_escape(session.token);
        std::string request =
            "POST /a/message/updates HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: " + session.cookie +
            "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
            std::to_string(fields.size()) + "\r\n\r\n" + fields;
        auto address = *gale::SocketAddress::from_ip("127.0.0.1", port);
        for (int i = 0; i < clients; ++i) {
            auto stream = co_await gale::connect_to(address);
            co_await stream.write(request);
            streams.push_back(std::move(stream));
        }
        auto all_waiting = [&room] { return room.messages().waiter_count() == clients; };
        bool waiting = co_await eventually(all_waiting);
        CHECK(waiting);
        for (auto& stream : streams) {
            stream.close();
        }
        auto none_waiting = [&room] { return room.messages().waiter_count() == 0; };
        bool left = co_await eventually(none_waiting);
        CHECK(left);
        co_await server.shutdown(5s);  // closes the sockets, lets their handlers finish
    };
    gale::test::run(body(test_options()));
}

TEST_CASE("chat: every message reaches every socket and poller, whichever way it came", "[chat]") {
    auto body = [](chat::ChatOptions options) -> Task<void> {
        chat::ChatServer server(std::move(options));
        auto port = server.listen(0);
        auto session = co_await open_session(port);
        auto alice = co_await open_socket(port);
        auto bob = co_await open_socket(port);
        auto& room = server.room();
        auto both_subscribed = [&room] { return room.sockets().size() == 2; };
        bool subscribed = co_await eventually(both_subscribed);
        REQUIRE(subscribed);

        // Long-polling → WebSocket.
        auto posted = co_await post_message(session, "from a poller");
        auto alice_got = co_await next_message(alice);
        auto bob_got = co_await next_message(bob);
        CHECK(alice_got == posted);
        CHECK(bob_got == posted);

        // WebSocket → WebSocket (the sender included) and → a waiting poller.
        auto waiting = updates(session, posted["id"].get<std::string>());
        auto sender = [](ClientConnection socket, chat::ChatRoom& chat_room) -> Task<void> {
            auto one_waiting = [&chat_room] { return chat_room.messages().waiter_count() == 1; };
            bool poller_waits = co_await eventually(one_waiting);
            CHECK(poller_waits);
            co_await socket.write_message(R"({"body": "from a socket"})");
        };
        auto sending = sender(alice, room);
        auto [polled, sent] = co_await gale::when_all(std::move(waiting), std::move(sending));
        CHECK(sent);
        REQUIRE(polled.size() == 1);
        CHECK(polled[0]["body"] == "from a socket");
        alice_got = co_await next_message(alice);
        bob_got = co_await next_message(bob);
        CHECK(alice_got == polled[0]);
        CHECK(bob_got == polled[0]);
        CHECK(room.messages().size() == 2);

        // A socket that closes leaves the room.
        co_await bob.close();
        auto one_subscribed = [&room] { return room.sockets().size() == 1; };
        bool left = co_await eventually(one_subscribed);
        CHECK(left);
        co_await alice.close();
        co_await server.shutdown(5s);  // closes the sockets, lets their handlers finish
    };
    gale::test::run(body(test_options()));
}

TEST_CASE("chat: a socket sending anything but {\"body\": text} is closed", "[chat]") {
    auto body = [](chat::ChatOptions options) -> Task<void> {
        chat::ChatServer server(std::move(options));
        auto port = server.listen(0);
        std::vector<std::pair<std::string, int>> cases = {
            {"not json", 1003},
            {R"({"text": "no body"})", 1003},
            {R"({"body": 42})", 1003},
            {R"(["body"])", 1003},
            {R"({"body": ")" + std::string(4097, 'x') + "\"}", 1009},
        };
        for (const auto& [text, code] : cases) {
            auto socket = co_await open_socket(port);
            co_await socket.write_message(text);
            auto after = co_await gale::with_timeout(20s, socket.read_message());
            CHECK_FALSE(after);
            CHECK(socket.close_code() == code);
        }
        // An empty body is ignored, and the socket stays usable.
        auto socket = co_await open_socket(port);
        co_await socket.write_message(R"({"body": "   "})");
        co_await socket.write_message(R"({"body": "still here", "_xsrf": "ignored"})");
        auto message = co_await next_message(socket);
        CHECK(message["body"] == "still here");
        CHECK(server.room().messages().size() == 1);
        co_await socket.close();
        co_await server.shutdown(5s);  // closes the sockets, lets their handlers finish
    };
    gale::test::run(body(test_options()));
}

TEST_CASE("chat: the room keeps the last 200 messages, with unique ids", "[chat]") {
    auto body = [](chat::ChatOptions options) -> Task<void> {
        chat::ChatServer server(std::move(options));
        auto port = server.listen(0);
        auto session = co_await open_session(port);
        std::set<std::string> ids;
        for (int i = 1; i <= 201; ++i) {
            auto message = co_await post_message(session, "message " + std::to_string(i));
            ids.insert(message["id"].get<std::string>());
        }
        CHECK(ids.size() == 201);
        CHECK(server.room().messages().size() == 200);
        auto kept = co_await updates(session, std::nullopt);
        REQUIRE(kept.size() == 200);
        CHECK(kept.front()["body"] == "message 2");
        CHECK(kept.back()["body"] == "message 201");
        auto page = co_await http_fetch(port, "GET", "/");
        CHECK(count_of(page.body, "class=\"message\"") == 200);
        CHECK(page.body.find(">message 1<") == std::string::npos);
        CHECK(page.body.find(">message 2<") != std::string::npos);
        co_await server.shutdown(5s);  // closes the sockets, lets their handlers finish
    };
    gale::test::run(body(test_options()));
}

TEST_CASE("chat: message bodies are escaped in every rendering", "[chat]") {
    auto body = [](chat::ChatOptions options) -> Task<void> {
        chat::ChatServer server(std::move(options));
        auto port = server.listen(0);
        auto session = co_await open_session(port);
        auto socket = co_await open_socket(port);
        const std::string attack = R"(<script>alert("x")</script> & <img src=x onerror=alert(1)>)";
        auto posted = co_await post_message(session, attack);
        CHECK(posted["body"] == attack);  // the text itself is kept as sent
        std::string html = posted["html"];
        CHECK(html.find("<script") == std::string::npos);
        CHECK(html.find("<img") == std::string::npos);
        CHECK(html.find("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img") !=
              std::string::npos);

        nlohmann::json over_socket = {{"body", attack + " again"}};
        co_await socket.write_message(over_socket.dump());
        auto first = co_await next_message(socket);
        auto second = co_await next_message(socket);
        CHECK(first == posted);
        CHECK(second["body"] == attack + " again");
        CHECK(second["html"].get<std::string>().find("<script") == std::string::npos);

        auto page = co_await http_fetch(port, "GET", "/");
        CHECK(page.body.find("<script>alert") == std::string::npos);
        CHECK(page.body.find("<img") == std::string::npos);
        CHECK(count_of(page.body, "&lt;script&gt;alert(") == 2);

        // Links are made only for http(s) URLs, and their text is escaped too.
        auto linked = co_await post_message(session, "see https://example.com/page <b>");
        std::string expected_html = "<div class=\"message\" id=\"m" +
                                    linked["id"].get<std::string>() +
                                    "\">see <a href=\"https://example.com/page\">"
                                    "https://example.com/page</a> &lt;b&gt;</div>";
        CHECK(linked["html"] == expected_html);
        auto scripted = co_await post_message(session, "javascript:alert(1)");
        CHECK(scripted["html"].get<std::string>().find("<a") == std::string::npos);

        // A form post is bytes: invalid UTF-8 becomes U+FFFD, so the JSON and the WebSocket
        // text frames stay valid.
        auto garbled = co_await post_message(session, "\xff\xfe bytes");
        CHECK(garbled["body"] == "\xef\xbf\xbd\xef\xbf\xbd bytes");
        for (int skipped = 0; skipped < 2; ++skipped) {
            co_await next_message(socket);  // the two links above
        }
        auto garbled_over_socket = co_await next_message(socket);
        CHECK(garbled_over_socket == garbled);
        co_await socket.close();
        co_await server.shutdown(5s);  // closes the sockets, lets their handlers finish
    };
    gale::test::run(body(test_options()));
}

TEST_CASE("chat: find_assets", "[chat]") {
    auto found = chat::find_assets();
    CHECK(std::filesystem::is_regular_file(found / "templates" / "index.html"));
    CHECK(std::filesystem::is_regular_file(found / "static" / "chat.js"));
    CHECK(chat::find_assets(found) == found);
    gale::test::TemporaryDirectory empty;
    CHECK_THROWS_AS(chat::find_assets(empty.path()), gale::Error);
}
