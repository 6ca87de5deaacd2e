// Mustache templates from a directory, with a compiled-template cache and JSON data.

#include <gale/web/template.hpp>

#include <gale/web/escape.hpp>

#include "web/escape_internal.hpp"

// GCC's flow analysis reports a false "potential null dereference" inside kainjow's context
// (std::vector::insert of a pointer); the warning is raised after inlining, so it must be off for
// the whole file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <kainjow/mustache.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <vector>

namespace gale::web {

namespace mustache = kainjow::mustache;

struct TemplateLoader::Compiled {
    std::string name;
    mustache::data source;  // partials are re-parsed from their source by kainjow
    mustache::mustache compiled;
    std::filesystem::file_time_type modified;
    std::uintmax_t size = 0;
    std::mutex render_mutex;

    Compiled(std::string template_name, const std::string& text)
        : name(std::move(template_name)), source(text), compiled(text) {}
};

namespace {

mustache::data to_mustache(const nlohmann::json& value) {
    switch (value.type()) {
        case nlohmann::json::value_t::object: {
            mustache::data object{mustache::data::type::object};
            for (const auto& [key, item] : value.items()) {
                object.set(key, to_mustache(item));
            }
            return object;
        }
        case nlohmann::json::value_t::array: {
            mustache::data list{mustache::data::type::list};
            for (const auto& item : value) {
                list.push_back(to_mustache(item));
            }
            return list;
        }
        case nlohmann::json::value_t::string:
            return mustache::data{value.get_ref<const std::string&>()};
        case nlohmann::json::value_t::boolean:
            return mustache::data{value.get<bool>()};
        case nlohmann::json::value_t::number_integer:
        case nlohmann::json::value_t::number_unsigned:
        case nlohmann::json::value_t::number_float:
            return mustache::data{value.dump()};
        default:
            return mustache::data{false};
    }
}

std::string escape_html(const std::string& text) {
    return xhtml_escape(text);
}

// The current stack position (GCC and clang builtin).
std::uintptr_t stack_address() {
    return reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
}

}  // namespace

// Looks variables up in the JSON data and partials in the loader, and stops runaway recursion.
class TemplateContext : public mustache::context<std::string> {
  public:
    TemplateContext(TemplateLoader* loader, const mustache::data* data, std::size_t stack_budget)
        : mustache::context<std::string>(data),
          loader_(loader),
          stack_start_(stack_address()),
          stack_budget_(stack_budget) {}

    const mustache::data* get_partial(const std::string& name) const override {
        if (loader_ == nullptr) {
            throw TemplateError("template \"<string>\": partial \"" + name +
                                "\" cannot be loaded without a TemplateLoader");
        }
        std::uintptr_t here = stack_address();
        std::uintptr_t used = here < stack_start_ ? stack_start_ - here : here - stack_start_;
        if (used > stack_budget_) {
            throw TemplateError("partial \"" + name + "\" is nested too deeply (more than " +
                                std::to_string(stack_budget_) +
                                " bytes of stack): recursive "
                                "partials must end");
        }
        auto partial = loader_->find(name);
        used_partials_.push_back(partial);  // keeps its source alive while it renders
        return &partial->source;
    }

  private:
    TemplateLoader* loader_;
    std::uintptr_t stack_start_;
    std::size_t stack_budget_;
    mutable std::vector<std::shared_ptr<TemplateLoader::Compiled>> used_partials_;
};

TemplateLoader::TemplateLoader(std::filesystem::path root_directory, TemplateLoaderOptions options)
    : options_(options) {
    std::error_code error;
    root_ = std::filesystem::canonical(root_directory, error);
    if (error || !std::filesystem::is_directory(root_)) {
        throw TemplateError("template directory \"" + root_directory.string() +
                            "\" is not a directory" + (error ? ": " + error.message() : ""));
    }
}

TemplateLoader::~TemplateLoader() = default;

std::filesystem::path TemplateLoader::resolve(std::string_view name) const {
    auto refuse = [&](const std::string& reason) -> std::filesystem::path {
        throw TemplateError("template name " + detail::quote_for_message(name, 200) + " " + reason);
    };
    if (name.empty()) {
        return refuse("is empty");
    }
    if (name.find('\0') != std::string_view::npos || name.find('\\') != std::string_view::npos) {
        return refuse("contains a NUL or backslash");
    }
    if (name.front() == '/') {
        return refuse("is absolute: names are relative to the template directory");
    }
    std::filesystem::path relative(name);
    for (const auto& segment : relative) {
        if (segment == "..") {
            return refuse("contains \"..\": it would leave the template directory");
        }
    }
    std::error_code error;
    std::filesystem::path path = std::filesystem::weakly_canonical(root_ / relative, error);
    if (error) {
        return refuse("cannot be resolved: " + error.message());
    }
    // A symbolic link may still lead outside the root.
    auto [root_end, path_end] = std::mismatch(root_.begin(), root_.end(), path.begin(), path.end());
    if (root_end != root_.end()) {
        return refuse("leads outside the template directory \"" + root_.string() + "\"");
    }
    return path;
}

std::shared_ptr<TemplateLoader::Compiled> TemplateLoader::find(std::string_view name) {
    std::lock_guard lock(mutex_);
    auto cached = cache_.find(name);
    if (cached != cache_.end() && !options_.autoreload) {
        return cached->second;
    }
    std::filesystem::path path = resolve(name);
    std::error_code error;
    auto modified = std::filesystem::last_write_time(path, error);
    auto size = error ? 0 : std::filesystem::file_size(path, error);
    if (error) {
        throw TemplateError("template \"" + std::string(name) + "\" not found in \"" +
                            root_.string() + "\": " + error.message());
    }
    if (cached != cache_.end() && cached->second->modified == modified &&
        cached->second->size == size) {
        return cached->second;
    }
    if (size > options_.max_template_size) {
        throw TemplateError("template \"" + std::string(name) + "\" is " + std::to_string(size) +
                            " bytes, more than the limit of " +
                            std::to_string(options_.max_template_size));
    }
    std::ifstream file(path, std::ios::binary);
    std::ostringstream text;
    text << file.rdbuf();
    if (!file) {
        throw TemplateError("template \"" + std::string(name) + "\" cannot be read from \"" +
                            path.string() + "\"");
    }
    auto compiled = std::make_shared<Compiled>(std::string(name), text.str());
    if (!compiled->compiled.is_valid()) {
        throw TemplateError("template \"" + std::string(name) +
                            "\" has a syntax error: " + compiled->compiled.error_message());
    }
    compiled->compiled.set_custom_escape(escape_html);
    compiled->modified = modified;
    compiled->size = size;
    cache_.insert_or_assign(std::string(name), compiled);
    return compiled;
}

void TemplateLoader::load(std::string_view name) {
    find(name);
}

void TemplateLoader::clear_cache() {
    std::lock_guard lock(mutex_);
    cache_.clear();
}

std::string TemplateLoader::render(std::string_view name, const nlohmann::json& data) {
    auto compiled = find(name);
    mustache::data converted = to_mustache(data);
    std::lock_guard lock(compiled->render_mutex);
    TemplateContext context(this, &converted, options_.max_partial_stack_bytes);
    std::string output;
    try {
        output = compiled->compiled.render(context);
    } catch (...) {
        // A failed render may leave kainjow's error state behind: compile afresh next time.
        clear_cache();
        throw;
    }
    if (!compiled->compiled.is_valid()) {
        std::string reason = compiled->compiled.error_message();
        clear_cache();
        throw TemplateError("template \"" + std::string(name) + "\" failed to render: " + reason);
    }
    return output;
}

std::string render_mustache(std::string_view source, const nlohmann::json& data) {
    mustache::mustache compiled{std::string(source)};
    if (!compiled.is_valid()) {
        throw TemplateError("template \"<string>\" has a syntax error: " +
                            compiled.error_message());
    }
    compiled.set_custom_escape(escape_html);
    mustache::data converted = to_mustache(data);
    TemplateContext context(nullptr, &converted, 0);
    std::string output = compiled.render(context);
    if (!compiled.is_valid()) {
        throw TemplateError("template \"<string>\" failed to render: " + compiled.error_message());
    }
    return output;
}

}  // namespace gale::web
