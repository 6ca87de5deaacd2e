#include <gale/web/multipart.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

using namespace gale::web;

namespace {

// Test bodies are written with "\n"; multipart needs CRLF.
std::string crlf(std::string text) {
    std::string result;
    for (char c : text) {
        if (c == '\n') {
            result += '\r';
        }
        result += c;
    }
    return result;
}

std::string file_part(const std::string& disposition, const std::string& body = "Foo") {
    return crlf("--1234\nContent-Disposition: " + disposition + "\n\n" + body + "\n--1234--");
}

}  // namespace

TEST_CASE("multipart: a file upload and fields", "[web][multipart]") {
    std::string body = crlf(
        "preamble is ignored\n"
        "--1234\n"
        "Content-Disposition: form-data; name=\"title\"\n\n"
        "Hello\n"
        "--1234\n"
        "Content-Disposition: form-data; name=\"files\"; filename=\"ab.txt\"\n"
        "Content-Type: text/plain\n\n"
        "Foo\nwith --1234x inside and\n-- too\n"
        "--1234  \n"
        "content-disposition: FORM-DATA; name=title\n\n\n"
        "--1234\n"
        "Content-Disposition: form-data; name=\"files\"; filename=\"b.bin\"\n\n"
        "\n"
        "--1234--\nepilogue is ignored");
    FormData form = parse_multipart_form_data("1234", body);
    CHECK(form.fields.all("title") == std::vector<std::string>{"Hello", ""});
    REQUIRE(form.files.size() == 2);
    CHECK(form.files[0].name == "files");
    CHECK(form.files[0].filename == "ab.txt");
    CHECK(form.files[0].content_type == "text/plain");
    CHECK(form.files[0].body == "Foo\r\nwith --1234x inside and\r\n-- too");
    CHECK(form.files[1].filename == "b.bin");
    CHECK(form.files[1].content_type == "application/unknown");
    CHECK(form.files[1].body == "");
    // Zero copy: the file body points into the request body.
    CHECK(form.files[0].body.data() >= body.data());
    CHECK(form.files[0].body.data() < body.data() + body.size());
    CHECK(form.files_named("files").size() == 2);
    CHECK(form.files_named("other").empty());
}

// Tornado's MultipartFormDataTest.
TEST_CASE("multipart: Tornado's accepted cases", "[web][multipart]") {
    auto only_file = [](const std::string& body, std::string boundary = "1234") {
        FormData form = parse_multipart_form_data(boundary, body);
        REQUIRE(form.files.size() == 1);
        CHECK(form.files[0].body == "Foo");
        return form.files[0].filename;
    };
    CHECK(only_file(file_part("form-data; name=\"files\"; filename=\"ab.txt\"")) == "ab.txt");
    CHECK(only_file(file_part("form-data; name=files; filename=ab.txt")) == "ab.txt");
    CHECK(only_file(file_part("form-data; name=\"files\"; filename=\"ab.txt\"; "
                              "filename*=UTF-8''%C3%A1b.txt")) ==
          "\xc3\xa1"
          "b.txt");
    CHECK(only_file(file_part("form-data; name=\"files\"; filename=\"ab.txt\""), "\"1234\"") ==
          "ab.txt");
    CHECK(only_file(file_part("form-data; name=\"files\"; filename=\"ab.txt\"") + "\r\n") ==
          "ab.txt");
    for (std::string filename : {"a;b.txt", "a\"b.txt", "a\";b.txt", "a;\"b.txt", "a\";\";.txt",
                                 "a\\\"b.txt", "a\\b.txt"}) {
        std::string escaped;
        for (char c : filename) {
            if (c == '\\' || c == '"') {
                escaped += '\\';
            }
            escaped += c;
        }
        INFO(filename);
        CHECK(only_file(file_part("form-data; name=\"files\"; filename=\"" + escaped + "\"")) ==
              filename);
    }
}

TEST_CASE("multipart: filenames in every encoding", "[web][multipart]") {
    auto filename_of = [](const std::string& disposition) {
        FormData form = parse_multipart_form_data("1234", file_part(disposition));
        REQUIRE(form.files.size() == 1);
        return form.files[0].filename;
    };
    CHECK(filename_of("form-data; name=f; filename=\"caf\xc3\xa9.txt\"") == "caf\xc3\xa9.txt");
    CHECK(filename_of("form-data; name=f; filename=caf\xc3\xa9.txt") == "caf\xc3\xa9.txt");
    CHECK(filename_of("form-data; name=f; filename*=utf-8'en'%E2%82%AC%20rates.txt") ==
          "\xe2\x82\xac rates.txt");
    CHECK(filename_of("form-data; name=f; filename*=ISO-8859-1''%E9t%E9.txt") ==
          "\xc3\xa9t\xc3\xa9.txt");
    CHECK(filename_of("form-data; filename*=\"UTF-8''a.txt\"; name=f") == "a.txt");
    CHECK(filename_of("form-data; name=f; filename=\"../../etc/passwd\"") == "../../etc/passwd");
    CHECK(filename_of("form-data;name=f;filename=x;;") == "x");
    // An empty filename is a field, as in Tornado (a browser's empty file input).
    FormData form = parse_multipart_form_data(
        "1234", file_part("form-data; name=\"upload\"; filename=\"\"", ""));
    CHECK(form.files.empty());
    CHECK(form.fields.last("upload") == "");
}

TEST_CASE("multipart: malformed bodies are clear errors", "[web][multipart]") {
    auto rejects = [](const std::string& body, const std::string& reason) {
        INFO(body);
        CHECK_THROWS_AS(parse_multipart_form_data("1234", body), MultipartError);
        CHECK_THROWS_WITH(parse_multipart_form_data("1234", body), Catch::Contains(reason));
    };
    // Tornado's rejected cases.
    rejects(crlf("--1234\n\nFoo\n--1234--"), "no Content-Disposition");
    rejects(file_part("invalid; name=\"files\"; filename=\"ab.txt\""), "is not form-data");
    rejects(crlf("--1234\nContent-Disposition: form-data; name=\"f\"; filename=\"ab.txt\"\n\n"
                 "Foo--1234--"),
            "no final boundary");
    rejects(file_part("form-data; filename=\"ab.txt\""), "has no name");
    // More.
    rejects("", "no boundary delimiter");
    CHECK_THROWS_AS(parse_multipart_form_data("1234", std::string_view()), MultipartError);
    rejects("--1234", "no boundary delimiter");
    rejects("just text", "no boundary delimiter");
    rejects(crlf("--1234\nContent-Disposition: form-data; name=a\n\nFoo"), "no final boundary");
    rejects(crlf("--1234\nContent-Disposition: form-data; name=a\n\nFoo\n--1234"),
            "no final boundary");
    rejects(crlf("--1234\nContent-Disposition: form-data; name=a\nFoo\n--1234--"),
            "no header block");
    rejects(crlf("--1234\n--1234--"), "a part is empty");
    rejects(crlf("--1234\n\n--1234\nContent-Disposition: form-data; name=a\n\nx\n--1234--"),
            "no header block");
    rejects(file_part("form-data; name=\"\""), "has no name");
    rejects(file_part("form-data; name=a; name=b"), "is repeated");
    rejects(file_part("form-data; name=\"a"), "unterminated quoted string");
    rejects(file_part("form-data; name=\"a\\"), "unterminated quoted string");
    rejects(file_part("form-data; name"), "has no value");
    rejects(file_part("form-data; name="), "empty value");
    rejects(file_part("form-data; =a"), "bad parameter name");
    rejects(file_part("form-data; name=\"a\" junk"), "expected ';'");
    rejects(file_part("form-data; name=\"a\x01\""), "control character");
    rejects(file_part("form-data; name=\"\xff\""), "is not UTF-8");
    rejects(file_part("form-data; name=a; filename=\"\xc3\""), "is not UTF-8");
    rejects(file_part("form-data; name=a; filename*=UTF-8''%FF"), "is not UTF-8");
    rejects(file_part("form-data; name=a; filename*=UTF-8''%F"), "bad percent-encoding");
    rejects(file_part("form-data; name=a; filename*=KOI8-R''x"), "not supported");
    rejects(file_part("form-data; name=a; filename*=a.txt"), "charset'language'value");
    // Header lines: CRLF only (Tornado 6.5.5 bans CR), no folding, no repeats.
    rejects("--1234\r\nContent-Disposition: form-data; name=a\rX: y\r\n\r\nv\r\n--1234--",
            "bare CR or LF");
    rejects("--1234\r\nContent-Disposition: form-data; name=a\nX: y\r\n\r\nv\r\n--1234--",
            "bare CR or LF");
    rejects(crlf("--1234\nContent-Disposition: form-data;\n name=a\n\nv\n--1234--"), "folded");
    rejects(crlf("--1234\nContent-Disposition form-data\n\nv\n--1234--"), "bad part header");
    rejects(crlf("--1234\nBad Name: x\n\nv\n--1234--"), "bad part header");
    rejects(
        crlf("--1234\nContent-Disposition: form-data; name=a\nContent-Type: a\x01\n\nv\n--1234--"),
        "control character");
    rejects(crlf("--1234\nContent-Disposition: form-data; name=a\nContent-Disposition: "
                 "form-data; name=b\n\nv\n--1234--"),
            "repeated Content-Disposition");
    CHECK_THROWS_WITH(parse_multipart_form_data("", "--\r\n"), Catch::Contains("empty boundary"));
}

TEST_CASE("multipart: limits on parts and part headers", "[web][multipart]") {
    std::string body;
    for (int i = 0; i < 101; ++i) {
        body += "--1234\r\nContent-Disposition: form-data; name=f" + std::to_string(i) +
                "\r\n\r\nv\r\n";
    }
    body += "--1234--\r\n";
    CHECK_THROWS_WITH(parse_multipart_form_data("1234", body),
                      Catch::Contains("more than 100 parts"));
    CHECK(parse_multipart_form_data("1234", body, {.max_parts = 101}).fields.size() == 101);

    std::string big_header =
        "--1234\r\nContent-Disposition: form-data; name=a\r\nX-Pad: " + std::string(11000, 'x') +
        "\r\n\r\nv\r\n--1234--";
    CHECK_THROWS_WITH(parse_multipart_form_data("1234", big_header),
                      Catch::Contains("part headers longer than 10240 bytes"));
    CHECK(parse_multipart_form_data("1234", big_header, {.max_part_header_size = 12000})
              .fields.last("a") == "v");
    CHECK(parse_multipart_form_data("1234", "--1234--").fields.empty());
}

TEST_CASE("multipart: linear time on pathological input", "[web][multipart]") {
    using std::chrono::steady_clock;
    auto start = steady_clock::now();
    // Tornado's CVE-2025-67726 regression: many semicolons inside a quoted parameter.
    std::string semicolons = "--1234\r\nContent-Disposition: form-data; x=\"" +
                             std::string(9000, ';') +
                             "\"; name=\"files\"; filename=\"a.txt\"\r\n\r\nFoo\r\n--1234--\r\n";
    CHECK(parse_multipart_form_data("1234", semicolons).files.size() == 1);
    // Near-delimiters everywhere: "\r\n--1234" followed by a non-delimiter character.
    std::string near_misses = "--1234\r\nContent-Disposition: form-data; name=a\r\n\r\n";
    for (int i = 0; i < 200000; ++i) {
        near_misses += "\r\n--1234x";
    }
    near_misses += "\r\n--1234--";
    CHECK(parse_multipart_form_data("1234", near_misses).fields.last("a")->size() == 200000 * 9);
    // A long boundary and lines that almost match it.
    std::string boundary = std::string(69, '-') + "x";
    std::string near_line = "\r\n" + std::string(71, '-');
    std::string dashes = "--" + boundary + "\r\nContent-Disposition: form-data; name=a\r\n\r\n";
    for (int i = 0; i < 30000; ++i) {
        dashes += near_line;
    }
    dashes += "\r\n--" + boundary + "--";
    CHECK(parse_multipart_form_data(boundary, dashes).fields.last("a")->size() ==
          30000 * near_line.size());
    // No final delimiter after a huge body.
    std::string unterminated = "--1234\r\n" + std::string(4000000, 'a');
    CHECK_THROWS_AS(parse_multipart_form_data("1234", unterminated), MultipartError);
    // Many empty parameters.
    std::string parameters = "--1234\r\nContent-Disposition: form-data; name=a" +
                             std::string(9000, ';') + "\r\n\r\nv\r\n--1234--";
    CHECK(parse_multipart_form_data("1234", parameters).fields.last("a") == "v");
    CHECK(steady_clock::now() - start < std::chrono::seconds(10));
}

TEST_CASE("multipart_boundary reads the Content-Type", "[web][multipart]") {
    CHECK(multipart_boundary("multipart/form-data; boundary=1234") == "1234");
    CHECK(multipart_boundary("multipart/form-data; boundary=\"12 34\"") == "12 34");
    CHECK(multipart_boundary("multipart/form-data;boundary=\"a\\bc\"") == "abc");
    CHECK(multipart_boundary("Multipart/Form-Data; charset=utf-8; BOUNDARY=----WebKitFormBoundary"
                             "7MA4YWxkTrZu0gW") == "----WebKitFormBoundary7MA4YWxkTrZu0gW");
    CHECK(multipart_boundary("multipart/form-data; boundary=" + std::string(70, 'a')).size() == 70);

    auto rejects = [](const std::string& content_type, const std::string& reason) {
        INFO(content_type);
        CHECK_THROWS_AS(multipart_boundary(content_type), MultipartError);
        CHECK_THROWS_WITH(multipart_boundary(content_type), Catch::Contains(reason));
    };
    rejects("multipart/form-data", "has no boundary");
    rejects("multipart/form-data; charset=utf-8", "has no boundary");
    rejects("multipart/form-data; boundary=\"\"", "boundary length 0");
    rejects("multipart/form-data; boundary=" + std::string(71, 'a'), "boundary length 71");
    rejects("multipart/form-data; boundary=\"a\"b\"", "expected ';'");
    rejects("multipart/form-data; boundary=a\x01", "control character");
    rejects("multipart/form-data; boundary=\"a;b\"", "RFC 2046 forbids");
    rejects("multipart/form-data; boundary=\"ab \"", "RFC 2046 forbids");
    rejects("multipart/form-data; boundary=a; boundary=b", "is repeated");
}

TEST_CASE("parse_form_body dispatches on the content type", "[web][multipart]") {
    FormData urlencoded =
        parse_form_body("application/x-www-form-urlencoded; charset=UTF-8", "a=1&b=%C3%A9&a=2");
    CHECK(urlencoded.fields.all("a") == std::vector<std::string>{"1", "2"});
    CHECK(urlencoded.fields.last("b") == "\xc3\xa9");

    std::string body = file_part("form-data; name=\"f\"; filename=\"x.txt\"");
    FormData multipart = parse_form_body("multipart/form-data; boundary=1234", body);
    CHECK(multipart.files.size() == 1);

    CHECK(parse_form_body("application/json", "{\"a\": 1}").fields.empty());
    CHECK(parse_form_body("", "a=1").fields.empty());
    CHECK_THROWS_AS(parse_form_body("multipart/form-data", body), MultipartError);
    CHECK_THROWS_AS(parse_form_body("application/x-www-form-urlencoded", std::string(2000, '&')),
                    QueryStringError);
    CHECK_THROWS_AS(parse_form_body("multipart/form-data; boundary=1234", "garbage"), InputError);
}
