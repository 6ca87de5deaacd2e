#include <gale/web/template.hpp>

#include <support/helpers.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

using namespace gale::web;
using nlohmann::json;

namespace {

void write_file(const std::filesystem::path& path, const std::string& text) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file << text;
}

}  // namespace

TEST_CASE("templates render JSON data with HTML escaping", "[web][template]") {
    gale::test::TemporaryDirectory directory;
    write_file(directory.path() / "page.html",
               "<h1>{{title}}</h1>{{{raw}}}{{& raw}}"
               "{{#items}}<li>{{name}}={{value}}</li>{{/items}}"
               "{{^items}}none{{/items}}{{#flag}}on{{/flag}}{{^missing}}absent{{/missing}}"
               "{{#nothing}}null is false{{/nothing}}{{user.name}}");
    TemplateLoader loader(directory.path());
    json data = {
        {"title", "<script>alert('x')</script> & \"q\""},
        {"raw", "<b>bold</b>"},
        {"items", json::array({{{"name", "a"}, {"value", 1}}, {{"name", "b"}, {"value", 2.5}}})},
        {"flag", true},
        {"nothing", nullptr},
        {"user", {{"name", "al"}}}};
    CHECK(loader.render("page.html", data) ==
          "<h1>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;</h1>"
          "<b>bold</b><b>bold</b><li>a=1</li><li>b=2.5</li>onabsental");
    CHECK(loader.render("page.html", {{"items", json::array()}}).find("none") != std::string::npos);
}

TEST_CASE("templates include partials from the same directory", "[web][template]") {
    gale::test::TemporaryDirectory directory;
    write_file(directory.path() / "index.html",
               "<div>{{#messages}}{{> message.html}}{{/messages}}</div>");
    write_file(directory.path() / "message.html",
               "<div class=\"message\" id=\"m{{id}}\">{{body}}</div>");
    write_file(directory.path() / "parts" / "footer.html", "[{{> parts/inner.html}}]");
    write_file(directory.path() / "parts" / "inner.html", "{{who}}");
    write_file(directory.path() / "footer_user.html", "{{> parts/footer.html}}");
    TemplateLoader loader(directory.path());
    json data = {{"messages", json::array({{{"id", "1"}, {"body", "hi <you>"}},
                                           {{"id", "2"}, {"body", "bye"}}})}};
    CHECK(loader.render("index.html", data) ==
          "<div><div class=\"message\" id=\"m1\">hi &lt;you&gt;</div>"
          "<div class=\"message\" id=\"m2\">bye</div></div>");
    CHECK(loader.render("footer_user.html", {{"who", "me"}}) == "[me]");
    CHECK(loader.render("parts/inner.html", {{"who", "x"}}) == "x");
}

TEST_CASE("templates: clear errors for missing files and syntax errors", "[web][template]") {
    gale::test::TemporaryDirectory directory;
    write_file(directory.path() / "broken.html", "{{#section}}never closed");
    write_file(directory.path() / "uses_missing.html", "a{{> nowhere.html}}b");
    write_file(directory.path() / "uses_broken.html", "a{{> broken.html}}b");
    TemplateLoader loader(directory.path());
    CHECK_THROWS_AS(loader.render("missing.html", {}), TemplateError);
    CHECK_THROWS_WITH(loader.render("missing.html", {}),
                      Catch::Contains("\"missing.html\" not found"));
    CHECK_THROWS_WITH(
        loader.render("broken.html", {}),
        Catch::Contains("\"broken.html\" has a syntax error") && Catch::Contains("section"));
    CHECK_THROWS_WITH(loader.render("uses_missing.html", {}),
                      Catch::Contains("\"nowhere.html\" not found"));
    CHECK_THROWS_WITH(loader.render("uses_broken.html", {}), Catch::Contains("broken.html"));
    CHECK_THROWS_WITH(loader.load("broken.html"), Catch::Contains("syntax error"));
    CHECK_THROWS_WITH(TemplateLoader(directory.path() / "nope"),
                      Catch::Contains("is not a directory"));
    CHECK_THROWS_WITH(render_mustache("{{/x}}", {}), Catch::Contains("<string>"));
    CHECK_THROWS_WITH(render_mustache("{{> p}}", {}), Catch::Contains("without a TemplateLoader"));
    CHECK(render_mustache("{{a}}!", {{"a", "<"}}) == "&lt;!");
}

TEST_CASE("templates: names cannot leave the root", "[web][template]") {
    gale::test::TemporaryDirectory directory;
    write_file(directory.path() / "root" / "ok.html", "ok");
    write_file(directory.path() / "secret.txt", "secret");
    write_file(directory.path() / "root" / "leak.html", "{{> ../secret.txt}}");
    std::filesystem::create_symlink(directory.path() / "secret.txt",
                                    directory.path() / "root" / "link.html");
    TemplateLoader loader(directory.path() / "root");
    CHECK(loader.render("ok.html", {}) == "ok");
    CHECK(loader.render("./ok.html", {}) == "ok");
    CHECK_THROWS_WITH(loader.render("../secret.txt", {}), Catch::Contains("\"..\""));
    CHECK_THROWS_WITH(loader.render("sub/../../secret.txt", {}), Catch::Contains("\"..\""));
    CHECK_THROWS_WITH(loader.render((directory.path() / "secret.txt").string(), {}),
                      Catch::Contains("is absolute"));
    CHECK_THROWS_WITH(loader.render("link.html", {}), Catch::Contains("leads outside"));
    CHECK_THROWS_WITH(loader.render("leak.html", {}), Catch::Contains("\"..\""));
    CHECK_THROWS_WITH(loader.render("", {}), Catch::Contains("is empty"));
    CHECK_THROWS_WITH(loader.render(std::string("ok.html\0x", 9), {}), Catch::Contains("NUL"));
    CHECK_THROWS_WITH(loader.render("..\\secret.txt", {}), Catch::Contains("backslash"));
}

TEST_CASE("templates: caching, autoreload and clear_cache", "[web][template]") {
    gale::test::TemporaryDirectory directory;
    auto path = directory.path() / "t.html";
    write_file(path, "one");
    TemplateLoader cached(directory.path());
    TemplateLoader reloading(directory.path(), {.autoreload = true});
    CHECK(cached.render("t.html", {}) == "one");
    CHECK(reloading.render("t.html", {}) == "one");
    write_file(path, "two, longer");  // a different size: a change even within one mtime tick
    CHECK(cached.render("t.html", {}) == "one");
    CHECK(reloading.render("t.html", {}) == "two, longer");
    cached.clear_cache();
    CHECK(cached.render("t.html", {}) == "two, longer");
    std::filesystem::remove(path);
    CHECK(cached.render("t.html", {}) == "two, longer");  // still cached
    CHECK_THROWS_WITH(reloading.render("t.html", {}), Catch::Contains("not found"));
}

TEST_CASE("templates: limits on size and recursion", "[web][template]") {
    gale::test::TemporaryDirectory directory;
    write_file(directory.path() / "big.html", std::string(2000, 'x'));
    write_file(directory.path() / "loop.html", "a{{> loop.html}}");
    write_file(directory.path() / "tree.html",
               "{{name}}({{#children}}{{> tree.html}}{{/children}})");
    TemplateLoader loader(directory.path(), {.max_template_size = 1000});
    CHECK_THROWS_WITH(loader.render("big.html", {}), Catch::Contains("limit of 1000"));
    CHECK_THROWS_WITH(loader.render("loop.html", {}), Catch::Contains("nested too deeply"));
    // Bounded recursion works, and the loader is usable after a failed render.
    json tree = {{"name", "root"},
                 {"children", json::array({{{"name", "a"}, {"children", json::array()}},
                                           {{"name", "b"}, {"children", json::array()}}})}};
    CHECK(loader.render("tree.html", tree) == "root(a()b())");
}

TEST_CASE("templates render concurrently from several threads", "[web][template]") {
    gale::test::TemporaryDirectory directory;
    write_file(directory.path() / "t.html", "{{#n}}{{.}},{{/n}}{{> p.html}}");
    write_file(directory.path() / "p.html", "end");
    TemplateLoader loader(directory.path());
    std::vector<std::thread> threads;
    std::vector<std::string> results(4);
    for (std::size_t i = 0; i < results.size(); ++i) {
        threads.emplace_back([&, i] {
            for (int round = 0; round < 200; ++round) {
                results[i] = loader.render("t.html", {{"n", json::array({1, 2, 3})}});
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    for (const auto& result : results) {
        CHECK(result == "1,2,3,end");
    }
}
