#pragma once
/// The error for malformed or oversized input from outside (a URL, a query string, a form body).

#include <gale/ioloop/errors.hpp>

namespace gale::web {

/// Input from a peer is malformed or exceeds a limit. The message names the limit or the bad
/// value (quoted and truncated). A web server answers it with 400 Bad Request.
class InputError : public Error {
  public:
    using Error::Error;
};

}  // namespace gale::web
