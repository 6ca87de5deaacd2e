#include <gale/web/application.hpp>
#include <gale/web/escape.hpp>
#include <gale/web/static_file_handler.hpp>
#include <gale/web/template.hpp>

#include <gale/ioloop/log.hpp>
#include <gale/ioloop/shutdown.hpp>
#include <gale/web/websocket_handler.hpp>

#include "web/escape_internal.hpp"
#include "web/hash_internal.hpp"

#include <openssl/evp.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <vector>

namespace gale::web {

namespace {

// The path with each percent-encoded unreserved character (letters, digits, "-._~") decoded:
// "%74" is "t" (RFC 3986 §6.2.2.2, RFC 9110 §4.2.3), so /plain%74ext is /plaintext. Reserved
// characters ("%2F") stay encoded: decoding them would change what the path says.
std::string decode_unreserved_escapes(std::string_view path) {
    std::string normal;
    normal.reserve(path.size());
    for (std::size_t at = 0; at < path.size(); ++at) {
        if (path[at] == '%' && at + 2 < path.size() && detail::hex_value(path[at + 1]) >= 0 &&
            detail::hex_value(path[at + 2]) >= 0) {
            const auto decoded = static_cast<char>(detail::hex_value(path[at + 1]) * 16 +
                                                   detail::hex_value(path[at + 2]));
            if (detail::is_ascii_alphanumeric(decoded) ||
                std::string_view("-._~").find(decoded) != std::string_view::npos) {
                normal += decoded;
                at += 2;
                continue;
            }
        }
        normal += path[at];
    }
    return normal;
}

bool has_regex_syntax(std::string_view pattern) {
    return pattern.find_first_of("\\^$.|?*+()[]{}") != std::string_view::npos;
}

// A route's pattern compiled for matching, with its groups' names (empty for positional ones)
// and, when the pattern is simple enough, the pieces to rebuild a URL from arguments.
struct CompiledRoute {
    Route route;
    std::optional<std::regex> expression;  // none: a literal path
    std::vector<std::string> group_names;
    bool has_named_groups = false;
    std::optional<std::vector<std::string>> reverse_pieces;  // literal text between groups
};

// Converts Tornado's (?P<name>...) and (?<name>...) groups to plain groups (std::regex has no
// named groups) and records every capturing group's name. Returns the ECMAScript pattern.
std::string translate_groups(std::string_view pattern, std::vector<std::string>& names) {
    std::string out;
    bool in_class = false;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        char c = pattern[i];
        if (c == '\\' && i + 1 < pattern.size()) {
            out += c;
            out += pattern[++i];
            continue;
        }
        if (in_class) {
            in_class = c != ']';
            out += c;
            continue;
        }
        if (c == '[') {
            in_class = true;
        } else if (c == '(') {
            std::string_view rest = pattern.substr(i + 1);
            std::size_t prefix =
                rest.rfind("?P<", 0) == 0 ? 3
                : rest.rfind("?<", 0) == 0 && rest.size() > 2 && rest[2] != '=' && rest[2] != '!'
                    ? 2
                    : 0;
            if (prefix != 0) {
                std::size_t close = rest.find('>');
                if (close == std::string_view::npos) {
                    throw Error("route pattern '" + std::string(pattern) +
                                "': unterminated group name");
                }
                names.emplace_back(rest.substr(prefix, close - prefix));
                out += '(';
                i += close + 1;
                continue;
            }
            if (rest.empty() || rest.front() != '?') {
                names.emplace_back();  // positional group
            }
        }
        out += c;
    }
    return out;
}

// For reverse_url: the literal pieces around each top-level group, when the rest of the pattern
// is plain text (escaped characters allowed). Nested groups or other syntax: not reversible.
std::optional<std::vector<std::string>> reverse_pieces_of(std::string_view pattern) {
    if (!pattern.empty() && pattern.front() == '^') {
        pattern.remove_prefix(1);
    }
    if (!pattern.empty() && pattern.back() == '$') {
        pattern.remove_suffix(1);
    }
    std::vector<std::string> pieces(1);
    int depth = 0;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        char c = pattern[i];
        if (c == '\\' && i + 1 < pattern.size()) {
            if (depth == 0) {
                pieces.back() += pattern[i + 1];
            }
            ++i;
        } else if (c == '(') {
            if (++depth > 1) {
                return std::nullopt;
            }
        } else if (c == ')') {
            if (--depth == 0) {
                pieces.emplace_back();
            }
        } else if (depth == 0) {
            if (std::string_view("^$.|?*+[]{}").find(c) != std::string_view::npos) {
                return std::nullopt;
            }
            pieces.back() += c;
        }
    }
    return pieces;
}

CompiledRoute compile(Route route) {
    CompiledRoute compiled;
    std::string_view pattern = route.pattern;
    if (has_regex_syntax(pattern)) {
        std::string translated = translate_groups(pattern, compiled.group_names);
        try {
            compiled.expression.emplace(translated, std::regex::ECMAScript | std::regex::optimize);
        } catch (const std::regex_error& error) {
            throw Error("route pattern '" + std::string(pattern) +
                        "' is not a valid regular expression: " + error.what());
        }
        for (const std::string& name : compiled.group_names) {
            compiled.has_named_groups |= !name.empty();
        }
    }
    compiled.reverse_pieces = reverse_pieces_of(pattern);
    compiled.route = std::move(route);
    return compiled;
}

// Tornado decodes path arguments with url_unescape(plus=False).
std::string decode_path_argument(std::string_view raw) {
    return url_unescape(raw, false);
}

// Any request that matches no route: 404 for every method.
class NotFoundHandler final : public RequestHandler {
  public:
    Task<void> prepare() override { throw http::HTTPError(404); }
};

// `OPTIONS *` asks about the server, not about a resource (RFC 9110 §9.3.7): 200 with the
// methods the application's handlers take (start_method adds Allow) and no content.
class ServerOptionsHandler final : public RequestHandler {
  public:
    Task<void> options() override { co_return; }
};

const std::vector<std::string> all_methods = {"GET",   "HEAD",   "POST",   "PUT",
                                              "PATCH", "DELETE", "OPTIONS"};

// Exact paths to route indexes: open addressing over a power-of-two table, so a lookup is
// one hash, a mask and (nearly always) one comparison; a std::unordered_map took a division
// and a node per lookup, which showed in every request's profile.
class LiteralIndex {
  public:
    static constexpr std::size_t none = static_cast<std::size_t>(-1);

    /// Adds `path` for route `index` unless an earlier route has that path already.
    void insert(std::string_view path, std::size_t index) {
        if (find(path) != none) {
            return;
        }
        if (2 * (entries_.size() + 1) > slots_.size()) {
            grow();
        }
        entries_.push_back({std::string(path), index});
        place(entries_.size() - 1);
    }

    std::size_t find(std::string_view path) const noexcept {
        if (slots_.empty()) {
            return none;
        }
        const std::uint64_t hash = detail::hash_bytes(path);
        for (std::size_t at = hash & mask_;; at = (at + 1) & mask_) {
            const Slot& slot = slots_[at];
            if (slot.entry == empty) {
                return none;
            }
            const Entry& entry = entries_[slot.entry];
            if (slot.hash == hash && entry.path == path) {
                return entry.route;
            }
        }
    }

  private:
    static constexpr std::uint32_t empty = static_cast<std::uint32_t>(-1);
    struct Entry {
        std::string path;
        std::size_t route;
    };
    struct Slot {
        std::uint64_t hash = 0;
        std::uint32_t entry = empty;
    };

    void place(std::size_t entry) {
        const std::uint64_t hash = detail::hash_bytes(entries_[entry].path);
        std::size_t at = hash & mask_;
        while (slots_[at].entry != empty) {
            at = (at + 1) & mask_;
        }
        slots_[at] = {hash, static_cast<std::uint32_t>(entry)};
    }

    // At most half full, so every probe sequence ends at an empty slot soon.
    void grow() {
        slots_.assign(std::max<std::size_t>(16, 2 * slots_.size()), Slot{});
        mask_ = slots_.size() - 1;
        for (std::size_t entry = 0; entry < entries_.size(); ++entry) {
            place(entry);
        }
    }

    std::vector<Entry> entries_;
    std::vector<Slot> slots_;
    std::size_t mask_ = 0;
};

}  // namespace

struct Application::RouteTable {
    struct Table {
        std::vector<CompiledRoute> routes;
        LiteralIndex literal;  // exact path -> index of the first route with that pattern
    };
    std::vector<std::pair<std::regex, Table>> host_tables;
    Table default_table;

    static void add(Table& table, std::vector<Route> routes) {
        for (Route& route : routes) {
            CompiledRoute compiled = compile(std::move(route));
            if (!compiled.expression) {
                table.literal.insert(compiled.route.pattern, table.routes.size());
            }
            table.routes.push_back(std::move(compiled));
        }
    }

    struct Match {
        const CompiledRoute* route = nullptr;
        std::vector<std::string> args;
        std::map<std::string, std::string, std::less<>> kwargs;
    };

    static Match match_in(const Table& table, std::string_view path) {
        const std::size_t found = table.literal.find(path);
        const std::size_t literal_index = found == LiteralIndex::none ? table.routes.size() : found;
        for (std::size_t i = 0; i < table.routes.size(); ++i) {
            const CompiledRoute& route = table.routes[i];
            if (!route.expression) {
                if (i == literal_index) {
                    return Match{&route, {}, {}};
                }
                continue;
            }
            std::match_results<std::string_view::const_iterator> groups;
            if (!std::regex_match(path.begin(), path.end(), groups, *route.expression)) {
                continue;
            }
            Match match{&route, {}, {}};
            for (std::size_t group = 1;
                 group < groups.size() && group - 1 < route.group_names.size(); ++group) {
                std::string value =
                    groups[group].matched ? decode_path_argument(groups[group].str()) : "";
                const std::string& name = route.group_names[group - 1];
                if (route.has_named_groups) {
                    if (!name.empty()) {
                        match.kwargs.emplace(name, std::move(value));
                    }
                } else {
                    match.args.push_back(std::move(value));
                }
            }
            return match;
        }
        return {};
    }

    Match match(std::string_view host, std::string_view path) const {
        if (host_tables.empty()) {
            return match_in(default_table, path);
        }
        std::string bare_host(host.substr(
            0, host.rfind(':') == std::string_view::npos || host.back() == ']' ? host.size()
                                                                               : host.rfind(':')));
        for (const auto& [host_pattern, table] : host_tables) {
            if (std::regex_match(bare_host, host_pattern)) {
                Match found = match_in(table, path);
                if (found.route != nullptr) {
                    return found;
                }
            }
        }
        return match_in(default_table, path);
    }

    const CompiledRoute* named(std::string_view name) const {
        auto search = [&](const Table& table) -> const CompiledRoute* {
            for (const CompiledRoute& route : table.routes) {
                if (!route.route.name.empty() && route.route.name == name) {
                    return &route;
                }
            }
            return nullptr;
        };
        for (const auto& entry : host_tables) {
            if (const CompiledRoute* found = search(entry.second)) {
                return found;
            }
        }
        return search(default_table);
    }
};

Application::Application(std::vector<Route> routes, ApplicationSettings settings)
    : settings_(std::move(settings)), routes_(std::make_unique<RouteTable>()) {
    if (!settings_.static_path.empty()) {
        std::string directory = settings_.static_path;
        routes.push_back(route<StaticFileHandler>(
            settings_.static_url_prefix + "(.*)",
            [directory] { return std::make_unique<StaticFileHandler>(directory); }));
    }
    RouteTable::add(routes_->default_table, std::move(routes));
}

Application::~Application() {
    WebSocketHandler::unlink_all(open_websockets_);
}

void Application::add_routes(std::vector<Route> routes) {
    RouteTable::add(routes_->default_table, std::move(routes));
}

void Application::add_host_routes(std::string host_pattern, std::vector<Route> routes) {
    RouteTable::Table table;
    RouteTable::add(table, std::move(routes));
    routes_->host_tables.emplace_back(
        std::regex(host_pattern, std::regex::ECMAScript | std::regex::icase), std::move(table));
}

http::HTTPHandler Application::handler() {
    return [this](http::HTTPRequest& request, http::HTTPResponse& response) {
        return dispatch(request, response);
    };
}

// Not a coroutine: the handler's own task is the request's only frame in the web layer.
Task<void> Application::dispatch(http::HTTPRequest& request, http::HTTPResponse& response) {
    RouteTable::Match match;
    std::unique_ptr<RequestHandler> handler;
    const std::vector<std::string>* methods = &all_methods;
    if (request.path() == "*") {  // the parser lets only OPTIONS have it
        handler = std::make_unique<ServerOptionsHandler>();
    } else {
        std::string_view path = request.path();
        std::string normal;
        if (path.find('%') != std::string_view::npos) {
            normal = decode_unreserved_escapes(path);
            path = normal;
        }
        match = routes_->match(request.host(), path);
        if (match.route != nullptr) {
            handler = match.route->route.factory();
            methods = &match.route->route.methods;
        } else {
            handler = std::make_unique<NotFoundHandler>();
        }
    }
    handler->bind(*this, request, response, std::move(match.args), std::move(match.kwargs),
                  methods);
    return RequestHandler::execute(std::move(handler));
}

std::vector<SocketAddress> Application::listen(std::uint16_t port,
                                               const ListenOptions& listen_options,
                                               http::HTTPServerOptions server_options) {
    server_options.compress_response =
        server_options.compress_response || settings_.compress_response;
    server_options.max_body_size = std::max(server_options.max_body_size, settings_.max_body_size);
    servers_.push_back(std::make_unique<http::HTTPServer>(handler(), std::move(server_options)));
    return servers_.back()->listen(port, listen_options);
}

Task<void> Application::shutdown(IOLoop::Duration grace) {
    for (auto& server : servers_) {
        server->stop();
    }
    // WebSockets are never idle in HTTP's sense: close them (1001) so that they finish their
    // closing handshakes while the servers drain.
    close_all_websockets(*this);
    for (auto& server : servers_) {
        co_await server->shutdown(grace);
    }
}

std::string Application::reverse_url(std::string_view name,
                                     const std::vector<std::string>& arguments) const {
    const CompiledRoute* route = routes_->named(name);
    if (route == nullptr) {
        throw Error("reverse_url: no route named '" + std::string(name) + "'");
    }
    if (!route->reverse_pieces) {
        throw Error("reverse_url: the pattern of route '" + std::string(name) +
                    "' cannot be reversed");
    }
    const auto& pieces = *route->reverse_pieces;
    if (arguments.size() + 1 != pieces.size()) {
        throw Error("reverse_url: route '" + std::string(name) + "' takes " +
                    std::to_string(pieces.size() - 1) + " arguments, not " +
                    std::to_string(arguments.size()));
    }
    std::string url = pieces.front();
    for (std::size_t i = 0; i < arguments.size(); ++i) {
        url += url_escape(arguments[i], false);
        url += pieces[i + 1];
    }
    return url;
}

TemplateLoader& Application::templates() {
    if (!templates_) {
        if (settings_.template_path.empty()) {
            throw Error("render: the application has no template_path setting");
        }
        TemplateLoaderOptions options;
        options.autoreload = settings_.debug;
        templates_ = std::make_unique<TemplateLoader>(settings_.template_path, options);
    }
    return *templates_;
}

namespace {

// The first 16 hex digits of the SHA-256 of a file's content, or empty if unreadable.
std::string content_hash(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        return {};
    }
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    EVP_DigestInit_ex(context, EVP_sha256(), nullptr);
    char buffer[64 * 1024];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
        EVP_DigestUpdate(context, buffer, static_cast<std::size_t>(in.gcount()));
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(context, digest, &length);
    EVP_MD_CTX_free(context);
    static constexpr char hex[] = "0123456789abcdef";
    std::string text;
    for (unsigned int i = 0; i < 8 && i < length; ++i) {
        text += hex[digest[i] >> 4];
        text += hex[digest[i] & 15];
    }
    return text;
}

}  // namespace

std::string Application::static_url(std::string_view path) {
    std::string url = settings_.static_url_prefix + std::string(path);
    if (settings_.static_path.empty()) {
        return url;
    }
    std::error_code error;
    std::filesystem::path file = std::filesystem::path(settings_.static_path) / std::string(path);
    auto modified = std::filesystem::last_write_time(file, error);
    if (error) {
        return url;
    }
    std::int64_t stamp = modified.time_since_epoch().count();
    auto cached = static_versions_.find(path);
    // The hash is computed once per file (again when it changes, in debug mode).
    if (cached == static_versions_.end() || (settings_.debug && cached->second.second != stamp)) {
        std::string hash = content_hash(file);
        cached =
            static_versions_.insert_or_assign(std::string(path), std::make_pair(hash, stamp)).first;
    }
    if (cached->second.first.empty()) {
        return url;
    }
    return url + "?v=" + cached->second.first;
}

void serve(std::function<std::unique_ptr<Application>()> make_application, std::uint16_t port,
           ListenOptions listen_options, http::HTTPServerOptions server_options, unsigned threads,
           IOLoop::Duration grace) {
    listen_options.reuse_port = listen_options.reuse_port || threads > 1;
    run_until_shutdown(threads, [&](unsigned) -> Task<void> {
        std::unique_ptr<Application> application = make_application();
        application->listen(port, listen_options, server_options);
        co_await wait_for_shutdown();
        co_await application->shutdown(grace);
    });
}

}  // namespace gale::web
