#include <gale/web/mime_types.hpp>

#include <catch2/catch.hpp>

using namespace gale::web;

TEST_CASE("content_type_for_extension knows the common web files", "[web][mime]") {
    CHECK(content_type_for_extension("html") == "text/html; charset=utf-8");
    CHECK(content_type_for_extension(".HTML") == "text/html; charset=utf-8");
    CHECK(content_type_for_extension("css") == "text/css; charset=utf-8");
    CHECK(content_type_for_extension("js") == "text/javascript; charset=utf-8");
    CHECK(content_type_for_extension("mjs") == "text/javascript; charset=utf-8");
    CHECK(content_type_for_extension("json") == "application/json");
    CHECK(content_type_for_extension("map") == "application/json");
    CHECK(content_type_for_extension("png") == "image/png");
    CHECK(content_type_for_extension("jpg") == "image/jpeg");
    CHECK(content_type_for_extension("jpeg") == "image/jpeg");
    CHECK(content_type_for_extension("gif") == "image/gif");
    CHECK(content_type_for_extension("svg") == "image/svg+xml");
    CHECK(content_type_for_extension("webp") == "image/webp");
    CHECK(content_type_for_extension("ico") == "image/x-icon");
    CHECK(content_type_for_extension("txt") == "text/plain; charset=utf-8");
    CHECK(content_type_for_extension("xml") == "application/xml");
    CHECK(content_type_for_extension("pdf") == "application/pdf");
    CHECK(content_type_for_extension("wasm") == "application/wasm");
    CHECK(content_type_for_extension("woff") == "font/woff");
    CHECK(content_type_for_extension("woff2") == "font/woff2");
    CHECK(content_type_for_extension("mp4") == "video/mp4");
    CHECK(content_type_for_extension("webm") == "video/webm");
    CHECK(content_type_for_extension("csv") == "text/csv; charset=utf-8");
    CHECK(content_type_for_extension("zip") == "application/zip");
    CHECK(content_type_for_extension("gz") == "application/gzip");
    CHECK(!content_type_for_extension("exe"));
    CHECK(!content_type_for_extension(""));
    CHECK(!content_type_for_extension("."));
    CHECK(!content_type_for_extension(std::string(1000, 'a')));
}

TEST_CASE("content_type_for_path uses the last extension", "[web][mime]") {
    CHECK(content_type_for_path("static/app.min.js") == "text/javascript; charset=utf-8");
    CHECK(content_type_for_path("a/b.tar.gz") == "application/gzip");
    CHECK(content_type_for_path("README") == "application/octet-stream");
    CHECK(content_type_for_path(".htaccess") == "application/octet-stream");
    CHECK(content_type_for_path("dir.d/file") == "application/octet-stream");
    CHECK(content_type_for_path("x.unknown", "text/plain") == "text/plain");
    CHECK(content_type_for_path("") == "application/octet-stream");
}

TEST_CASE("is_compressible picks text-like types", "[web][mime]") {
    for (auto type : {"text/html; charset=utf-8", "text/plain", "TEXT/CSS", "application/json",
                      "application/javascript", "text/javascript", "application/xml",
                      "image/svg+xml", "application/atom+xml", "application/ld+json",
                      "application/wasm", " application/json ; charset=utf-8", "font/ttf",
                      "image/x-icon", "Application/Problem+JSON", "application/yaml"}) {
        INFO(type);
        CHECK(is_compressible(type));
    }
    for (auto type :
         {"image/png", "image/jpeg", "video/mp4", "font/woff2", "application/zip",
          "application/gzip", "application/pdf", "application/octet-stream", "text/event-stream",
          "TEXT/Event-Stream; charset=utf-8", "", ";", "json", "text/", "+json"}) {
        INFO(type);
        CHECK(!is_compressible(type));
    }
}
