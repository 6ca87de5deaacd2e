#pragma once
// The JSON text RequestHandler::write(json) sends. Private to src/web.

#include <nlohmann/json_fwd.hpp>

#include <string>

namespace gale::web::detail {

/// Appends exactly what `value.dump(-1, ' ', false, error_handler_t::replace)` returns
/// (compact, UTF-8 kept, invalid UTF-8 replaced by U+FFFD: a handler echoing request bytes
/// must not fail), without the intermediate string, and with strings of plain ASCII copied
/// whole instead of through nlohmann's per-byte UTF-8 decoder, which is most of the cost of a
/// small response. Anything unusual (escapes, non-ASCII, floats, binary) is still written by
/// nlohmann, so the two never disagree.
void append_json(std::string& out, const nlohmann::json& value);

}  // namespace gale::web::detail
