#pragma once
// Checking a request, deciding where it goes, and writing its head.

#include "httpclient/client_state.hpp"

#include <string>

namespace gale::httpclient::detail {

/// Throws `InvalidRequestError` for an invalid method, header, body combination or auth mode.
void validate_request(const HTTPRequest& request);

/// Parses and checks `url` (http or https with a host) and fills in the proxy and pool key.
/// Throws `InvalidRequestError` (`HTTPProtocolError` with `from_redirect`).
Target make_target(ClientState& state, const HTTPRequest& request, web::Url url,
                   std::string url_text);
Target make_target(ClientState& state, const HTTPRequest& request, const std::string& url_text);

/// True when a redirect from `from` to `to` changes the origin (scheme, host or port).
bool is_cross_origin(const Target& from, const Target& to) noexcept;

/// The request line and header fields of the current hop, ending with the empty line.
std::string build_request_head(const FetchContext& context, bool has_body, bool expect_continue);

}  // namespace gale::httpclient::detail
