// The web layer's hello world (docs/web.md): an Application with two handlers, which then
// fetches its own pages once and exits.
#include <gale/ioloop/tcp_client.hpp>
#include <gale/web/application.hpp>

#include <cstdio>

class MainHandler : public gale::web::RequestHandler {
  public:
    gale::Task<void> get() override {
        write("Hello, " + get_argument("name", "world"));
        co_return;
    }
};

class UserHandler : public gale::web::RequestHandler {
  public:
    gale::Task<void> get() override {
        write(nlohmann::json{{"user", path_kwargs().at("id")}});  // application/json
        co_return;
    }
};

gale::Task<std::string> fetch(std::uint16_t port, std::string path) {
    gale::IOStream stream =
        co_await gale::connect_to(*gale::SocketAddress::from_ip("127.0.0.1", port));
    co_await stream.write("GET " + path +
                          " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    std::string response = co_await stream.read_until_close();
    co_return response.substr(response.find("\r\n\r\n") + 4);
}

gale::Task<void> main_task() {
    gale::web::Application app({
        gale::web::route<MainHandler>("/"),
        gale::web::route<UserHandler>("/user/(?P<id>[0-9]+)", "user"),
    });
    std::uint16_t port = app.listen(0, "127.0.0.1").front().port();
    std::string hello = co_await fetch(port, "/?name=gale");
    std::string user_url = app.reverse_url("user", {"42"});  // "/user/42"
    std::string user = co_await fetch(port, user_url);
    std::printf("%s\n%s\n", hello.c_str(), user.c_str());
    co_await app.shutdown(std::chrono::seconds(1));
}

int main() {
    gale::IOLoop loop;
    loop.run_sync(main_task());
}
