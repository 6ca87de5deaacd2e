#pragma once
// Finding links in HTML: the href of every <a> and <area>, and the document's <base href>.
// A forgiving scanner, not a parser: linear time, never throws, skips comments and the
// contents of <script> and <style>, decodes character references in attribute values.

#include <string>
#include <string_view>
#include <vector>

namespace crawler {

struct PageLinks {
    /// As written in the page (character references decoded), in document order.
    std::vector<std::string> hrefs;
    /// The first <base href>, if any.
    std::string base;
};

PageLinks extract_links(std::string_view html);

/// Decodes &amp; &lt; &gt; &quot; &apos; &#39; &#NN; &#xHH; (others are kept as written).
std::string decode_character_references(std::string_view text);

}  // namespace crawler
