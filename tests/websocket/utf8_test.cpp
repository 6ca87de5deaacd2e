// UTF-8 validation: Markus Kuhn's UTF-8 decoder stress test (the cases Autobahn|Testsuite's
// section 6 is built from), whole, split at every byte boundary, and fed a byte at a time.

#include <gale/websocket/utf8.hpp>

#include <catch2/catch.hpp>

#include "websocket/test_frames.hpp"

#include <string>
#include <vector>

using gale::websocket::is_valid_utf8;
using gale::websocket::Utf8Validator;
using gale::websocket::test::bytes;

namespace {

struct Sample {
    const char* name;
    std::string bytes;
    bool valid;
    // For invalid samples: index of the first byte that makes the text invalid, or -1 when
    // the text is only incomplete at its end.
    long first_invalid = -1;
};

std::vector<Sample> kuhn_samples() {
    return {
        // 1: some correct UTF-8 text
        {"1 kosme", bytes({0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5}),
         true},
        // 2.1: first possible sequence of each length
        {"2.1.1 U+0000", bytes({0x00}), true},
        {"2.1.2 U+0080", bytes({0xC2, 0x80}), true},
        {"2.1.3 U+0800", bytes({0xE0, 0xA0, 0x80}), true},
        {"2.1.4 U+10000", bytes({0xF0, 0x90, 0x80, 0x80}), true},
        {"2.1.5 five bytes", bytes({0xF8, 0x88, 0x80, 0x80, 0x80}), false, 0},
        {"2.1.6 six bytes", bytes({0xFC, 0x84, 0x80, 0x80, 0x80, 0x80}), false, 0},
        // 2.2: last possible sequence of each length
        {"2.2.1 U+007F", bytes({0x7F}), true},
        {"2.2.2 U+07FF", bytes({0xDF, 0xBF}), true},
        {"2.2.3 U+FFFF", bytes({0xEF, 0xBF, 0xBF}), true},
        {"2.2.4 U+1FFFFF", bytes({0xF7, 0xBF, 0xBF, 0xBF}), false, 0},
        {"2.2.5 U+3FFFFFF", bytes({0xFB, 0xBF, 0xBF, 0xBF, 0xBF}), false, 0},
        {"2.2.6 U+7FFFFFFF", bytes({0xFD, 0xBF, 0xBF, 0xBF, 0xBF, 0xBF}), false, 0},
        // 2.3: other boundary conditions
        {"2.3.1 U+D7FF", bytes({0xED, 0x9F, 0xBF}), true},
        {"2.3.2 U+E000", bytes({0xEE, 0x80, 0x80}), true},
        {"2.3.3 U+FFFD", bytes({0xEF, 0xBF, 0xBD}), true},
        {"2.3.4 U+10FFFF", bytes({0xF4, 0x8F, 0xBF, 0xBF}), true},
        {"2.3.5 U+110000", bytes({0xF4, 0x90, 0x80, 0x80}), false, 1},
        // 3.1: unexpected continuation bytes
        {"3.1.1 first continuation", bytes({0x80}), false, 0},
        {"3.1.2 last continuation", bytes({0xBF}), false, 0},
        {"3.1.3 two", bytes({0x80, 0xBF}), false, 0},
        {"3.1.4 three", bytes({0x80, 0xBF, 0x80}), false, 0},
        {"3.1.5 four", bytes({0x80, 0xBF, 0x80, 0xBF}), false, 0},
        {"3.1.8 seven", bytes({0x80, 0xBF, 0x80, 0xBF, 0x80, 0xBF, 0x80}), false, 0},
        {"3.1 after ASCII", std::string("abc") + bytes({0x80}), false, 3},
        // 3.2: lonely start characters, each followed by a space
        {"3.2.1 lonely C0", bytes({0xC0, 0x20}), false, 0},
        {"3.2.1 lonely C2", bytes({0xC2, 0x20}), false, 1},
        {"3.2.1 lonely DF", bytes({0xDF, 0x20}), false, 1},
        {"3.2.2 lonely E0", bytes({0xE0, 0x20}), false, 1},
        {"3.2.2 lonely EF", bytes({0xEF, 0x20}), false, 1},
        {"3.2.3 lonely F0", bytes({0xF0, 0x20}), false, 1},
        {"3.2.3 lonely F4", bytes({0xF4, 0x20}), false, 1},
        {"3.2.4 lonely F8", bytes({0xF8, 0x20}), false, 0},
        {"3.2.5 lonely FC", bytes({0xFC, 0x20}), false, 0},
        // 3.3: sequences with the last continuation byte missing (incomplete at the end)
        {"3.3.1 C0", bytes({0xC0}), false, 0},
        {"3.3.2 E0 80", bytes({0xE0, 0x80}), false, 1},
        {"3.3.3 F0 80 80", bytes({0xF0, 0x80, 0x80}), false, 1},
        {"3.3.6 DF", bytes({0xDF}), false, -1},
        {"3.3.7 EF BF", bytes({0xEF, 0xBF}), false, -1},
        {"3.3.8 F4 8F BF", bytes({0xF4, 0x8F, 0xBF}), false, -1},
        {"3.3.x E1 80", bytes({0xE1, 0x80}), false, -1},
        {"3.3.x F1 80 80", bytes({0xF1, 0x80, 0x80}), false, -1},
        // 3.4: concatenation of incomplete sequences
        {"3.4 concatenation", bytes({0xDF, 0xEF, 0xBF, 0xF4, 0x8F, 0xBF}), false, 1},
        // 3.5: impossible bytes
        {"3.5.1 FE", bytes({0xFE}), false, 0},
        {"3.5.2 FF", bytes({0xFF}), false, 0},
        {"3.5.3 FE FE FF FF", bytes({0xFE, 0xFE, 0xFF, 0xFF}), false, 0},
        // 4.1: overlong ASCII '/'
        {"4.1.1 C0 AF", bytes({0xC0, 0xAF}), false, 0},
        {"4.1.2 E0 80 AF", bytes({0xE0, 0x80, 0xAF}), false, 1},
        {"4.1.3 F0 80 80 AF", bytes({0xF0, 0x80, 0x80, 0xAF}), false, 1},
        {"4.1.4 F8 80 80 80 AF", bytes({0xF8, 0x80, 0x80, 0x80, 0xAF}), false, 0},
        // 4.2: maximum overlong sequences
        {"4.2.1 C1 BF", bytes({0xC1, 0xBF}), false, 0},
        {"4.2.2 E0 9F BF", bytes({0xE0, 0x9F, 0xBF}), false, 1},
        {"4.2.3 F0 8F BF BF", bytes({0xF0, 0x8F, 0xBF, 0xBF}), false, 1},
        // 4.3: overlong NUL
        {"4.3.1 C0 80", bytes({0xC0, 0x80}), false, 0},
        {"4.3.2 E0 80 80", bytes({0xE0, 0x80, 0x80}), false, 1},
        {"4.3.3 F0 80 80 80", bytes({0xF0, 0x80, 0x80, 0x80}), false, 1},
        // 5.1: single UTF-16 surrogates
        {"5.1.1 U+D800", bytes({0xED, 0xA0, 0x80}), false, 1},
        {"5.1.2 U+DB7F", bytes({0xED, 0xAD, 0xBF}), false, 1},
        {"5.1.3 U+DB80", bytes({0xED, 0xAE, 0x80}), false, 1},
        {"5.1.4 U+DBFF", bytes({0xED, 0xAF, 0xBF}), false, 1},
        {"5.1.5 U+DC00", bytes({0xED, 0xB0, 0x80}), false, 1},
        {"5.1.6 U+DF80", bytes({0xED, 0xBE, 0x80}), false, 1},
        {"5.1.7 U+DFFF", bytes({0xED, 0xBF, 0xBF}), false, 1},
        // 5.2: paired UTF-16 surrogates
        {"5.2.1 U+D800 U+DC00", bytes({0xED, 0xA0, 0x80, 0xED, 0xB0, 0x80}), false, 1},
        {"5.2.8 U+DBFF U+DFFF", bytes({0xED, 0xAF, 0xBF, 0xED, 0xBF, 0xBF}), false, 1},
        // 5.3: noncharacters are valid UTF-8
        {"5.3.1 U+FFFE", bytes({0xEF, 0xBF, 0xBE}), true},
        {"5.3.2 U+FFFF", bytes({0xEF, 0xBF, 0xBF}), true},
        {"5.3.x U+FDD0", bytes({0xEF, 0xB7, 0x90}), true},
        {"5.3.x U+10FFFE", bytes({0xF4, 0x8F, 0xBF, 0xBE}), true},
        // Autobahn 6.3-6.4: valid text followed by an invalid sequence
        {"6.3.1 kosme + surrogate + edited",
         bytes({0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE,
                0xB5, 0xED, 0xA0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64}),
         false, 12},
        {"6.4.1 kosme + U+110000",
         bytes({0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5,
                0xF4, 0x90, 0x80, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64}),
         false, 12},
        // Long runs exercise the eight-at-a-time ASCII path on both sides of a bad byte.
        {"ASCII run then bad byte", std::string(37, 'a') + bytes({0xFF}) + std::string(20, 'b'),
         false, 37},
        {"ASCII run then three-byte",
         std::string(29, 'x') + bytes({0xE2, 0x82, 0xAC}) + std::string(16, 'y'), true},
    };
}

// Feeds `pieces`; returns the index of the feed that failed (-1 when none did) and whether
// the validator ends complete.
std::pair<long, bool> feed_pieces(const std::vector<std::string>& pieces) {
    Utf8Validator validator;
    for (std::size_t index = 0; index < pieces.size(); ++index) {
        if (!validator.feed(pieces[index])) {
            return {static_cast<long>(index), false};
        }
    }
    return {-1, validator.complete()};
}

}  // namespace

TEST_CASE("Kuhn stress test samples, whole", "[utf8]") {
    for (const Sample& sample : kuhn_samples()) {
        INFO(sample.name);
        CHECK(is_valid_utf8(sample.bytes) == sample.valid);
        Utf8Validator validator;
        const bool fed = validator.feed(sample.bytes);
        if (sample.valid) {
            CHECK(fed);
            CHECK(validator.complete());
        } else if (sample.first_invalid < 0) {
            CHECK(fed);  // nothing invalid yet: the text is merely unfinished
            CHECK_FALSE(validator.complete());
        } else {
            CHECK_FALSE(fed);
            CHECK(validator.failed());
            CHECK(validator.valid_prefix_size() == static_cast<std::size_t>(sample.first_invalid));
        }
    }
}

TEST_CASE("Kuhn samples split at every byte boundary fail at the invalid byte", "[utf8]") {
    for (const Sample& sample : kuhn_samples()) {
        const std::string padded = "ab" + sample.bytes + (sample.first_invalid < 0 ? "" : "cd");
        const long bad_index = sample.first_invalid < 0 ? -1 : sample.first_invalid + 2;
        for (std::size_t split = 0; split <= padded.size(); ++split) {
            INFO(sample.name << " split at " << split);
            const auto [failed_piece, complete] =
                feed_pieces({padded.substr(0, split), padded.substr(split)});
            if (sample.valid) {
                CHECK(failed_piece == -1);
                CHECK(complete);
            } else if (bad_index < 0) {
                CHECK(failed_piece == -1);
                CHECK_FALSE(complete);
            } else {
                // The first piece fails exactly when it holds the bad byte: fail fast.
                CHECK(failed_piece == (static_cast<long>(split) > bad_index ? 0 : 1));
            }
        }
    }
}

TEST_CASE("Kuhn samples fed one byte at a time", "[utf8]") {
    for (const Sample& sample : kuhn_samples()) {
        INFO(sample.name);
        std::vector<std::string> pieces;
        for (char byte : sample.bytes) {
            pieces.emplace_back(1, byte);
        }
        const auto [failed_piece, complete] = feed_pieces(pieces);
        if (sample.valid) {
            CHECK(failed_piece == -1);
            CHECK(complete);
        } else {
            CHECK(failed_piece == sample.first_invalid);
            CHECK_FALSE(complete);
        }
    }
}

TEST_CASE("every code point encodes to valid UTF-8 and every surrogate does not", "[utf8]") {
    auto encode = [](std::uint32_t code_point) {
        std::string out;
        if (code_point < 0x80) {
            out.push_back(static_cast<char>(code_point));
        } else if (code_point < 0x800) {
            out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
            out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
        } else if (code_point < 0x10000) {
            out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
            out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
        } else {
            out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
            out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
        }
        return out;
    };
    std::size_t wrong = 0;
    for (std::uint32_t code_point = 0; code_point <= 0x10FFFF; ++code_point) {
        const bool surrogate = code_point >= 0xD800 && code_point <= 0xDFFF;
        if (is_valid_utf8(encode(code_point)) == surrogate) {
            ++wrong;
        }
    }
    CHECK(wrong == 0);
    CHECK_FALSE(is_valid_utf8(encode(0x110000)));
    CHECK_FALSE(is_valid_utf8(encode(0x1FFFFF)));
}

TEST_CASE("a failed validator stays failed until reset", "[utf8]") {
    Utf8Validator validator;
    CHECK_FALSE(validator.feed("\xff"));
    CHECK_FALSE(validator.feed("abc"));
    CHECK(validator.failed());
    CHECK_FALSE(validator.complete());
    validator.reset();
    CHECK(validator.feed("abc"));
    CHECK(validator.complete());
    CHECK(validator.valid_prefix_size() == 3);
}

TEST_CASE("empty input is valid", "[utf8]") {
    CHECK(is_valid_utf8(""));
    Utf8Validator validator;
    CHECK(validator.feed(""));
    CHECK(validator.complete());
}
