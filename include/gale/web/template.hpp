#pragma once
/// Mustache templates loaded from a directory (kainjow's mustache engine), rendered with data
/// given as JSON.
///
/// `{{x}}` is HTML-escaped with `xhtml_escape`, `{{{x}}}` and `{{& x}}` are raw. `{{> name}}`
/// includes the template file `name` from the same root directory (e.g. `{{> message.html}}`).
/// JSON maps to mustache data as: objects → maps, arrays → lists, strings → strings, numbers →
/// their JSON text (42, 3.5), true/false → booleans (sections; they render as nothing), null →
/// false.

#include <gale/ioloop/errors.hpp>

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace gale::web {

/// A template cannot be found, read or compiled, or rendering failed; the message names the
/// template file and the reason (kainjow's parser message for syntax errors).
class TemplateError : public Error {
  public:
    using Error::Error;
};

struct TemplateLoaderOptions {
    /// Re-reads a template (and partial) whose file changed (modification time or size) when it
    /// is next used. Off: files are read once and cached until `clear_cache`.
    bool autoreload = false;
    /// Larger template files are refused.
    std::size_t max_template_size = 4 * 1024 * 1024;
    /// Stack a render may use for nested partials before it fails (recursive partials without
    /// an end would otherwise overflow the stack).
    std::size_t max_partial_stack_bytes = 512 * 1024;
};

/// Loads, caches and renders the templates under one root directory. Thread-safe: the cache is
/// locked, and each template renders under its own lock.
class TemplateLoader {
  public:
    /// Throws `TemplateError` if `root_directory` is not a directory.
    explicit TemplateLoader(std::filesystem::path root_directory,
                            TemplateLoaderOptions options = {});
    ~TemplateLoader();
    TemplateLoader(const TemplateLoader&) = delete;
    TemplateLoader& operator=(const TemplateLoader&) = delete;

    /// Renders template `name` (a path relative to the root, "/"-separated) with `data`.
    /// Throws `TemplateError` if the name escapes the root (absolute, "..", a symlink leading
    /// outside), if it or a partial it includes is missing, unreadable, too large or
    /// syntactically wrong, or if partials nest too deeply.
    std::string render(std::string_view name, const nlohmann::json& data);

    /// Checks and compiles template `name` without rendering (to fail early at start-up).
    void load(std::string_view name);

    /// Forgets every cached template (Tornado's Loader.reset).
    void clear_cache();

    const std::filesystem::path& root() const noexcept { return root_; }

    /// A compiled template (internal).
    struct Compiled;

  private:
    friend class TemplateContext;
    std::shared_ptr<Compiled> find(std::string_view name);
    std::filesystem::path resolve(std::string_view name) const;

    std::filesystem::path root_;
    TemplateLoaderOptions options_;
    std::mutex mutex_;
    std::map<std::string, std::shared_ptr<Compiled>, std::less<>> cache_;
};

/// Renders a template given as text, without a loader: `{{> name}}` is a `TemplateError`.
/// Throws `TemplateError` (named "<string>") on a syntax error.
std::string render_mustache(std::string_view source, const nlohmann::json& data);

}  // namespace gale::web
