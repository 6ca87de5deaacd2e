// Sec-WebSocket-Extensions parsing and permessage-deflate negotiation: Autobahn's offers
// (cases 12 and 13), declined offers, client-side response checks, and both sides agreeing.

#include <gale/websocket/errors.hpp>
#include <gale/websocket/extensions.hpp>

#include <catch2/catch.hpp>

using namespace gale::websocket;

TEST_CASE("parse_extensions: names, parameters, quoting, lists", "[extensions]") {
    const auto extensions = parse_extensions(
        "permessage-deflate; client_max_window_bits; server_max_window_bits=\"10\" , "
        "x-webkit-deflate-frame,,  foo ;bar= baz");
    REQUIRE(extensions.size() == 3);
    CHECK(extensions[0].name == "permessage-deflate");
    REQUIRE(extensions[0].parameters.size() == 2);
    CHECK(extensions[0].parameters[0].name == "client_max_window_bits");
    CHECK_FALSE(extensions[0].parameters[0].value);
    CHECK(extensions[0].parameters[1].name == "server_max_window_bits");
    CHECK(extensions[0].parameters[1].value == "10");
    CHECK(extensions[1].name == "x-webkit-deflate-frame");
    CHECK(extensions[1].parameters.empty());
    CHECK(extensions[2].name == "foo");
    REQUIRE(extensions[2].parameters.size() == 1);
    CHECK(extensions[2].parameters[0].value == "baz");
    CHECK(parse_extensions("").empty());
    CHECK(parse_extensions(" , ,").empty());
    CHECK(parse_extensions("a; b=\"c\\d\"")[0].parameters[0].value == "cd");
}

TEST_CASE("parse_extensions rejects bad syntax", "[extensions]") {
    for (const char* header :
         {"permessage-deflate;", "permessage-deflate;;x", "; x", "=x", "a; b=", "a; b=\"10",
          "a; b=\"1 0\"", "a; b=\"\"", "a b", "a; b=c d", "a; b=(c)", "\"quoted\"", "a;\"b\""}) {
        INFO(header);
        CHECK_THROWS_AS(parse_extensions(header), WebSocketError);
    }
    CHECK_THROWS_WITH(parse_extensions("a; b=\"10"), Catch::Contains("unterminated"));
}

TEST_CASE("Autobahn 12/13 offers get the expected responses", "[extensions]") {
    struct Case {
        const char* offer;
        const char* response;
        DeflateParameters agreed;
    };
    const Case cases[] = {
        // 12.*, 13.1: the default offer
        {"permessage-deflate; client_no_context_takeover; client_max_window_bits",
         "permessage-deflate; client_no_context_takeover",
         {false, true, 15, 15}},
        // 13.2: server_no_context_takeover requested
        {"permessage-deflate; client_no_context_takeover; client_max_window_bits; "
         "server_no_context_takeover",
         "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
         {true, true, 15, 15}},
        // 13.3: server_max_window_bits=8
        {"permessage-deflate; client_no_context_takeover; client_max_window_bits; "
         "server_max_window_bits=8",
         "permessage-deflate; client_no_context_takeover; server_max_window_bits=8",
         {false, true, 8, 15}},
        // 13.4: server_max_window_bits=15
        {"permessage-deflate; client_no_context_takeover; client_max_window_bits; "
         "server_max_window_bits=15",
         "permessage-deflate; client_no_context_takeover; server_max_window_bits=15",
         {false, true, 15, 15}},
        // 13.5: both
        {"permessage-deflate; client_no_context_takeover; client_max_window_bits; "
         "server_no_context_takeover; server_max_window_bits=8",
         "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
         "server_max_window_bits=8",
         {true, true, 8, 15}},
        // 13.7: several offers, the first acceptable wins
        {"permessage-deflate; client_no_context_takeover; client_max_window_bits; "
         "server_no_context_takeover; server_max_window_bits=8, permessage-deflate; "
         "client_no_context_takeover; client_max_window_bits; server_no_context_takeover, "
         "permessage-deflate; client_no_context_takeover; client_max_window_bits",
         "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
         "server_max_window_bits=8",
         {true, true, 8, 15}},
        // A browser's offer.
        {"permessage-deflate; client_max_window_bits",
         "permessage-deflate",
         {false, false, 15, 15}},
        {"permessage-deflate", "permessage-deflate", {false, false, 15, 15}},
        {"permessage-deflate; client_max_window_bits=10",
         "permessage-deflate; client_max_window_bits=10",
         {false, false, 15, 10}},
    };
    for (const Case& test : cases) {
        INFO(test.offer);
        const auto agreement = negotiate_deflate(test.offer);
        REQUIRE(agreement);
        CHECK(agreement->response == test.response);
        CHECK(agreement->parameters == test.agreed);
    }
}

TEST_CASE("invalid offers are declined and the next one is tried", "[extensions]") {
    const char* invalid_offers[] = {
        "permessage-deflate; unknown_parameter",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover=\"x\"",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=08",
        "permessage-deflate; server_max_window_bits=+9",
        "permessage-deflate; server_max_window_bits=nine",
        "permessage-deflate; client_max_window_bits=0",
        "permessage-deflate; client_max_window_bits=100",
    };
    for (const char* offer : invalid_offers) {
        INFO(offer);
        CHECK_FALSE(negotiate_deflate(offer));
        const auto fallback = negotiate_deflate(std::string(offer) + ", permessage-deflate");
        REQUIRE(fallback);
        CHECK(fallback->response == "permessage-deflate");
    }
    // Quoted values are fine when they are tokens.
    const auto quoted = negotiate_deflate("permessage-deflate; server_max_window_bits=\"12\"");
    REQUIRE(quoted);
    CHECK(quoted->parameters.server_max_window_bits == 12);
    // Other extensions are ignored.
    CHECK_FALSE(negotiate_deflate("x-webkit-deflate-frame"));
    CHECK(negotiate_deflate("x-webkit-deflate-frame, permessage-deflate"));
    CHECK_FALSE(negotiate_deflate(""));
}

TEST_CASE("the server's options shape the agreement", "[extensions]") {
    DeflateOptions options;
    options.server_no_context_takeover = true;
    options.client_no_context_takeover = true;
    options.server_max_window_bits = 10;
    options.client_max_window_bits = 12;
    // The client allows limiting its window: every limit applies.
    auto agreement = negotiate_deflate("permessage-deflate; client_max_window_bits", options);
    REQUIRE(agreement);
    CHECK(agreement->response ==
          "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
          "server_max_window_bits=10; client_max_window_bits=12");
    CHECK(agreement->parameters == DeflateParameters{true, true, 10, 12});
    // The smaller of the client's and the server's windows.
    agreement = negotiate_deflate(
        "permessage-deflate; server_max_window_bits=9; client_max_window_bits=11", options);
    REQUIRE(agreement);
    CHECK(agreement->parameters == DeflateParameters{true, true, 9, 11});
    // Without client_max_window_bits the client cannot be limited: declined.
    CHECK_FALSE(negotiate_deflate("permessage-deflate", options));
    CHECK(negotiate_deflate("permessage-deflate, permessage-deflate; client_max_window_bits",
                            options));
}

TEST_CASE("negotiate_deflate: syntax errors are 400, bad options throw", "[extensions]") {
    try {
        negotiate_deflate("permessage-deflate; =");
        FAIL("no exception");
    } catch (const InvalidUpgradeRequest& error) {
        CHECK(error.status() == 400);
        CHECK_THAT(error.what(), Catch::Contains("Sec-WebSocket-Extensions"));
    }
    DeflateOptions options;
    options.server_max_window_bits = 16;
    CHECK_THROWS_WITH(negotiate_deflate("permessage-deflate", options),
                      Catch::Contains("server_max_window_bits 16"));
    options.server_max_window_bits = 15;
    options.client_max_window_bits = 7;
    CHECK_THROWS_AS(deflate_offer(options), WebSocketError);
}

TEST_CASE("deflate_offer writes what the options ask", "[extensions]") {
    CHECK(deflate_offer() == "permessage-deflate; client_max_window_bits");
    DeflateOptions options;
    options.server_no_context_takeover = true;
    options.client_no_context_takeover = true;
    options.server_max_window_bits = 9;
    options.client_max_window_bits = 10;
    CHECK(deflate_offer(options) ==
          "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
          "server_max_window_bits=9; client_max_window_bits=10");
}

TEST_CASE("accept_deflate_response checks the server's answer", "[extensions]") {
    auto response = [](const char* header) { return parse_extensions(header).at(0); };
    CHECK(accept_deflate_response(response("permessage-deflate")) == DeflateParameters{});
    CHECK(
        accept_deflate_response(response("permessage-deflate; server_no_context_takeover; "
                                         "client_no_context_takeover; "
                                         "server_max_window_bits=10; client_max_window_bits=9")) ==
        DeflateParameters{true, true, 10, 9});
    for (const char* invalid :
         {"permessage-deflate; x=1", "permessage-deflate; client_max_window_bits",
          "permessage-deflate; server_max_window_bits=5",
          "permessage-deflate; server_no_context_takeover; "
          "server_no_context_takeover",
          "permessage-deflate; client_no_context_takeover=yes", "x-other-extension"}) {
        INFO(invalid);
        CHECK_THROWS_AS(accept_deflate_response(response(invalid)), InvalidUpgradeResponse);
    }
    DeflateOptions options;
    options.server_max_window_bits = 10;
    CHECK_THROWS_WITH(
        accept_deflate_response(response("permessage-deflate; server_max_window_bits=11"), options),
        Catch::Contains("11") && Catch::Contains("10"));
    // A server that ignores our request for its window is taken at its word: we inflate with
    // the full window.
    CHECK(accept_deflate_response(response("permessage-deflate"), options).server_max_window_bits ==
          15);
    // Our own announcements hold even when the response is silent about them.
    options.client_no_context_takeover = true;
    options.client_max_window_bits = 11;
    const DeflateParameters agreed =
        accept_deflate_response(response("permessage-deflate; client_max_window_bits=13"), options);
    CHECK(agreed.client_no_context_takeover);
    CHECK(agreed.client_max_window_bits == 11);
}

TEST_CASE("client and server agree on the same parameters", "[extensions]") {
    std::vector<DeflateOptions> variants;
    for (int flags = 0; flags < 4; ++flags) {
        for (int server_bits : {8, 12, 15}) {
            for (int client_bits : {9, 15}) {
                DeflateOptions options;
                options.server_no_context_takeover = (flags & 1) != 0;
                options.client_no_context_takeover = (flags & 2) != 0;
                options.server_max_window_bits = server_bits;
                options.client_max_window_bits = client_bits;
                variants.push_back(options);
            }
        }
    }
    for (const DeflateOptions& client : variants) {
        for (const DeflateOptions& server : variants) {
            const auto agreement = negotiate_deflate(deflate_offer(client), server);
            REQUIRE(agreement);
            const DeflateParameters client_view =
                accept_deflate_response(parse_extensions(agreement->response).at(0), client);
            CHECK(client_view == agreement->parameters);
            CHECK(agreement->parameters.server_max_window_bits <=
                  std::min(client.server_max_window_bits, server.server_max_window_bits));
            CHECK(agreement->parameters.client_max_window_bits <=
                  std::min(client.client_max_window_bits, server.client_max_window_bits));
        }
    }
}

TEST_CASE("make_compressor and make_decompressor pick each side's parameters", "[extensions]") {
    const DeflateParameters agreed{true, false, 9, 12};
    CHECK(make_compressor(Role::server, agreed).settings().window_bits == 9);
    CHECK_FALSE(make_compressor(Role::server, agreed).settings().context_takeover);
    CHECK(make_compressor(Role::client, agreed).settings().window_bits == 12);
    CHECK(make_compressor(Role::client, agreed).settings().context_takeover);
    DeflateOptions options;
    options.compression_level = 3;
    options.memory_level = 5;
    CHECK(make_compressor(Role::client, agreed, options).settings().level == 3);
    CHECK(make_compressor(Role::client, agreed, options).settings().memory_level == 5);
    // What the server sends, the client decompresses, and vice versa.
    MessageCompressor server_side = make_compressor(Role::server, agreed);
    MessageDecompressor client_side = make_decompressor(Role::client, agreed);
    std::string out;
    CHECK_FALSE(client_side.decompress(server_side.compress("ping pong"), out, 100));
    CHECK_FALSE(client_side.finish_message(out, 100));
    CHECK(out == "ping pong");
}
