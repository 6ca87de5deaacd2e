#pragma once
// A small command-line reader for the demos: `--name value` and `--flag` options plus
// positional arguments, with a usage message on error. Not part of the library.

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace demo {

class Arguments {
  public:
    /// `valued`: options that take a value; `flags`: options that do not.
    Arguments(int argc, char** argv, std::set<std::string> valued, std::set<std::string> flags,
              std::string usage)
        : usage_(std::move(usage)) {
        for (int i = 1; i < argc; ++i) {
            std::string argument = argv[i];
            if (argument == "--help" || argument == "-h") {
                std::printf("%s\n", usage_.c_str());
                std::exit(0);
            }
            if (argument.rfind("--", 0) != 0) {
                positional_.push_back(argument);
                continue;
            }
            std::string name = argument.substr(2);
            std::optional<std::string> inline_value;
            if (auto equals = name.find('='); equals != std::string::npos) {
                inline_value = name.substr(equals + 1);
                name = name.substr(0, equals);
            }
            if (flags.contains(name) && !inline_value) {
                values_[name] = "1";
            } else if (valued.contains(name)) {
                if (!inline_value && i + 1 >= argc) {
                    fail("option --" + name + " needs a value");
                }
                values_[name] = inline_value ? *inline_value : argv[++i];
            } else {
                fail("unknown option --" + name);
            }
        }
    }

    bool has(const std::string& name) const { return values_.contains(name); }

    std::string text(const std::string& name, std::string fallback = {}) const {
        auto found = values_.find(name);
        return found == values_.end() ? fallback : found->second;
    }

    long number(const std::string& name, long fallback, long minimum, long maximum) const {
        auto found = values_.find(name);
        if (found == values_.end()) {
            return fallback;
        }
        long value = 0;
        const std::string& text = found->second;
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (error != std::errc() || end != text.data() + text.size() || value < minimum ||
            value > maximum) {
            fail("--" + name + " must be a number from " + std::to_string(minimum) + " to " +
                 std::to_string(maximum));
        }
        return value;
    }

    const std::vector<std::string>& positional() const { return positional_; }

    [[noreturn]] void fail(const std::string& message) const {
        std::fprintf(stderr, "error: %s\n%s\n", message.c_str(), usage_.c_str());
        std::exit(2);
    }

  private:
    std::string usage_;
    std::map<std::string, std::string> values_;
    std::vector<std::string> positional_;
};

}  // namespace demo
