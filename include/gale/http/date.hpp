#pragma once
/// HTTP dates (RFC 9110 §5.6.7): IMF-fixdate output, all three formats parsed.

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace gale::http {

/// "Sun, 06 Nov 1994 08:49:37 GMT".
std::string format_http_date(std::time_t time);

/// The current time as an IMF-fixdate, formatted at most once a second per thread (servers
/// put it in every response). The view stays valid until the next call on this thread.
std::string_view http_date_now();

/// Parses IMF-fixdate, the obsolete RFC 850 form and asctime(); nullopt if none matches.
std::optional<std::time_t> parse_http_date(std::string_view text);

}  // namespace gale::http
