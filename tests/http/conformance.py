#!/usr/bin/python3
"""Raw-socket HTTP/1.1 conformance battery for the testbed demo (RFC 9110, RFC 9112).

What: a few hundred black-box cases, each a few bytes written to a TCP socket and the reply
read back and parsed byte for byte: request-line and field syntax, Host, Content-Length and
Transfer-Encoding framing, chunked bodies, request smuggling vectors, Expect, HEAD,
keep-alive and pipelining, size limits, timeouts, static files (validators, ranges,
traversal), gzip. Every response is also held to the framing rules of RFC 9112 §6 and RFC
9110 §6.6.1/§8.6 (a well-formed status line and fields, exactly one of Content-Length,
chunked or close-delimited, no body where none may be, a valid Date).

Why: clients and intermediaries rely on a server parsing exactly what the RFCs allow and
refusing the rest; where two parsers disagree, requests get smuggled. The unit tests drive
the parser through its API; this drives the real program over real sockets, on either I/O
backend, the way an external conformance suite does.

Two testbed instances run: one with the default limits and one with small ones (for the
limit and timeout cases, which run concurrently with the rest so the battery stays short).
Cases where testbed disagrees with an RFC today are listed in EXPECTED_FAILURES: they run,
print XFAIL with what was seen, and do not fail the battery; once fixed they print XPASS and
should be dropped from the list.

Usage: conformance.py --testbed PATH [--backend io_uring|epoll] [--only TEXT] [--jobs N]
Exit status: 0 when every case passes (or fails as expected) and both servers survive the
battery and shut down cleanly.
"""

import argparse
import base64
import concurrent.futures
import datetime
import gzip
import hashlib
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HOST = "127.0.0.1"
TIMEOUT = 5.0  # seconds any single socket operation may take
LINGER = 1.0  # how long to watch a connection to tell whether the server closes it

A_TXT = b"The quick brown fox jumps over the lazy dog\n"  # 44 bytes
BIG_SIZE = 3 * 1024 * 1024 + 123
MTIME = 1704164645  # the static files' mtime: Tue, 02 Jan 2024 03:04:05 GMT
MTIME_HTTP = b"Tue, 02 Jan 2024 03:04:05 GMT"
SECRET = b"secret outside the static root\n"

SERVERS = {}  # "main" and "small": the two testbed instances, once started
BIG_DATA = [b""]  # the content of static/big.bin, once created

# The second instance: every limit small, so that reaching it is cheap and quick.
SMALL_OPTIONS = ["--header-timeout", "2", "--body-timeout", "2", "--idle-timeout", "3",
                 "--max-body", "1000", "--max-header", "2048"]

# Cases on which testbed disagrees with an RFC today: name -> the requirement it misses.
# They still run; a failure prints XFAIL and does not fail the battery, a pass prints XPASS.
# Empty: the nineteen the battery found when it was written, and the three of the / route,
# are fixed.
EXPECTED_FAILURES = {}


# --- failures and checks --------------------------------------------------------------------------

class Failure(Exception):
    """A case's expectation did not hold."""


def check(condition, message):
    if not condition:
        raise Failure(message)


# --- requests -------------------------------------------------------------------------------------

def req(line, *fields, body=b"", host=b"testbed"):
    """A request: `line` is the request line, `fields` whole field lines, Host first."""
    head = [line] + ([b"Host: " + host] if host is not None else []) + list(fields)
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def get(target, *fields, **options):
    return req(b"GET " + target + b" HTTP/1.1", *fields, **options)


def post(target, body, *fields, content_type=b"text/plain"):
    return req(b"POST " + target + b" HTTP/1.1", b"Content-Type: " + content_type,
               b"Content-Length: %d" % len(body), *fields, body=body)


def chunked(*pieces, trailer=b""):
    """A chunked body of `pieces`, then the last chunk, `trailer` and the final CRLF."""
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n" + trailer + b"\r\n"


def post_chunked(body, *fields, target=b"/echo"):
    return req(b"POST " + target + b" HTTP/1.1", b"Transfer-Encoding: chunked", *fields,
               body=body)


def bytes_body(count):
    """What GET /bytes/{count} sends: 64 KiB of 'a'..'z' repeated, from its start each time."""
    pattern = bytes(ord("a") + i % 26 for i in range(64 * 1024))
    return b"".join(pattern[:min(len(pattern), count - sent)]
                    for sent in range(0, count, len(pattern)))


# --- responses ------------------------------------------------------------------------------------

TCHAR = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]"
STATUS_LINE = re.compile(rb"HTTP/1\.1 ([1-5][0-9][0-9]) ([\t\x20-\x7e\x80-\xff]*)")
FIELD_LINE = re.compile(rb"(" + TCHAR + rb"+):[ \t]*(.*?)[ \t]*")
BAD_VALUE_OCTET = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # CTLs but HTAB (RFC 9110 §5.5)
CHUNK_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]+)((?:[ \t]*;.*)?)")
IMF_FIXDATE = re.compile(rb"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
                         rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
                         rb"[0-9]{2}:[0-9]{2}:[0-9]{2} GMT")
MAX_HEAD = 256 * 1024
SINGLETON_FIELDS = ("Content-Length", "Content-Type", "Content-Encoding", "Content-Range",
                    "Date", "ETag", "Last-Modified", "Location")
# Fields a status MUST come with (RFC 9110).
REQUIRED_FIELDS = ((101, "Upgrade", "RFC 9110 §7.8"),
                   (401, "WWW-Authenticate", "RFC 9110 §11.6.1"),
                   (405, "Allow", "RFC 9110 §15.5.6"),
                   (407, "Proxy-Authenticate", "RFC 9110 §11.7.1"),
                   (426, "Upgrade", "RFC 9110 §15.5.22"))


class Response:
    """One parsed response: status, fields in order, the decoded body and how it was framed."""

    def __init__(self, status, reason, fields):
        self.status = status
        self.reason = reason
        self.fields = fields  # [(name, value)] in order
        self.body = b""
        self.framing = "none"  # "length", "chunked", "close" or "none"
        self.trailers = []
        self.interim = []  # 1xx responses that came before this one

    def all(self, name):
        return [value for field, value in self.fields if field.lower() == name.lower()]

    def get(self, name):
        """The field's value, repeated lines joined with ", " (RFC 9110 §5.3), or None."""
        values = self.all(name)
        return b", ".join(values) if values else None

    def tokens(self, name):
        """The field's list members, lowercased."""
        value = self.get(name) or b""
        return [item.strip().lower() for item in value.split(b",") if item.strip()]

    def describe(self):
        fields = ", ".join(f"{n}: {v.decode('latin-1')}" for n, v in self.fields
                           if n.lower() not in ("date", "server"))
        body = self.body[:60] + (b"..." if len(self.body) > 60 else b"")
        return f"{self.status} {self.reason.decode('latin-1')} [{fields}] {body!r}"


def check_date(value):
    check(IMF_FIXDATE.fullmatch(value), f"Date is not an IMF-fixdate: {value!r}")
    moment = datetime.datetime.strptime(value.decode(), "%a, %d %b %Y %H:%M:%S GMT")
    check(moment.strftime("%a").encode() == value[:3], f"wrong weekday in Date: {value!r}")
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    check(abs((moment - now).total_seconds()) < 300, f"Date is not the current time: {value!r}")


def check_invariants(response, http10):
    """What every response must satisfy, whatever the request."""
    status = response.status
    if status < 200 or status == 204:
        # RFC 9110 §8.6, RFC 9112 §6.1: no Content-Length nor Transfer-Encoding in 1xx/204.
        check(response.get("Content-Length") is None, f"Content-Length in a {status}")
        check(response.get("Transfer-Encoding") is None, f"Transfer-Encoding in a {status}")
    if http10:
        # RFC 9112 §6.1: no Transfer-Encoding unless the request was HTTP/1.1 or later.
        check(response.get("Transfer-Encoding") is None,
              "Transfer-Encoding in a response to an HTTP/1.0 request")
    for name in SINGLETON_FIELDS:
        check(len(response.all(name)) <= 1, f"more than one {name}")
    for code, name, section in REQUIRED_FIELDS:
        check(status != code or response.get(name) is not None,
              f"{status} without {name} ({section})")
    if status == 206 and not (response.get("Content-Type") or b"").startswith(b"multipart/"):
        check(response.get("Content-Range") is not None,
              "206 without Content-Range (RFC 9110 §14.4)")
    if response.body:
        # RFC 9110 §8.3: content comes with its Content-Type.
        check(response.get("Content-Type") is not None, "content without Content-Type")
    dates = response.all("Date")
    if 200 <= status < 500:
        # RFC 9110 §6.6.1: an origin server with a clock MUST send Date in 2xx-4xx.
        check(dates, f"no Date in a {status}")
    for date in dates:
        check_date(date)


# --- connections ----------------------------------------------------------------------------------

class Exchange:
    """The responses read from one connection, and what happened after the last one."""

    def __init__(self, responses, closed, extra):
        self.responses = responses
        self.closed = closed  # the server closed the connection (within LINGER)
        self.extra = extra  # bytes that came after the responses asked for

    @property
    def first(self):
        check(self.responses, "the connection closed without a response")
        return self.responses[0]


class Connection:
    """A client connection to one testbed instance that reads and validates responses."""

    def __init__(self, server="main", timeout=TIMEOUT):
        self.timeout = timeout
        self.sock = socket.create_connection((HOST, SERVERS[server].port), timeout=timeout)
        self.buffer = bytearray()
        self.eof = False

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        self.sock.close()

    def send(self, data):
        """False if the server has closed (or reset) the connection: its reply may remain."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def send_in_background(self, data):
        """For bodies big enough that the server answers while they are still being sent."""
        sender = threading.Thread(target=self.send, args=(data,), daemon=True)
        sender.start()
        return sender

    def _fill(self):
        if self.eof:
            return False
        try:
            chunk = self.sock.recv(256 * 1024)
        except ConnectionResetError:  # a close with unread input: what was sent is read
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buffer += chunk
        return True

    def readable(self, seconds):
        """Whether bytes or the close arrive within `seconds`."""
        if self.buffer or self.eof:
            return True
        return bool(select.select([self.sock], [], [], seconds)[0])

    def _take(self, count):
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data

    def read_line(self, what):
        while (end := self.buffer.find(b"\n")) < 0:
            check(len(self.buffer) < MAX_HEAD, f"no end to a {what} in {MAX_HEAD} bytes")
            check(self._fill(), f"the connection closed in the middle of a {what}")
        line = self._take(end + 1)
        check(line.endswith(b"\r\n"), f"{what} ends in a bare LF: {line!r}")
        check(b"\r" not in line[:-2], f"bare CR in a {what}: {line!r}")
        return line[:-2]

    def read_exact(self, count):
        while len(self.buffer) < count:
            check(self._fill(), f"the connection closed after {len(self.buffer)} of {count} "
                                "body bytes")
        return self._take(count)

    def read_to_close(self):
        while self._fill():
            pass
        return self._take(len(self.buffer))

    def closed_cleanly(self):
        """True if the server closed the connection before sending anything more."""
        while not self.buffer:
            if not self._fill():
                return True
        return False

    def read_response(self, method="GET", http10=False):
        """The next final response (its 1xx ones attached), or None if the server closed."""
        interim = []
        while True:
            if self.closed_cleanly():
                check(not interim, "the connection closed after an interim response")
                return None
            response = self.read_message(method, http10)
            if 100 <= response.status < 200 and response.status != 101:
                interim.append(response)
                continue
            response.interim = interim
            return response

    def read_message(self, method, http10):
        line = self.read_line("status line")
        match = STATUS_LINE.fullmatch(line)
        check(match, f"malformed status line {line!r}")
        response = Response(int(match[1]), match[2], self._read_fields("field line"))
        self._read_body(response, method)
        check_invariants(response, http10)
        return response

    def _read_fields(self, what):
        fields = []
        while line := self.read_line(what):
            match = FIELD_LINE.fullmatch(line)
            check(match, f"malformed {what} {line!r}")
            check(not BAD_VALUE_OCTET.search(match[2]), f"control octet in {line!r}")
            fields.append((match[1].decode("ascii"), match[2]))
            check(len(fields) <= 100, "more than 100 fields in a response")
        return fields

    def _read_body(self, response, method):
        # RFC 9112 §6.3, in order: no body for HEAD, 1xx, 204, 304; chunked; Content-Length;
        # else the body runs to the close.
        coding = response.get("Transfer-Encoding")
        lengths = response.all("Content-Length")
        check(coding is None or not lengths,
              "both Transfer-Encoding and Content-Length (RFC 9112 §6.2)")
        check(len(lengths) <= 1, "more than one Content-Length")
        if method == "HEAD" or response.status < 200 or response.status in (204, 304):
            return
        if coding is not None:
            check(coding.lower() == b"chunked", f"unexpected Transfer-Encoding {coding!r}")
            response.framing = "chunked"
            response.body, response.trailers = self._read_chunked()
        elif lengths:
            check(re.fullmatch(rb"[0-9]+", lengths[0]), f"Content-Length {lengths[0]!r}")
            response.framing = "length"
            response.body = self.read_exact(int(lengths[0]))
        else:
            response.framing = "close"
            response.body = self.read_to_close()

    def _read_chunked(self):
        body = bytearray()
        while True:
            line = self.read_line("chunk-size line")
            match = CHUNK_SIZE_LINE.fullmatch(line)
            check(match, f"malformed chunk-size line {line!r}")
            size = int(match[1], 16)
            if size == 0:
                return bytes(body), self._read_fields("trailer field line")
            body += self.read_exact(size)
            check(self.read_exact(2) == b"\r\n", "chunk data not followed by CRLF")

    def linger(self, seconds=LINGER):
        """(closed, extra): whether the server closes within `seconds`, and what else came."""
        extra = self._take(len(self.buffer))
        deadline = time.monotonic() + seconds
        while not self.eof and (left := deadline - time.monotonic()) > 0:
            if not select.select([self.sock], [], [], left)[0]:
                break
            if self._fill():
                extra += self._take(len(self.buffer))
        return self.eof, extra

    def collect(self, count=1, methods=None, http10=False, linger=LINGER):
        responses = []
        for index in range(count):
            response = self.read_response(methods[index] if methods else "GET", http10)
            if response is None:
                return Exchange(responses, True, b"")
            responses.append(response)
        return Exchange(responses, *self.linger(linger))


def exchange(raw, count=1, server="main", methods=None, linger=LINGER):
    """Sends `raw` on a new connection and reads up to `count` responses."""
    http10 = raw.lstrip(b"\r\n").split(b"\r\n", 1)[0].endswith(b"HTTP/1.0")
    with Connection(server) as conn:
        conn.send(raw)
        return conn.collect(count, methods, http10, linger)


def replies(raw, count, **options):
    """The responses to `count` pipelined requests: all of them, or a failure."""
    result = exchange(raw, count, **options)
    check(len(result.responses) == count,
          f"the connection closed after {len(result.responses)} of {count} responses")
    return result.responses


def fetch(raw, server="main", method="GET"):
    """The one response to `raw`, which must leave nothing else on the connection."""
    result = exchange(raw, server=server, methods=[method], linger=0.2)
    check(not result.extra, f"bytes after the response: {result.extra[:80]!r}")
    return result.first


# --- expectations ---------------------------------------------------------------------------------

def expect_status(response, *codes):
    check(response.status in codes,
          f"expected {'/'.join(map(str, codes))}, got {response.describe()}")


def rejected(raw, *codes, server="main", method="GET"):
    """`raw` is refused with one of `codes` (400 by default), then the connection closes."""
    result = exchange(raw, server=server, methods=[method])
    response = result.first
    expect_status(response, *(codes or (400,)))
    check(result.closed, f"the connection stayed open after {response.status} to a bad request")
    check(not result.extra, f"bytes after the error response: {result.extra[:80]!r}")
    # RFC 9112 §9.6: a server closing after a response says so with the close option.
    check(b"close" in response.tokens("Connection"), "no 'Connection: close' on a closing error")
    return response


def accepted(raw, status=200, body=None, server="main", method="GET"):
    """`raw` gets `status` (and `body`), and the connection stays usable."""
    result = exchange(raw + get(b"/plaintext"), 2, server=server, methods=[method, "GET"])
    check(len(result.responses) == 2,
          f"no response to a request pipelined after {result.first.describe()}")
    response, follower = result.responses
    expect_status(response, status)
    if body is not None:
        check(response.body == body, f"body {response.body[:80]!r}, expected {body[:80]!r}")
    check(follower.status == 200 and follower.body == b"Hello, World!",
          f"the request pipelined after it got {follower.describe()}")
    check(not result.extra, f"bytes after the responses: {result.extra[:80]!r}")
    return response


def rejected_or_accepted(raw, body, target_status=200):
    """Either is allowed (e.g. bare LF, RFC 9112 §2.2 MAY): 400 and a close, or the answer."""
    result = exchange(raw)
    response = result.first
    if response.status == 400:
        check(result.closed, "the connection stayed open after a 400")
    else:
        expect_status(response, target_status)
        check(response.body == body, f"body {response.body[:80]!r}, expected {body[:80]!r}")
    return response


def unanswered(raw, server="main", seconds=1.0):
    """An incomplete request: no reply yet, connection still open (the server waits)."""
    with Connection(server) as conn:
        conn.send(raw)
        closed, extra = conn.linger(seconds)
        check(not extra, f"a response to an incomplete request: {extra[:80]!r}")
        check(not closed, "the connection closed although the request may still complete")


def echo_field(name, raw_value):
    """The value /headers reports for a field sent as `raw_value` (None: refused with 400)."""
    result = exchange(get(b"/headers", name + b": " + raw_value))
    if result.first.status == 400:
        check(result.closed, "the connection stayed open after a 400")
        return None
    expect_status(result.first, 200)
    return json.loads(result.first.body).get(name.decode())


# --- the case table -------------------------------------------------------------------------------

CASES = []  # (name, function, group); group "slow" runs on its own threads from the start


def case(function=None, *, group="main"):
    def register(function):
        CASES.append((function.__name__, function, group))
        return function
    return register(function) if function else register


def add(name, function, group="main"):
    CASES.append((name, function, group))


def add_rejects(rows, server="main"):
    """Table rows (name, request[, acceptable statuses]): refused, then closed."""
    for name, raw, *codes in rows:
        add(name, lambda raw=raw, codes=codes: rejected(raw, *(codes[0] if codes else ()),
                                                        server=server))


def add_lenient(rows):
    """Table rows (name, request, body): 400 and close, or answered with that body."""
    for name, raw, body in rows:
        add(name, lambda raw=raw, body=body: rejected_or_accepted(raw, body))


HELLO = b"Hello, World!"

# --- request line (RFC 9112 §2.2, §3; RFC 9110 §9.1) ----------------------------------------------

add_rejects([
    # request-line = method SP request-target SP HTTP-version, single SPs (RFC 9112 §3).
    ("line_double_space_after_method", b"GET  /plaintext HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("line_double_space_before_version", b"GET /plaintext  HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("line_leading_space", b" GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("line_tab_after_method", b"GET\t/plaintext HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("line_tab_before_version", b"GET /plaintext\tHTTP/1.1\r\nHost: t\r\n\r\n"),
    ("line_trailing_space", b"GET /plaintext HTTP/1.1 \r\nHost: t\r\n\r\n"),
    ("line_missing_target", b"GET HTTP/1.1\r\nHost: t\r\n\r\n"),
    # No HTTP/0.9: a line without a version is an error, not a request for a bare body.
    ("line_missing_version", b"GET /plaintext\r\nHost: t\r\n\r\n"),
    ("line_method_only", b"GET\r\n\r\n"),
    ("line_whitespace_only", b"   \r\n\r\n"),
    # A bare CR is invalid wherever it appears (RFC 9112 §2.2 MUST).
    ("line_bare_cr_terminator", b"GET /plaintext HTTP/1.1\rHost: t\r\n\r\n"),
    # method = token (RFC 9110 §9.1): delimiters are not tchar.
    ("line_method_with_parenthesis", b"GE(T /plaintext HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("line_method_with_at_sign", b"G@T /plaintext HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("line_method_with_colon", b"GET: /plaintext HTTP/1.1\r\nHost: t\r\n\r\n"),
    # origin-form starts with "/"; no fragment, space, CTL or non-URI octet (RFC 9112 §3.2).
    ("line_relative_target", b"GET plaintext HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("line_fragment_in_target", b"GET /plaintext#frag HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("line_fragment_after_query", b"GET /plaintext?a=b#frag HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("line_space_in_target", b"GET /plain text HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("line_ctl_in_target", b"GET /plain\x01text HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("line_del_in_target", b"GET /plain\x7ftext HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("line_nul_in_target", b"GET /plain\x00text HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("line_non_ascii_target", b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("line_overlong_utf8_target", b"GET /\xc0\xaf HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("line_backslash_target", b"GET /plain\\text HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("line_angle_quote_target", b'GET /plain<"text"> HTTP/1.1\r\nHost: t\r\n\r\n'),
    ("line_bad_percent_target", b"GET /plain%zztext HTTP/1.1\r\nHost: t\r\n\r\n"),
    # authority-form is for CONNECT only, asterisk-form for OPTIONS only (RFC 9112 §3.2.3-4).
    ("line_authority_form_with_get", b"GET testbed:80 HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("line_asterisk_with_get", b"GET * HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("line_asterisk_with_post", b"POST * HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"),
    ("line_connect_origin_form", b"CONNECT /plaintext HTTP/1.1\r\nHost: t:80\r\n\r\n"),
    ("line_connect_without_port", b"CONNECT testbed HTTP/1.1\r\nHost: testbed\r\n\r\n"),
    # RFC 9110 §9.3.6: CONNECT has no default port; "host:" names no tunnel destination.
    ("line_connect_empty_port", b"CONNECT testbed: HTTP/1.1\r\nHost: testbed:\r\n\r\n"),
    # absolute-form (RFC 9112 §3.2.2): still needs Host in HTTP/1.1 (§3.2), a host
    # (RFC 9110 §4.2.1 MUST reject an empty one) and no userinfo (RFC 9110 §4.2.4).
    ("line_absolute_form_without_host_field", b"GET http://t/plaintext HTTP/1.1\r\n\r\n"),
    ("line_absolute_form_empty_host", b"GET http:///plaintext HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("line_absolute_form_userinfo", b"GET http://u@t/plaintext HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("line_absolute_form_bad_port", b"GET http://t:x/plaintext HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("line_absolute_form_space_in_host", b"GET http://a b/ HTTP/1.1\r\nHost: t\r\n\r\n"),
    # RFC 9112 §3: a request-line longer than the server parses gets 414.
    ("line_target_over_limit", get(b"/" + b"a" * 17000), (414,)),
    ("line_target_100k", get(b"/" + b"a" * 100000), (414,)),
    ("line_query_over_limit", get(b"/plaintext?q=" + b"a" * 20000), (414,)),
])

add_lenient([
    # RFC 9112 §2.2: a recipient MAY recognise a bare LF as a line terminator.
    ("line_bare_lf_everywhere", b"GET /plaintext HTTP/1.1\nHost: t\n\n", HELLO),
    ("line_bare_lf_after_request_line", b"GET /plaintext HTTP/1.1\nHost: t\r\n\r\n", HELLO),
    ("line_leading_bare_lf", b"\nGET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n", HELLO),
    # RFC 9112 §2.2 asks to ignore at least one leading empty line; more is the server's call.
    ("line_several_leading_crlf", b"\r\n\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n",
     HELLO),
])


@case
def line_incomplete_head():
    # No empty line yet: the head is not complete and the server waits for the rest.
    unanswered(b"GET /plaintext HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n")


@case
def line_leading_crlf():
    # RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request-line.
    accepted(b"\r\n" + get(b"/plaintext"), body=HELLO)


@case
def line_query_string():
    accepted(get(b"/plaintext?a=1&b=%20x&c"), body=HELLO)


@case
def line_percent_encoded_unreserved():
    # RFC 9110 §4.2.3: a percent-encoded unreserved octet is equivalent to the octet itself.
    accepted(get(b"/plain%74ext"), body=HELLO)


@case
def line_empty_query():
    accepted(get(b"/plaintext?"), body=HELLO)


@case
def line_absolute_form():
    # RFC 9112 §3.2.2: a server MUST accept the absolute-form.
    accepted(req(b"GET http://testbed/plaintext HTTP/1.1"), body=HELLO)


@case
def line_absolute_form_other_host():
    # RFC 9112 §3.2.2: the target's authority wins; the Host field is ignored.
    accepted(req(b"GET http://testbed/plaintext HTTP/1.1", host=b"elsewhere.example"),
             body=HELLO)


@case
def line_absolute_form_port_and_query():
    accepted(req(b"GET http://testbed:8080/plaintext?x=1 HTTP/1.1"), body=HELLO)


@case
def line_absolute_form_uppercase_scheme():
    # RFC 3986 §3.1: schemes are case-insensitive.
    accepted(req(b"GET HTTP://testbed/plaintext HTTP/1.1"), body=HELLO)


@case
def line_unknown_method():
    # RFC 9110 §9.1, §15.6.2: an unrecognised method gets 501; the connection stays usable.
    accepted(req(b"BREW /plaintext HTTP/1.1"), 501)


@case
def line_lowercase_method():
    # RFC 9110 §9.1: methods are case-sensitive; "get" is not GET.
    response = fetch(req(b"get /plaintext HTTP/1.1"))
    expect_status(response, 501, 405)


@case
def line_mixed_case_method():
    expect_status(fetch(req(b"Get /plaintext HTTP/1.1")), 501, 405)


@case
def line_long_method():
    # RFC 9112 §3: a method longer than any implemented SHOULD get 501.
    accepted(req(b"A" * 100 + b" /plaintext HTTP/1.1"), 501)


@case
def line_huge_method():
    # The request-line is past the limit, but because of its method, not its target.
    result = exchange(b"A" * 20000 + b" / HTTP/1.1\r\nHost: t\r\n\r\n")
    expect_status(result.first, 400, 501)
    check(result.first.status != 400 or result.closed, "the connection stayed open after 400")


@case
def line_target_8000_octets():
    # RFC 9112 §3: request-lines of at least 8000 octets SHOULD be supported.
    accepted(get(b"/" + b"a" * 8000), 404)


@case
def line_options_asterisk():
    # RFC 9112 §3.2.4, RFC 9110 §9.3.7: OPTIONS * asks about the server as a whole.
    response = accepted(req(b"OPTIONS * HTTP/1.1"), 200)
    check(b"get" in response.tokens("Allow"), f"no GET in Allow: {response.describe()}")
    check(response.body == b"", "a body on OPTIONS *")


@case
def line_options_asterisk_needs_host():
    rejected(req(b"OPTIONS * HTTP/1.1", host=None))


@case
def line_connect_refused():
    # RFC 9110 §9.3.6: an origin server need not implement CONNECT; never a 2xx tunnel here.
    response = fetch(req(b"CONNECT testbed:443 HTTP/1.1", host=b"testbed:443"))
    expect_status(response, 400, 405, 501)
    if response.status == 405:
        check(response.get("Allow") is not None, "405 without Allow (RFC 9110 §15.5.6)")


# --- HTTP version (RFC 9112 §2.3, §9.3; RFC 9110 §2.5, §6.2, §15.6.6) -----------------------------

add_rejects([
    ("version_http20", b"GET /plaintext HTTP/2.0\r\nHost: t\r\n\r\n", (505,)),
    ("version_http30", b"GET /plaintext HTTP/3.0\r\nHost: t\r\n\r\n", (505,)),
    ("version_http99", b"GET /plaintext HTTP/9.9\r\nHost: t\r\n\r\n", (505,)),
    # "HTTP/3" does not match HTTP-version = HTTP-name "/" DIGIT "." DIGIT: 400, or 505.
    ("version_http3_without_minor", b"GET /plaintext HTTP/3\r\nHost: t\r\n\r\n", (400, 505)),
    ("version_http09", b"GET /plaintext HTTP/0.9\r\nHost: t\r\n\r\n", (400, 505)),
    ("version_lowercase", b"GET /plaintext http/1.1\r\nHost: t\r\n\r\n"),
    ("version_missing_minor", b"GET /plaintext HTTP/1\r\nHost: t\r\n\r\n"),
    ("version_two_digit_minor", b"GET /plaintext HTTP/1.10\r\nHost: t\r\n\r\n"),
    ("version_leading_zero", b"GET /plaintext HTTP/01.1\r\nHost: t\r\n\r\n"),
    ("version_space_inside", b"GET /plaintext HTTP/ 1.1\r\nHost: t\r\n\r\n"),
    ("version_trailing_garbage", b"GET /plaintext HTTP/1.1x\r\nHost: t\r\n\r\n"),
    ("version_wrong_protocol_name", b"GET /plaintext FOO/1.1\r\nHost: t\r\n\r\n"),
    ("version_http2_preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", (400, 505)),
])


@case
def version_http11_persistent_by_default():
    # RFC 9112 §9.3: HTTP/1.1 connections persist unless "close" is signalled.
    with Connection() as conn:
        for _ in range(3):
            conn.send(get(b"/plaintext"))
            response = conn.read_response()
            check(response is not None, "the connection closed after a response")
            expect_status(response, 200)
            check(b"close" not in response.tokens("Connection"), "Connection: close on 1.1")


@case
def version_http10_closes_by_default():
    result = exchange(b"GET /plaintext HTTP/1.0\r\n\r\n")
    expect_status(result.first, 200)
    check(result.first.body == HELLO, f"body {result.first.body!r}")
    check(result.closed, "an HTTP/1.0 connection without keep-alive stayed open")


@case
def version_http10_keep_alive():
    # RFC 9112 §9.3 + Appendix C.2.2: HTTP/1.0 persistence is opt-in with "keep-alive",
    # which the response confirms; a request without it ends the connection.
    raw = (b"GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
           b"GET /json HTTP/1.0\r\n\r\n")
    result = exchange(raw, 2)
    check(len(result.responses) == 2, "the keep-alive connection closed after one response")
    first, second = result.responses
    check(b"keep-alive" in first.tokens("Connection"), "no 'Connection: keep-alive' echo")
    check(second.status == 200 and b"Hello" in second.body, f"second: {second.describe()}")
    check(result.closed, "the connection stayed open after a request without keep-alive")


@case
def version_http10_keep_alive_case_insensitive():
    result = exchange(b"GET /plaintext HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
    check(not result.closed, "'Keep-Alive' was not recognised (tokens are case-insensitive)")


@case
def version_http10_stream_not_chunked():
    # RFC 9112 §6.1: no chunked coding for an HTTP/1.0 recipient (checked for every
    # response); the streamed body is then delimited by the close.
    for raw in (b"GET /stream/3 HTTP/1.0\r\n\r\n",
                b"GET /stream/3 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"):
        response = exchange(raw).first
        check(response.body == b"line 0\nline 1\nline 2\n", f"body {response.body!r}")


@case
def version_http10_host_optional():
    # RFC 9112 §3.2 requires Host of HTTP/1.1 requests only.
    expect_status(exchange(b"GET /plaintext HTTP/1.0\r\n\r\n").first, 200)


@case
def version_higher_minor_accepted():
    # RFC 9110 §6.2: a higher minor version is processed as the highest one implemented.
    for version in (b"HTTP/1.2", b"HTTP/1.9"):
        accepted(req(b"GET /plaintext " + version), body=HELLO)


# --- field syntax (RFC 9110 §5; RFC 9112 §5) ------------------------------------------------------

def with_field(line):
    return b"GET /plaintext HTTP/1.1\r\nHost: t\r\n" + line + b"\r\n\r\n"


add_rejects([
    # RFC 9112 §5.1: whitespace between a field name and the colon MUST get 400.
    ("field_space_before_colon", with_field(b"X-A : 1")),
    ("field_tab_before_colon", with_field(b"X-A\t: 1")),
    ("field_host_space_before_colon", b"GET /plaintext HTTP/1.1\r\nHost : t\r\n\r\n"),
    # field-name = token (RFC 9110 §5.1).
    ("field_empty_name", with_field(b": empty")),
    ("field_name_brackets", with_field(b"X[A]: 1")),
    ("field_name_space", with_field(b"X A: 1")),
    ("field_name_tab", with_field(b"X\tA: 1")),
    ("field_name_non_ascii", with_field(b"X-T\xc3\xabst: 1")),
    ("field_name_del", with_field(b"X\x7fA: 1")),
    ("field_name_nul", with_field(b"X\x00A: 1")),
    ("field_without_colon", with_field(b"NoColonHere")),
    # field-vchar excludes the CTLs other than HTAB (RFC 9110 §5.5).
    ("field_value_ctl", with_field(b"X-A: abc\x07\x08def")),
    ("field_value_del", with_field(b"X-A: a\x7fb")),
    ("field_value_vertical_tab", with_field(b"X-A: a\x0bb")),
    ("field_value_form_feed", with_field(b"X-A: a\x0cb")),
    ("field_bare_cr_after_value", with_field(b"X-A: 1\r")),
    # A line starting with whitespace right after the request-line (RFC 9112 §2.2): either
    # invalid or consumed, and consuming it here leaves a request without Host.
    ("field_first_line_indented", b"GET /plaintext HTTP/1.1\r\n Host: t\r\n\r\n"),
    # RFC 6585 §5, RFC 9110 §5.4: too large a header section gets 431 (or 400).
    ("field_value_over_limit", with_field(b"X-Big: " + b"v" * 66000), (431, 400)),
    ("field_value_1mb", with_field(b"X-Big: " + b"v" * 1000000), (431, 400)),
    ("field_name_over_limit", with_field(b"X" * 70000 + b": v"), (431, 400)),
    ("field_10000_fields",
     with_field(b"\r\n".join(b"X-H-%d: value" % i for i in range(10000))), (431, 400)),
])
add_rejects([
    ("field_small_limit_exceeded", with_field(b"X-Big: " + b"v" * 2100), (431, 400)),
    ("field_small_limit_many_fields",
     with_field(b"\r\n".join(b"X-H-%d: v" % i for i in range(200))), (431, 400)),
], server="small")

add_lenient([
    ("field_bare_lf_terminator", b"GET /plaintext HTTP/1.1\r\nHost: t\nX-A: 1\r\n\r\n", HELLO),
])


@case
def field_whitespace_line_before_fields():
    # RFC 9112 §2.2: whitespace-preceded lines after the start-line MUST be rejected or
    # consumed without further processing.
    rejected_or_accepted(b"GET /plaintext HTTP/1.1\r\n \r\nHost: t\r\n\r\n", HELLO)


@case
def field_obs_fold():
    # RFC 9112 §5.2: obs-fold MUST be rejected with 400, or replaced by SP.
    for fold in (b"\r\n folded", b"\r\n\tfolded"):
        value = echo_field(b"X-A", b"1" + fold)
        check(value is None or re.fullmatch("1 +folded", value), f"obs-fold read as {value!r}")


@case
def field_value_nul():
    # RFC 9110 §5.5: CR, LF or NUL in a value MUST be rejected or replaced with SP.
    value = echo_field(b"X-A", b"a\x00b")
    check(value in (None, "a b"), f"NUL kept in a field value: {value!r}")


@case
def field_value_bare_cr():
    value = echo_field(b"X-A", b"a\rb")
    check(value in (None, "a b"), f"bare CR kept in a field value: {value!r}")


@case
def field_value_htab_kept():
    check(echo_field(b"X-A", b"a\tb") == "a\tb", "HTAB inside a value is field-content")


@case
def field_value_ows_trimmed():
    # RFC 9110 §5.5: leading and trailing OWS is not part of the value; inner space is.
    check(echo_field(b"X-A", b"  \t v  w \t ") == "v  w", "OWS not trimmed")


@case
def field_value_empty():
    check(echo_field(b"X-Empty", b"") == "", "an empty value is valid")


@case
def field_value_obs_text():
    # RFC 9110 §5.5: obs-text is allowed in values.
    accepted(with_field(b"X-A: caf\xc3\xa9 \xff"), body=HELLO)


@case
def field_value_obs_text_echo():
    response = fetch(get(b"/headers", b"X-A: caf\xc3\xa9 \xff"))
    expect_status(response, 200)


@case
def field_name_underscore():
    # "_" is a tchar: a valid (if unusual) name.
    check(echo_field(b"X_A", b"1") == "1", "X_A not received")


@case
def field_names_case_insensitive():
    accepted(b"GET /plaintext HTTP/1.1\r\nhOsT: t\r\n\r\n", body=HELLO)


@case
def field_repeated_lines_combined():
    # RFC 9110 §5.3: repeated field lines combine, in order, with ", ".
    result = fetch(get(b"/headers", b"X-C: 1", b"x-c: 2", b"X-C: 3"))
    values = {k.lower(): v for k, v in json.loads(result.body).items()}
    check(values.get("x-c") == "1, 2, 3", f"combined as {values.get('x-c')!r}")


@case
def field_duplicate_content_type():
    # Content-Type takes one value (RFC 9110 §8.3); two lines may be refused or one of them
    # used, but the echo must not come back with two (checked for every response).
    rejected_or_accepted(post(b"/echo", b"hello", b"Content-Type: text/html"), b"hello")


@case
def field_100_fields():
    accepted(with_field(b"\r\n".join(b"X-H-%d: v" % i for i in range(100))), body=HELLO)


@case
def field_value_60k():
    accepted(with_field(b"X-Big: " + b"v" * 60000), body=HELLO)


@case
def field_small_limit_not_reached():
    response = fetch(with_field(b"X-Big: " + b"v" * 1500), server="small")
    expect_status(response, 200)


@case
def field_content_length_underscore():
    # "Content_Length" is some other field: it must not frame a body (no normalisation),
    # so the request after it is a request, not a body.
    raw = req(b"POST /echo HTTP/1.1", b"Content_Length: 16") + get(b"/plaintext")
    echo, follower = replies(raw, 2)
    check(echo.status == 200 and echo.body == b"", f"echo: {echo.describe()}")
    check(follower.body == HELLO, f"follower: {follower.describe()}")


@case
def field_transfer_encoding_underscore():
    raw = req(b"POST /echo HTTP/1.1", b"Transfer_Encoding: chunked") + get(b"/plaintext")
    echo, follower = replies(raw, 2)
    check(echo.status == 200 and echo.body == b"", f"echo: {echo.describe()}")
    check(follower.body == HELLO, f"follower: {follower.describe()}")


# --- Host (RFC 9112 §3.2; RFC 9110 §7.2) ----------------------------------------------------------

def with_host(*lines, version=b"HTTP/1.1"):
    fields = b"".join(line + b"\r\n" for line in lines)
    return b"GET /plaintext " + version + b"\r\n" + fields + b"\r\n"


add_rejects([
    # RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host, with more than one Host line,
    # or with an invalid Host value (Host = uri-host [ ":" port ]).
    ("host_missing", with_host()),
    ("host_duplicate_same", with_host(b"Host: t", b"Host: t")),
    ("host_duplicate_different", with_host(b"Host: t", b"Host: other")),
    ("host_duplicate_other_case", with_host(b"Host: t", b"host: t")),
    ("host_comma_list", with_host(b"Host: a, b")),
    ("host_userinfo", with_host(b"Host: user@t")),
    ("host_path", with_host(b"Host: t/path")),
    ("host_space_inside", with_host(b"Host: t t")),
    ("host_bad_port", with_host(b"Host: t:abc")),
    ("host_two_ports", with_host(b"Host: t:1:2")),
    ("host_unclosed_ipv6", with_host(b"Host: [::1")),
    ("host_junk_after_ipv6", with_host(b"Host: [::1]x")),
    ("host_backslash", with_host(b"Host: t\\u")),
    ("host_nul", with_host(b"Host: t\x00")),
    ("host_duplicate_http10", with_host(b"Host: t", b"Host: u", version=b"HTTP/1.0")),
    ("host_invalid_http10", with_host(b"Host: a b", version=b"HTTP/1.0")),
    ("host_duplicate_with_absolute_form",
     b"GET http://t/plaintext HTTP/1.1\r\nHost: t\r\nHost: u\r\n\r\n"),
    ("host_invalid_with_absolute_form", b"GET http://t/plaintext HTTP/1.1\r\nHost: a b\r\n\r\n"),
])


@case
def host_valid_forms():
    for host in (b"testbed:8080", b"127.0.0.1", b"[::1]:80", b"TESTBED", b"test-bed.example.",
                 b"exa%41mple", b"[v1.fe80::a+en1]", b"testbed:"):
        response = fetch(req(b"GET /plaintext HTTP/1.1", host=host))
        check(response.status == 200, f"Host: {host.decode()} got {response.describe()}")


@case
def host_empty_value():
    # An empty Host is allowed syntax (reg-name may be empty, RFC 9110 §7.2), but it says the
    # target URI has no authority, and an http URI with an empty host is invalid (RFC 9110
    # §4.2.1): testbed refuses it.
    result = exchange(with_host(b"Host: "))
    expect_status(result.first, 400)


# --- Content-Length (RFC 9110 §8.6; RFC 9112 §6.2, §6.3) ------------------------------------------

def with_length(value, body=b"hello"):
    return b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " + value + b"\r\n\r\n" + body


add_rejects([
    # Content-Length = 1*DIGIT; an invalid one is an unrecoverable framing error: 400 and
    # close (RFC 9112 §6.3 item 5).
    ("cl_non_numeric", with_length(b"abc", b"")),
    ("cl_negative", with_length(b"-1", b"")),
    ("cl_negative_zero", with_length(b"-0", b"")),
    ("cl_plus_sign", with_length(b"+5")),
    ("cl_hex", with_length(b"0x5")),
    ("cl_octal_prefix", with_length(b"0o5")),
    ("cl_decimal_point", with_length(b"5.0")),
    ("cl_internal_space", with_length(b"1 0", b"helloworld")),
    ("cl_underscore", with_length(b"1_0", b"helloworld")),
    ("cl_empty", with_length(b"", b"")),
    ("cl_vertical_tab", with_length(b"\x0b5")),
    ("cl_nul", with_length(b"5\x00")),
    ("cl_overflow_2_64", with_length(b"18446744073709551616")),
    ("cl_wraps_to_5", with_length(b"18446744073709551621")),
    ("cl_huge", with_length(b"99999999999999999999999")),
    ("cl_duplicate_different",
     b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 10\r\n\r\n"
     b"helloworld"),
    ("cl_list_different", with_length(b"5, 10", b"helloworld")),
    ("cl_trailing_comma", with_length(b"5,")),
    ("cl_leading_comma", with_length(b",5")),
    ("cl_space_before_colon", b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length : 5\r\n\r\nhello"),
    # Over --max-body without reading it: 413 (RFC 9110 §15.5.14), then close.
    ("cl_over_default_limit", with_length(b"%d" % (64 * 1024 * 1024 + 1), b""), (413,)),
    ("cl_over_limit_huge_no_body", with_length(b"99999999999", b""), (413,)),
])


@case
def cl_echo():
    response = accepted(post(b"/echo", b"hello", content_type=b"text/x-conformance"),
                        body=b"hello")
    check(response.get("Content-Type") == b"text/x-conformance",
          f"Content-Type not echoed: {response.describe()}")
    check(response.get("Content-Length") == b"5", "no Content-Length: 5 on the echo")


@case
def cl_zero():
    accepted(with_length(b"0", b""), body=b"")


@case
def cl_absent_means_no_body():
    # RFC 9112 §6.3 item 7: a request without Content-Length or Transfer-Encoding has none.
    accepted(req(b"POST /echo HTTP/1.1"), body=b"")


@case
def cl_leading_zeros():
    # 1*DIGIT allows leading zeros: the value is still decimal 5 (RFC 9110 §8.6).
    rejected_or_accepted(with_length(b"005"), b"hello")


@case
def cl_ows_around_value():
    accepted(with_length(b" \t5 \t"), body=b"hello")


@case
def cl_duplicate_same_value():
    # RFC 9110 §8.6: identical repeated values MAY be rejected or read as one.
    raw = b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"
    rejected_or_accepted(raw, b"hello")


@case
def cl_list_same_value():
    rejected_or_accepted(with_length(b"5, 5"), b"hello")


@case
def cl_body_shorter_than_data():
    # Exactly Content-Length octets are the body; what follows starts the next request.
    raw = with_length(b"3") + get(b"/plaintext")
    result = exchange(raw, 2)
    check(result.first.body == b"hel", f"body {result.first.body!r}, expected b'hel'")
    check(len(result.responses) < 2 or result.responses[1].body != HELLO,
          "bytes past Content-Length were skipped")


@case
def cl_body_incomplete():
    # RFC 9112 §6.2: the server waits for the declared octets.
    unanswered(with_length(b"10"))


def half_closed_before_complete(raw):
    """Sends `raw`, an incomplete message, and half-closes: RFC 9112 §8 says an incomplete
    message MUST NOT be processed as complete, so no answer or an error."""
    with Connection() as conn:
        conn.send(raw)
        conn.sock.shutdown(socket.SHUT_WR)
        response = conn.read_response()
        check(response is None or response.status in (400, 408),
              f"an incomplete body was answered: {response and response.describe()}")


@case
def cl_half_close_before_body_complete():
    half_closed_before_complete(with_length(b"10"))


@case
def cl_body_on_get_is_read():
    # A body on GET/HEAD/OPTIONS/405/404/501 is framed like any other and must be skipped.
    for line, status, method in ((b"GET /plaintext", 200, "GET"), (b"HEAD /plaintext", 200, "HEAD"),
                                 (b"OPTIONS /plaintext", 204, "OPTIONS"),
                                 (b"POST /plaintext", 405, "POST"), (b"POST /nope", 404, "POST"),
                                 (b"BREW /plaintext", 501, "BREW")):
        raw = req(line + b" HTTP/1.1", b"Content-Length: 5", body=b"hello")
        accepted(raw, status, method=method)


def unread_body_skipped(line, status, method, chunked_body=False):
    """A body its handler never reads is still framed and skipped: a request inside it is
    never answered, the request after it is (or the connection closes)."""
    inner = get(b"/json")
    framing = (b"Transfer-Encoding: chunked" if chunked_body
               else b"Content-Length: %d" % len(inner))
    raw = req(line + b" HTTP/1.1", framing, body=chunked(inner) if chunked_body else inner)
    result = exchange(raw + get(b"/plaintext"), 2, methods=[method, "GET"])
    expect_status(result.first, status)
    check(all(b"message" not in r.body for r in result.responses),
          "a request inside an unread body was answered")
    if len(result.responses) == 2:
        check(result.responses[1].body == HELLO, result.responses[1].describe())
    else:
        check(result.closed, "the request after an unread body was not answered")


for name, line, status, method, chunked_body in (
        ("cl_unread_body_not_found", b"POST /nope", 404, "POST", False),
        ("cl_unread_body_method_not_allowed", b"POST /plaintext", 405, "POST", False),
        ("cl_unread_body_not_implemented", b"BREW /plaintext", 501, "BREW", False),
        ("cl_unread_body_on_head", b"HEAD /plaintext", 200, "HEAD", False),
        ("cl_unread_body_no_content", b"GET /status/204", 204, "GET", False),
        ("te_unread_body_not_found", b"POST /nope", 404, "POST", True),
        ("te_unread_body_method_not_allowed", b"POST /plaintext", 405, "POST", True)):
    add(name, lambda line=line, status=status, method=method, chunked_body=chunked_body:
        unread_body_skipped(line, status, method, chunked_body))


@case
def cl_large_unread_body():
    big = b"x" * 200000
    result = exchange(req(b"POST /nope HTTP/1.1", b"Content-Length: %d" % len(big), body=big)
                      + get(b"/plaintext"), 2)
    expect_status(result.first, 404)
    check(len(result.responses) == 2 or result.closed, "neither skipped nor closed")


# --- Transfer-Encoding and chunked bodies (RFC 9112 §6.1, §7) -------------------------------------

def echo_chunked_case(body, expected):
    return lambda: accepted(post_chunked(body), body=expected)


for name, body, expected in (
        ("te_chunked_single", chunked(b"hello"), b"hello"),
        ("te_chunked_multi", chunked(b"hello", b" world"), b"hello world"),
        ("te_chunked_empty", chunked(), b""),
        ("te_chunk_size_uppercase_hex", b"A\r\nhelloworld\r\n0\r\n\r\n", b"helloworld"),
        ("te_chunk_size_lowercase_hex", b"a\r\nhelloworld\r\n0\r\n\r\n", b"helloworld"),
        ("te_chunk_size_leading_zeros", b"005\r\nhello\r\n000\r\n\r\n", b"hello"),
        # RFC 9112 §7.1.1: unrecognised chunk extensions MUST be ignored.
        ("te_chunk_extension", b"5;ext=value\r\nhello\r\n0\r\n\r\n", b"hello"),
        ("te_chunk_extension_quoted", b'5;a="b; c"\r\nhello\r\n0;last\r\n\r\n', b"hello"),
        ("te_chunk_extension_bws", b"5 ; ext = value\r\nhello\r\n0\r\n\r\n", b"hello"),
        ("te_chunk_extension_name_only", b"5;ext\r\nhello\r\n0\r\n\r\n", b"hello"),
        ("te_chunk_extension_escaped_quote", b'5;a=b;c="d\\"e"\r\nhello\r\n0\r\n\r\n',
         b"hello"),
        ("te_chunk_extension_tab_before", b"5\t;a=b\r\nhello\r\n0\r\n\r\n", b"hello"),
        # RFC 9112 §7.1.2: trailers are read and are never framing.
        ("te_trailer_field", chunked(b"hello", trailer=b"X-Checksum: abc\r\n"), b"hello"),
        ("te_trailer_content_length_ignored",
         chunked(b"hello", trailer=b"Content-Length: 50\r\n"), b"hello"),
        ("te_trailer_transfer_encoding_ignored",
         chunked(b"hello", trailer=b"Transfer-Encoding: chunked\r\n"), b"hello"),
        ("te_many_small_chunks", chunked(*[b"x"] * 1000), b"x" * 1000),
        ("te_large_chunk", chunked(b"y" * 300000), b"y" * 300000)):
    add(name, echo_chunked_case(body, expected))


def te_variant_case(value, expected=b"hello"):
    raw = req(b"POST /echo HTTP/1.1", b"Transfer-Encoding: " + value, body=chunked(b"hello"))
    return lambda: accepted(raw, body=expected)


for name, value in (
        # Coding names are case-insensitive (RFC 9112 §7), so are field names; OWS around
        # the value is not part of it, and empty list elements are ignored (RFC 9110 §5.6.1).
        ("te_coding_case_insensitive", b"Chunked"),
        ("te_coding_uppercase", b"CHUNKED"),
        ("te_leading_empty_element", b", chunked"),
        ("te_trailing_empty_element", b"chunked,"),
        ("te_tab_before_value", b"\tchunked"),
        ("te_trailing_space", b"chunked ")):
    add(name, te_variant_case(value))


@case
def te_field_name_uppercase():
    raw = req(b"POST /echo HTTP/1.1", b"TRANSFER-ENCODING: chunked", body=chunked(b"hello"))
    accepted(raw, body=b"hello")


@case
def te_chunked_body_on_get():
    accepted(req(b"GET /plaintext HTTP/1.1", b"Transfer-Encoding: chunked",
                 body=chunked(b"hello")), body=HELLO)


add_rejects([
    # chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF; chunk-size = 1*HEXDIG.
    ("te_chunk_size_0x_prefix", post_chunked(b"0x5\r\nhello\r\n0\r\n\r\n")),
    ("te_chunk_size_underscore", post_chunked(b"5_\r\nhello\r\n0\r\n\r\n")),
    ("te_chunk_size_leading_space", post_chunked(b" 5\r\nhello\r\n0\r\n\r\n")),
    ("te_chunk_size_negative", post_chunked(b"-5\r\nhello\r\n0\r\n\r\n")),
    ("te_chunk_size_not_hex", post_chunked(b"zz\r\nhello\r\n0\r\n\r\n")),
    ("te_chunk_size_empty", post_chunked(b"\r\nhello\r\n0\r\n\r\n")),
    # RFC 9112 §7.1: recipients MUST guard against overflowing hex numerals.
    ("te_chunk_size_overflow", post_chunked(b"FFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n")),
    ("te_chunk_size_wraps_to_5", post_chunked(b"10000000000000005\r\nhello\r\n0\r\n\r\n")),
    ("te_chunk_data_longer_than_size", post_chunked(b"5\r\nhelloXX\r\n0\r\n\r\n")),
    ("te_chunk_data_missing_crlf", post_chunked(b"5\r\nhello0\r\n\r\n")),
    ("te_chunk_size_bare_cr", post_chunked(b"5\rhello\r\n0\r\n\r\n")),
    ("te_chunk_size_plus_sign", post_chunked(b"+5\r\nhello\r\n0\r\n\r\n")),
    ("te_chunk_size_trailing_space", post_chunked(b"5 \r\nhello\r\n0\r\n\r\n")),
    ("te_chunk_bare_semicolon", post_chunked(b"5;\r\nhello\r\n0\r\n\r\n")),
    ("te_chunk_extension_empty_name", post_chunked(b"5;=b\r\nhello\r\n0\r\n\r\n")),
    # chunk-ext-name = token (RFC 9112 §7.1.1): "[" is a delimiter, not a tchar.
    ("te_chunk_extension_name_not_token", post_chunked(b"5;bad[=x\r\nhello\r\n0\r\n\r\n")),
    ("te_chunk_extension_space_in_value", post_chunked(b"5;a=b c\r\nhello\r\n0\r\n\r\n")),
    ("te_chunk_extension_open_quote", post_chunked(b'5;a="open\r\nhello\r\n0\r\n\r\n')),
    ("te_chunk_extension_nul", post_chunked(b"5;a=\x00\r\nhello\r\n0\r\n\r\n")),
    ("te_chunk_extension_bare_cr", post_chunked(b"5;a\rb\r\nhello\r\n0\r\n\r\n")),
    ("te_trailer_malformed", post_chunked(b"5\r\nhello\r\n0\r\nBad Trailer\r\n\r\n")),
    ("te_trailer_space_before_colon", post_chunked(b"5\r\nhello\r\n0\r\nX-A : 1\r\n\r\n")),
    ("te_trailer_obs_fold", post_chunked(b"5\r\nhello\r\n0\r\nX-A: 1\r\n folded\r\n\r\n")),
    ("te_trailer_nul", post_chunked(b"5\r\nhello\r\n0\r\nX-A: a\x00b\r\n\r\n")),
    # RFC 9112 §6.3 item 4: a request whose final coding is not chunked MUST get 400 + close.
    ("te_chunked_not_final", req(b"POST /echo HTTP/1.1", b"Transfer-Encoding: chunked, gzip",
                                 body=chunked(b"hello"))),
    ("te_gzip_only", req(b"POST /echo HTTP/1.1", b"Transfer-Encoding: gzip")),
    ("te_identity", req(b"POST /echo HTTP/1.1", b"Transfer-Encoding: identity")),
    ("te_identity_with_cl", req(b"POST /echo HTTP/1.1", b"Transfer-Encoding: identity",
                                b"Content-Length: 5", body=b"hello")),
    ("te_empty_value", req(b"POST /echo HTTP/1.1", b"Transfer-Encoding: ")),
    ("te_chunked_with_parameter", req(b"POST /echo HTTP/1.1",
                                      b"Transfer-Encoding: chunked;foo=bar",
                                      body=chunked(b"hello"))),
    # RFC 9112 §6.1: chunked MUST NOT be applied more than once.
    ("te_chunked_twice_in_list", req(b"POST /echo HTTP/1.1",
                                     b"Transfer-Encoding: chunked, chunked",
                                     body=chunked(chunked(b"hello")))),
    ("te_chunked_twice_in_lines", req(b"POST /echo HTTP/1.1", b"Transfer-Encoding: chunked",
                                      b"Transfer-Encoding: chunked",
                                      body=chunked(chunked(b"hello")))),
    ("te_chunked_then_identity_lines", req(b"POST /echo HTTP/1.1",
                                           b"Transfer-Encoding: chunked",
                                           b"Transfer-Encoding: identity",
                                           body=chunked(b"hello"))),
    # RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 request means faulty framing: close.
    ("te_in_http10", b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
                     + chunked(b"hello")),
    ("te_in_http10_with_cl", b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n"
                             b"Content-Length: 5\r\n\r\nhello"),
    # RFC 9112 §6.1: an unknown transfer coding SHOULD get 501 (400 if chunked isn't last).
    ("te_unknown_coding", req(b"POST /echo HTTP/1.1", b"Transfer-Encoding: gzip, chunked",
                              body=chunked(b"hello")), (501, 400)),
    ("te_unknown_coding_only", req(b"POST /echo HTTP/1.1", b"Transfer-Encoding: xchunked",
                                   body=chunked(b"hello")), (501, 400)),
    # RFC 9112 §7.1.1: a server ought to limit chunk extensions.
    ("te_chunk_extension_64k", post_chunked(b"5;a=" + b"x" * 70000 + b"\r\nhello\r\n0\r\n\r\n"),
     (400, 413, 431)),
    ("te_trailer_10000_fields",
     post_chunked(b"5\r\nhello\r\n0\r\n" + b"".join(b"T%d: v\r\n" % i for i in range(10000))
                + b"\r\n"), (400, 413, 431)),
])

add_lenient([
    # RFC 9112 §2.2: bare LF MAY be accepted as a line terminator, in chunked framing too.
    ("te_chunk_size_bare_lf", post_chunked(b"5\nhello\r\n0\r\n\r\n"), b"hello"),
    ("te_chunk_data_bare_lf", post_chunked(b"5\r\nhello\n0\r\n\r\n"), b"hello"),
    ("te_last_chunk_bare_lf", post_chunked(b"5\r\nhello\r\n0\n\r\n"), b"hello"),
    ("te_final_crlf_bare_lf", post_chunked(b"5\r\nhello\r\n0\r\n\n"), b"hello"),
])


@case
def te_last_chunk_missing():
    # Without the last chunk the body is not complete: the server waits (RFC 9112 §7.1).
    unanswered(post_chunked(b"5\r\nhello\r\n"))


@case
def te_final_crlf_missing():
    # The trailer section ends with an empty line; until it comes the body is not complete.
    unanswered(post_chunked(b"5\r\nhello\r\n0\r\n"))


@case
def te_half_close_before_last_chunk():
    half_closed_before_complete(post_chunked(b"5\r\nhello\r\n"))


@case
def te_trailer_fields_not_merged():
    # RFC 9110 §6.5.1-2: a trailer field joins the header section only where its definition
    # says how; Content-Type, Host and unknown fields never do. The echo keeps the header's
    # Content-Type, and /headers lists no field that came in the trailer section.
    response = fetch(post_chunked(chunked(b"hello", trailer=b"Content-Type: text/evil\r\n"),
                                  b"Content-Type: text/plain"))
    check(response.body == b"hello" and response.get("Content-Type") == b"text/plain",
          f"a trailer changed the echo: {response.describe()}")
    raw = req(b"GET /headers HTTP/1.1", b"Transfer-Encoding: chunked",
              body=chunked(b"hello", trailer=b"Host: evil.example\r\nX-Trailer: 1\r\n"))
    values = json.loads(fetch(raw).body)
    check(values.get("Host") == "testbed" and "X-Trailer" not in values,
          f"trailer fields merged into the header section: {values}")


# --- request smuggling (RFC 9112 §6.1, §6.3, §11.2) -----------------------------------------------

def ambiguous(raw, count_after=1):
    """CL and TE together: RFC 9112 §6.1 lets the server reject it or follow TE alone, but
    either way it MUST close the connection afterwards; nothing more may be answered."""
    result = exchange(raw + get(b"/plaintext") * count_after, 1 + count_after)
    response = result.first
    expect_status(response, 400, 200)
    check(len(result.responses) == 1, "a request after an ambiguous message was answered")
    check(result.closed, "the connection stayed open after Content-Length + Transfer-Encoding")
    return response


@case
def smuggle_cl_te():
    ambiguous(req(b"POST /echo HTTP/1.1", b"Content-Length: 4", b"Transfer-Encoding: chunked",
                  body=b"0\r\n\r\n"))


@case
def smuggle_te_cl():
    ambiguous(req(b"POST /echo HTTP/1.1", b"Transfer-Encoding: chunked", b"Content-Length: 30",
                  body=b"0\r\n\r\n"))


@case
def smuggle_cl_te_prefix():
    # The classic CL.TE: by Content-Length the trailing "G" would prefix the next request.
    response = ambiguous(req(b"POST /echo HTTP/1.1", b"Content-Length: 6",
                             b"Transfer-Encoding: chunked", body=b"0\r\n\r\nG"))
    check(response.status != 200 or response.body == b"", "TE was not the one followed")


@case
def smuggle_te_cl_embedded_request():
    # The classic TE.CL: by Content-Length the chunk's content would be a request of its own.
    inner = get(b"/json")
    response = ambiguous(req(b"POST /echo HTTP/1.1", b"Transfer-Encoding: chunked",
                             b"Content-Length: 4", body=chunked(inner)))
    check(response.status != 200 or response.body == inner, "TE was not the one followed")


@case
def smuggle_cl_te_identical_lengths():
    ambiguous(req(b"POST /echo HTTP/1.1", b"Content-Length: 5", b"Content-Length: 5",
                  b"Transfer-Encoding: chunked", body=b"0\r\n\r\n"))


# Spellings a recipient still reads as chunked (coding names are case-insensitive, OWS is not
# part of the value, empty list elements are ignored: RFC 9112 §7, RFC 9110 §5.5, §5.6.1) do
# not escape the rule for Content-Length alongside Transfer-Encoding.
for name, value in (("smuggle_cl_te_coding_capitalised", b"Chunked"),
                    ("smuggle_cl_te_leading_empty_element", b", chunked"),
                    ("smuggle_cl_te_trailing_empty_element", b"chunked,"),
                    ("smuggle_cl_te_tab_before_coding", b"\tchunked"),
                    ("smuggle_cl_te_space_after_coding", b"chunked ")):
    add(name, lambda value=value: ambiguous(req(
        b"POST /echo HTTP/1.1", b"Content-Length: 5", b"Transfer-Encoding: " + value,
        body=chunked(b"hello"))))


@case
def smuggle_te_with_invalid_content_length():
    # Transfer-Encoding overrides a Content-Length, even one that is not 1*DIGIT (RFC 9112
    # §6.3 items 3 and 5): refused, or read as chunked and closed. Either way the request
    # after the last chunk is never answered.
    body = b"0\r\n\r\n" + get(b"/json")
    for length in (b"+%d" % len(body), b"%dx" % len(body)):
        ambiguous(req(b"POST /echo HTTP/1.1", b"Content-Length: " + length,
                      b"Transfer-Encoding: chunked", body=body))


def te_obfuscation(line, *codes):
    """An obfuscated Transfer-Encoding with a Content-Length: never read as just the CL body
    (that is how the front and back end of a smuggling pair come to disagree)."""
    raw = (b"POST /echo HTTP/1.1\r\nHost: t\r\n" + line + b"\r\nContent-Length: 5\r\n\r\n"
           b"hello")
    return lambda: rejected(raw, *codes)


for name, line, codes in (
        ("smuggle_te_space_before_colon", b"Transfer-Encoding : chunked", ()),
        ("smuggle_te_xchunked", b"Transfer-Encoding: xchunked", (400, 501)),
        ("smuggle_te_vertical_tab_after", b"Transfer-Encoding: chunked\x0b", ()),
        ("smuggle_te_vertical_tab_before", b"Transfer-Encoding: \x0bchunked", ()),
        ("smuggle_te_form_feed", b"Transfer-Encoding: chunked\x0c", ()),
        ("smuggle_te_nul", b"Transfer-Encoding: chunked\x00", ()),
        ("smuggle_te_obs_fold", b"Transfer-Encoding:\r\n chunked", ()),
        ("smuggle_te_indented_line", b"X-Foo: bar\r\n Transfer-Encoding: chunked", ()),
        ("smuggle_te_inner_space", b"Transfer-Encoding: chu nked", (400, 501)),
        ("smuggle_te_quoted", b'Transfer-Encoding: "chunked"', (400, 501)),
        ("smuggle_te_trailing_comma_token", b"Transfer-Encoding: chunked, x", (400, 501)),
        ("smuggle_te_duplicate_lines", b"Transfer-Encoding: chunked\r\nTransfer-Encoding: x",
         (400, 501))):
    add(name, te_obfuscation(line, *codes))


@case
def smuggle_pipeline_after_rejection():
    # After a framing error nothing that follows is trusted: no second response.
    raw = (req(b"POST /echo HTTP/1.1", b"Content-Length: 5", b"Content-Length: 6",
               body=b"hello!") + get(b"/plaintext"))
    result = exchange(raw, 2)
    check(len(result.responses) == 1, "a request after a rejected one was answered")
    expect_status(result.first, 400)


# --- Expect (RFC 9110 §10.1.1, §15.2) -------------------------------------------------------------

def expect_continue(head, body, server="main"):
    """Sends `head`, waits for the interim 100, then sends `body`; the final response."""
    with Connection(server) as conn:
        conn.send(head)
        check(conn.readable(2.0), "no 100 Continue within 2 s of a 100-continue expectation")
        interim = conn.read_message("GET", False)
        expect_status(interim, 100)
        conn.send(body)
        response = conn.read_response()
        check(response is not None, "the connection closed after 100 Continue")
        return response


@case
def expect_100_continue():
    head = req(b"POST /echo HTTP/1.1", b"Content-Length: 5", b"Expect: 100-continue")
    response = expect_continue(head, b"hello")
    check(response.status == 200 and response.body == b"hello", response.describe())


@case
def expect_100_continue_case_insensitive():
    head = req(b"POST /echo HTTP/1.1", b"Content-Length: 5", b"Expect: 100-Continue")
    check(expect_continue(head, b"hello").body == b"hello", "echo after 100 failed")


@case
def expect_100_continue_chunked():
    head = req(b"POST /echo HTTP/1.1", b"Transfer-Encoding: chunked", b"Expect: 100-continue")
    check(expect_continue(head, chunked(b"hello")).body == b"hello", "echo after 100 failed")


@case
def expect_body_sent_without_waiting():
    # A client need not wait for the 100 (RFC 9110 §10.1.1); a server that has the content
    # already may omit it, and testbed does, so the first status line is the answer.
    raw = req(b"POST /echo HTTP/1.1", b"Content-Length: 5", b"Expect: 100-continue",
              body=b"hello")
    response = accepted(raw, body=b"hello")
    check(not response.interim, "100 Continue for a body already received")


@case
def expect_on_bodiless_get():
    response = accepted(get(b"/plaintext", b"Expect: 100-continue"), body=HELLO)
    check(len(response.interim) <= 1, "more than one 100")


@case
def expect_over_limit_gets_413_without_100():
    # RFC 9110 §10.1.1: a server that will refuse the content answers at once, without 100.
    raw = req(b"POST /echo HTTP/1.1", b"Content-Length: 5000", b"Expect: 100-continue")
    response = rejected(raw, 413, server="small")
    check(not response.interim, "100 Continue before a 413")


@case
def expect_over_default_limit():
    raw = req(b"POST /echo HTTP/1.1", b"Content-Length: 100000000", b"Expect: 100-continue")
    response = rejected(raw, 413)
    check(not response.interim, "100 Continue before a 413")


@case
def expect_unknown_expectation():
    # RFC 9110 §10.1.1: an expectation other than 100-continue MAY get 417.
    for value in (b"200-ok", b"100-continue, foo"):
        response = exchange(req(b"POST /echo HTTP/1.1", b"Content-Length: 5",
                                b"Expect: " + value, body=b"hello")).first
        expect_status(response, 417)


@case
def expect_ignored_in_http10():
    # RFC 9110 §10.1.1: a 100-continue expectation in HTTP/1.0 MUST be ignored, and no 1xx
    # may be sent to an HTTP/1.0 client (RFC 9110 §15.2).
    with Connection() as conn:
        conn.send(b"POST /echo HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        closed, extra = conn.linger(0.7)
        check(not extra, f"sent to an HTTP/1.0 client before its body: {extra[:60]!r}")
        conn.send(b"hello")
        response = conn.read_response(http10=True)
        check(response is not None and response.body == b"hello", "no echo")
        check(not response.interim, "a 1xx to an HTTP/1.0 client")


@case
def expect_with_not_found():
    # 100 may come first or not; either way the body is consumed and the connection usable.
    accepted(req(b"POST /nope HTTP/1.1", b"Content-Length: 5", b"Expect: 100-continue",
                 body=b"hello"), 404)


# --- HEAD (RFC 9110 §9.3.2) -----------------------------------------------------------------------

def head_matches_get(target, *fields):
    """HEAD gets GET's status and fields (but Date and per-response values) and no body."""
    got = fetch(get(target, *fields))
    head = fetch(req(b"HEAD " + target + b" HTTP/1.1", *fields), method="HEAD")
    strip = lambda r: [(n.lower(), v) for n, v in r.fields if n.lower() != "date"]
    check(got.status == head.status, f"HEAD {head.status}, GET {got.status}")
    check(strip(got) == strip(head), f"HEAD fields {strip(head)} differ from GET's {strip(got)}")
    return got, head


for name, target, fields in (
        ("head_plaintext", b"/plaintext", ()),
        ("head_json", b"/json", ()),
        ("head_static", b"/static/a.txt", ()),
        ("head_gzip", b"/bytes/5000", (b"Accept-Encoding: gzip",)),
        ("head_large_gzip", b"/bytes/100000", (b"Accept-Encoding: gzip",)),
        ("head_not_found", b"/nope", ()),
        ("head_redirect", b"/redirect/2", ()),
        ("head_stream", b"/stream/3", ()),
        ("head_root", b"/", ())):
    add(name, lambda target=target, fields=fields: head_matches_get(target, *fields))


# An error answering a HEAD request has no content either (RFC 9110 §9.3.2, RFC 9112 §6.3).
for name, raw, codes in (
        ("head_error_missing_host", b"HEAD /plaintext HTTP/1.1\r\n\r\n", (400,)),
        ("head_error_bad_field", with_field(b"X : 1").replace(b"GET", b"HEAD", 1), (400,)),
        ("head_error_bad_content_length",
         req(b"HEAD /plaintext HTTP/1.1", b"Content-Length: abc"), (400,)),
        ("head_error_unknown_expectation",
         req(b"HEAD /plaintext HTTP/1.1", b"Expect: 200-ok"), (417,)),
        ("head_error_body_too_large",
         req(b"HEAD /plaintext HTTP/1.1", b"Content-Length: 99999999999"), (413,))):
    add(name, lambda raw=raw, codes=codes: rejected(raw, *codes, method="HEAD"))


@case
def head_content_length_is_get_length():
    # RFC 9110 §8.6: Content-Length on HEAD is the length GET would send.
    _, head = head_matches_get(b"/plaintext")
    check(head.get("Content-Length") == b"13", f"HEAD Content-Length {head.get('Content-Length')}")


@case
def head_pipelined():
    raw = (req(b"HEAD /plaintext HTTP/1.1") + req(b"HEAD /stream/3 HTTP/1.1")
           + req(b"HEAD /bytes/100000 HTTP/1.1", b"Accept-Encoding: gzip") + get(b"/plaintext"))
    responses = replies(raw, 4, methods=["HEAD", "HEAD", "HEAD", "GET"])
    check(responses[3].body == HELLO, "a HEAD response carried a body")


# --- status codes and endpoints (RFC 9110 §15) ----------------------------------------------------

@case
def status_204_no_body():
    # RFC 9110 §15.3.5: 204 has no content (nor Content-Length, checked for every response).
    accepted(get(b"/status/204"), 204, body=b"")


@case
def status_304_no_body():
    accepted(get(b"/status/304"), 304, body=b"")


@case
def status_required_fields():
    # What each status requires alongside it (RFC 9110 §15.4, §15.5.2, §15.5.6, §15.5.8,
    # §15.5.17).
    for code, field in ((301, "Location"), (302, "Location"), (303, "Location"),
                        (307, "Location"), (308, "Location"), (401, "WWW-Authenticate"),
                        (405, "Allow"), (407, "Proxy-Authenticate"), (416, "Content-Range")):
        response = fetch(get(b"/status/%d" % code))
        expect_status(response, code)
        check(response.get(field) is not None, f"{code} without {field}")


@case
def status_uncommon_codes():
    for code in (203, 226, 418, 422, 451, 499, 599):
        response = fetch(get(b"/status/%d" % code))
        expect_status(response, code)


@case
def status_informational_never_final():
    # A 1xx cannot be a final response: the reader here would wait for the final one.
    response = fetch(get(b"/status/100"))
    check(response.status >= 200, f"{response.status} as a final status")


@case
def status_redirect_chain():
    with Connection() as conn:
        target = b"/redirect/3"
        for hops in range(5):
            conn.send(get(target))
            response = conn.read_response()
            if response.status == 200:
                break
            expect_status(response, 302)
            target = response.get("Location")
        check(response.status == 200 and response.body == b"done" and hops == 3,
              f"redirect chain ended with {response.describe()} after {hops} hops")


@case
def status_delay():
    start = time.monotonic()
    response = fetch(get(b"/delay/200"))
    check(response.body == b"delayed 200 ms", response.describe())
    check(time.monotonic() - start >= 0.19, "answered before the delay")


@case
def status_stream_chunked():
    response = fetch(get(b"/stream/5"))
    check(response.framing == "chunked", f"framing {response.framing}")
    check(response.body == b"".join(b"line %d\n" % i for i in range(5)), response.describe())


@case
def status_stream_with_delay():
    start = time.monotonic()
    response = fetch(get(b"/stream/3?delay_ms=60"))
    check(response.body == b"line 0\nline 1\nline 2\n", response.describe())
    check(time.monotonic() - start >= 0.11, "lines not delayed")


@case
def status_stream_empty():
    check(fetch(get(b"/stream/0")).body == b"", "a body from /stream/0")


@case
def status_bytes_identity():
    for count in (0, 1, 100, 65536, 65537, 200000):
        response = fetch(get(b"/bytes/%d" % count))
        check(response.body == bytes_body(count), f"/bytes/{count}: {len(response.body)} bytes")


@case
def status_json():
    response = fetch(get(b"/json"))
    check(response.get("Content-Type").startswith(b"application/json"), response.describe())
    check(json.loads(response.body) == {"message": "Hello, World!"}, response.describe())


@case
def status_plaintext():
    response = fetch(get(b"/plaintext"))
    check(response.get("Content-Type") == b"text/plain" and response.body == HELLO,
          response.describe())


# --- connection management (RFC 9112 §9) ----------------------------------------------------------

def closes_after(connection_value):
    raw = get(b"/plaintext", b"Connection: " + connection_value) + get(b"/json")
    result = exchange(raw, 2)
    check(len(result.responses) == 1, "a request after 'Connection: close' was answered")
    expect_status(result.first, 200)
    check(result.closed, "the connection stayed open after 'Connection: close'")
    # RFC 9112 §9.6: the server SHOULD send "close" in its final response.
    check(b"close" in result.first.tokens("Connection"), "no 'Connection: close' in response")


for name, value in (("conn_close", b"close"), ("conn_close_uppercase", b"CLOSE"),
                    ("conn_close_in_list", b"foo, close"),
                    ("conn_close_with_keep_alive", b"keep-alive, close")):
    add(name, lambda value=value: closes_after(value))


@case
def conn_close_and_keep_alive_lines():
    raw = get(b"/plaintext", b"Connection: keep-alive", b"Connection: close")
    check(exchange(raw).closed, "close in a second Connection line was missed")


@case
def conn_many_sequential_requests():
    with Connection() as conn:
        for index in range(100):
            conn.send(post(b"/echo", b"%d" % index))
            response = conn.read_response()
            check(response is not None and response.body == b"%d" % index,
                  f"request {index}: {response and response.describe()}")


@case
def conn_concurrent_clients():
    def client(index):
        with Connection() as conn:
            for round_ in range(5):
                body = b"%d-%d" % (index, round_)
                conn.send(post(b"/echo", body))
                response = conn.read_response()
                check(response is not None and response.body == body, f"client {index}")
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        for future in [pool.submit(client, index) for index in range(40)]:
            future.result()


@case
def conn_half_close_after_request():
    # A client may shut down its sending side once the request is out.
    with Connection() as conn:
        conn.send(post(b"/echo", b"hello"))
        conn.sock.shutdown(socket.SHUT_WR)
        response = conn.read_response()
        check(response is not None and response.body == b"hello", "no response after FIN")


@case
def conn_abort_mid_request():
    # Connections reset in the middle of a head or body leave the server serving.
    for raw in (b"GET /plaintext HTTP/1.1\r\nHost:", with_length(b"100", b"abc"),
                post_chunked(b"5\r\nhel")):
        for _ in range(5):
            sock = socket.create_connection((HOST, SERVERS["main"].port))
            sock.sendall(raw)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
    check(fetch(get(b"/plaintext")).body == HELLO, "the server stopped serving")


# --- pipelining (RFC 9112 §9.3.2) -----------------------------------------------------------------

@case
def pipeline_in_order():
    raw = get(b"/plaintext") + get(b"/json") + get(b"/redirect/0")
    bodies = [r.body for r in replies(raw, 3)]
    check(bodies == [HELLO, b'{"message":"Hello, World!"}', b"done"], f"bodies {bodies}")


@case
def pipeline_twenty_mixed():
    raws, expected = [], []
    for index in range(20):
        if index % 3 == 0:
            raws.append(post(b"/echo", b"body %d" % index))
        elif index % 3 == 1:
            raws.append(post_chunked(chunked(b"chunk %d" % index)))
        else:
            raws.append(get(b"/bytes/%d" % index))
        expected.append(b"body %d" % index if index % 3 == 0 else
                        b"chunk %d" % index if index % 3 == 1 else bytes_body(index))
    bodies = [r.body for r in replies(b"".join(raws), 20)]
    check(bodies == expected, "responses out of order or wrong")


@case
def pipeline_stops_after_bad_request():
    raw = get(b"/plaintext") + b"GET  /json HTTP/1.1\r\nHost: t\r\n\r\n" + get(b"/plaintext")
    result = exchange(raw, 3)
    check([r.status for r in result.responses] == [200, 400],
          f"statuses {[r.status for r in result.responses]}, expected [200, 400]")
    check(result.closed, "the connection stayed open after the 400")


@case
def pipeline_stops_after_missing_host():
    raw = get(b"/plaintext") + b"GET /json HTTP/1.1\r\n\r\n" + get(b"/plaintext")
    result = exchange(raw, 3)
    check([r.status for r in result.responses] == [200, 400],
          f"statuses {[r.status for r in result.responses]}, expected [200, 400]")


@case
def pipeline_continues_after_client_errors():
    raw = get(b"/nope") + req(b"DELETE /plaintext HTTP/1.1") + get(b"/plaintext")
    statuses = [r.status for r in replies(raw, 3)]
    check(statuses == [404, 405, 200], f"statuses {statuses}")


@case
def pipeline_byte_at_a_time():
    with Connection() as conn:
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for octet in post_chunked(chunked(b"hello")) + get(b"/plaintext"):
            conn.send(bytes([octet]))
        result = conn.collect(2)
        check([r.body for r in result.responses] == [b"hello", HELLO], "byte-wise parse failed")


@case
def pipeline_thousand_requests():
    bodies = [r.body for r in replies(get(b"/plaintext") * 1000, 1000)]
    check(bodies == [HELLO] * 1000, "a pipelined response was wrong")


@case
def pipeline_split_inside_crlf():
    with Connection() as conn:
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for piece in (b"GET /plaintext HTTP/1.1\r", b"\nHost: t\r", b"\n\r", b"\n"):
            conn.send(piece)
            time.sleep(0.05)
        check(conn.read_response().body == HELLO, "CRLF split across packets broke parsing")


@case
def pipeline_split_between_sends():
    with Connection() as conn:
        raw = get(b"/plaintext") + get(b"/json")
        conn.send(raw[:len(raw) - 10])
        time.sleep(0.2)
        conn.send(raw[len(raw) - 10:])
        check(len(conn.collect(2).responses) == 2, "a split request was not completed")


@case
def pipeline_after_large_response():
    large, small = replies(get(b"/bytes/1000000") + get(b"/plaintext"), 2)
    check(large.body == bytes_body(1000000), "large body wrong")
    check(small.body == HELLO, "the response after a large one is wrong")


# --- response framing sweep (RFC 9112 §6; RFC 9110 §6.6.1) ----------------------------------------

@case
def framing_sweep():
    # Every response is checked as it is parsed; this walks the endpoints with each method,
    # version and coding, so that each framing path is seen at least once.
    targets = (b"/plaintext", b"/json", b"/headers", b"/status/204", b"/status/304",
               b"/status/500", b"/redirect/1", b"/stream/2", b"/bytes/5000", b"/bytes/70000",
               b"/static/a.txt", b"/static/empty.txt", b"/static/nope", b"/cookies", b"/form",
               b"/nope", b"/echo")
    for target in targets:
        for method in (b"GET", b"HEAD"):
            for version in (b"HTTP/1.1", b"HTTP/1.0"):
                for coding in (b"gzip", b"identity"):
                    raw = (method + b" " + target + b" " + version + b"\r\nHost: t\r\n"
                           b"Accept-Encoding: " + coding + b"\r\n\r\n")
                    exchange(raw, methods=[method.decode()], linger=0)


@case
def framing_error_responses_have_date():
    for raw in (b"GET  / HTTP/1.1\r\nHost: t\r\n\r\n", get(b"/" + b"a" * 17000),
                with_field(b"X: " + b"v" * 70000), with_length(b"99999999999", b"")):
        response = exchange(raw).first
        check(response.get("Date") is not None, f"no Date on {response.status}")


# --- methods and OPTIONS (RFC 9110 §9, §15.5.6) ---------------------------------------------------

def method_not_allowed(line, missing, present=b"get"):
    response = accepted(req(line + b" HTTP/1.1", b"Content-Length: 0"), 405)
    allowed = response.tokens("Allow")
    check(present in allowed and missing not in allowed, f"Allow: {response.get('Allow')}")


for name, line, missing, present in (
        ("method_405_delete", b"DELETE /plaintext", b"delete", b"get"),
        ("method_405_post", b"POST /plaintext", b"post", b"get"),
        ("method_405_get_on_echo", b"GET /echo", b"get", b"post"),
        ("method_405_patch_on_echo", b"PATCH /echo", b"patch", b"put"),
        ("method_405_put_on_static", b"PUT /static/a.txt", b"put", b"get"),
        ("method_405_delete_on_root", b"DELETE /", b"delete", b"post"),
        ("method_405_trace_on_root", b"TRACE /", b"trace", b"get")):
    add(name, lambda line=line, missing=missing, present=present:
        method_not_allowed(line, missing, present))


@case
def method_options_resource():
    response = accepted(req(b"OPTIONS /plaintext HTTP/1.1"), 204)
    check({b"get", b"head"} <= set(response.tokens("Allow")), f"Allow: {response.get('Allow')}")


@case
def method_trace_not_echoed():
    # RFC 9110 §9.3.8: TRACE would reflect credentials; refused here.
    response = fetch(req(b"TRACE /plaintext HTTP/1.1", b"Authorization: Bearer secret"))
    expect_status(response, 405, 501)
    check(b"secret" not in response.body, "TRACE reflected the Authorization field")


@case
def method_put_echo():
    accepted(req(b"PUT /echo HTTP/1.1", b"Content-Length: 3", body=b"abc"), body=b"abc")


@case
def method_range_ignored_on_post():
    # RFC 9110 §14.2: range handling is defined for GET only; Range on POST MUST be ignored.
    accepted(req(b"POST /echo HTTP/1.1", b"Range: bytes=0-1", b"Content-Length: 5",
                 body=b"hello"), body=b"hello")


# --- limits on the small instance (--max-body 1000, --max-header 2048) ----------------------------

add_rejects([
    ("limit_body_over", with_length(b"1001", b"b" * 1001), (413,)),
    ("limit_body_over_chunked", post_chunked(chunked(*[b"c" * 256] * 5)), (413,)),
    ("limit_target", get(b"/" + b"a" * 2100), (414, 431)),
], server="small")


@case
def limit_body_over_with_request_inside():
    # Refused unread: the rest of the body, a request here, is never taken for a request.
    body = b"y" * 1001 + get(b"/json")
    rejected(with_length(b"%d" % len(body), body), 413, server="small")


@case
def limit_body_at_limit():
    response = fetch(with_length(b"1000", b"b" * 1000), server="small")
    check(response.status == 200 and response.body == b"b" * 1000, response.describe())


@case
def limit_body_chunked_under():
    response = fetch(post_chunked(chunked(*[b"c" * 256] * 3)), server="small")
    check(response.status == 200 and response.body == b"c" * 768, response.describe())


@case
def limit_crlf_flood():
    # Empty lines before a request are tolerated, but not without bound.
    result = exchange(b"\r\n" * 100000)
    check(result.closed, "100,000 empty lines did not end the connection")
    check(not result.responses or result.first.status == 400, "not a 400")


# --- timeouts on the small instance (header 2 s, body 2 s, idle 3 s) ------------------------------

def cut_off(conn, start, low, high, sender=None):
    """Waits for the server to end the connection (calling `sender` every 0.5 s meanwhile);
    it must do so between `low` and `high` seconds after `start`, silently or with a 408."""
    while not conn.readable(0.5):
        check(time.monotonic() - start < high, f"still open after {high} s")
        if sender and not sender():
            break
    elapsed = time.monotonic() - start
    response = conn.read_response()
    if response is not None:
        expect_status(response, 408)  # RFC 9110 §15.5.9
        check(conn.closed_cleanly(), "the connection stayed open after a 408")
    check(low <= elapsed <= high, f"cut off after {elapsed:.1f} s, expected {low}-{high} s")


@case(group="slow")
def timeout_slowloris_headers():
    # One field every half second never completes the head: the header timeout runs from
    # the first byte, however busy the client looks.
    with Connection("small") as conn:
        start = time.monotonic()
        conn.send(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n")
        fields = (b"X-Trickle-%d: 1\r\n" % index for index in range(100))
        cut_off(conn, start, 1.5, 6.0, sender=lambda: conn.send(next(fields)))


@case(group="slow")
def timeout_stalled_head():
    with Connection("small") as conn:
        start = time.monotonic()
        conn.send(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n")
        cut_off(conn, start, 1.5, 6.0)


@case(group="slow")
def timeout_stalled_request_line():
    with Connection("small") as conn:
        start = time.monotonic()
        conn.send(b"GET /plain")
        cut_off(conn, start, 1.5, 6.0)


@case(group="slow")
def timeout_stalled_body():
    with Connection("small") as conn:
        conn.send(with_length(b"100", b"abc"))
        cut_off(conn, time.monotonic(), 1.5, 6.0)


@case(group="slow")
def timeout_stalled_chunked_body():
    with Connection("small") as conn:
        conn.send(post_chunked(b"5\r\nhello\r\n"))
        cut_off(conn, time.monotonic(), 1.5, 6.0)


@case(group="slow")
def timeout_trickled_body():
    # The slow-POST form of slowloris: a byte every half second never stalls the body, but
    # averages far below the minimum rate (240 bytes/s after a 5 s grace) and is cut off.
    with Connection() as conn:
        start = time.monotonic()
        conn.send(with_length(b"1000", b"a"))
        cut_off(conn, start, 4.5, 9.0, sender=lambda: conn.send(b"a"))


@case(group="slow")
def timeout_idle_keep_alive():
    # An idle persistent connection is closed after --idle-timeout, silently: a 408 with no
    # request pending would be read as the answer to the client's next request.
    with Connection("small") as conn:
        conn.send(get(b"/plaintext"))
        check(conn.read_response().body == HELLO, "no response")
        start = time.monotonic()
        closed, extra = conn.linger(9.0)
        elapsed = time.monotonic() - start
        check(not extra, f"bytes on an idle connection: {extra[:60]!r}")
        check(closed and 2.0 <= elapsed <= 8.0, f"closed={closed} after {elapsed:.1f} s, "
                                                "expected a close 2-8 s after the response")


@case(group="slow")
def timeout_silent_connection():
    with Connection("small") as conn:
        cut_off(conn, time.monotonic(), 1.5, 8.0)


@case(group="slow")
def timeout_slow_handler_not_cut():
    # Time spent producing the response is not the client's: no header or body timeout.
    with Connection("small", timeout=10) as conn:
        conn.send(get(b"/delay/3000"))
        response = conn.read_response()
        check(response is not None and response.body == b"delayed 3000 ms", "cut off")


@case(group="slow")
def timeout_steady_head_within_limit():
    with Connection("small") as conn:
        for piece in (b"GET /plaintext HTTP/1.1\r\n", b"Host: t\r\n", b"X-A: 1\r\n", b"\r\n"):
            conn.send(piece)
            time.sleep(0.4)
        check(conn.read_response().body == HELLO, "a head completed within 2 s was refused")


@case(group="slow")
def timeout_steady_body_within_limit():
    with Connection("small") as conn:
        conn.send(with_length(b"9", b""))
        for piece in (b"abc", b"def", b"ghi"):
            time.sleep(0.7)
            conn.send(piece)
        check(conn.read_response().body == b"abcdefghi", "a steadily sent body was refused")


@case(group="slow")
def timeout_default_idle_is_longer():
    # The default instance keeps an idle connection for 30 s: still usable after 3.5 s.
    with Connection() as conn:
        conn.send(get(b"/plaintext"))
        conn.read_response()
        closed, extra = conn.linger(3.5)
        check(not closed and not extra, "the default instance closed an idle connection")
        conn.send(get(b"/plaintext"))
        check(conn.read_response().body == HELLO, "no response after 3.5 s idle")


# --- static files (RFC 9110 §8.8, §13, §14) -------------------------------------------------------

ETAG_CACHE = {}


def static_etag():
    if "a" not in ETAG_CACHE:
        ETAG_CACHE["a"] = fetch(get(b"/static/a.txt")).get("ETag")
    return ETAG_CACHE["a"]


def static(target=b"/static/a.txt", *fields, method="GET"):
    return fetch(req(method.encode() + b" " + target + b" HTTP/1.1", *fields), method=method)


@case
def static_get():
    response = static()
    check(response.status == 200 and response.body == A_TXT, response.describe())
    check(response.get("Content-Length") == b"44", "Content-Length is not 44")
    check(response.get("Content-Type").startswith(b"text/plain"), response.describe())
    check(response.get("Last-Modified") == MTIME_HTTP,
          f"Last-Modified {response.get('Last-Modified')}")
    check(re.fullmatch(rb'"[\x21\x23-\x7e\x80-\xff]*"', response.get("ETag") or b""),
          f"not a strong entity-tag: {response.get('ETag')}")  # RFC 9110 §8.8.3
    check(response.get("Accept-Ranges") == b"bytes", "no Accept-Ranges: bytes")


def same_validators(response):
    """RFC 9110 §15.3.7 (206), §15.4.5 (304): ETag and Vary as the 200 would send them."""
    full = static()
    for name in ("ETag", "Vary"):
        check(response.get(name) == full.get(name),
              f"{name} {response.get(name)} differs from the 200's {full.get(name)}")


def conditional(field, status):
    response = static(b"/static/a.txt", field)
    expect_status(response, status)
    if status == 200:
        check(response.body == A_TXT, response.describe())
    elif status == 304:
        same_validators(response)


for name, field, status in (
        # RFC 9110 §13.1.2: If-None-Match uses the weak comparison; "*" matches any.
        ("static_if_none_match", lambda: b"If-None-Match: " + static_etag(), 304),
        ("static_if_none_match_weak", lambda: b"If-None-Match: W/" + static_etag(), 304),
        ("static_if_none_match_list", lambda: b'If-None-Match: "x", ' + static_etag(), 304),
        ("static_if_none_match_star", lambda: b"If-None-Match: *", 304),
        ("static_if_none_match_other", lambda: b'If-None-Match: "other"', 200),
        # RFC 9110 §13.1.3: not modified since a date at or after Last-Modified.
        ("static_if_modified_since_equal", lambda: b"If-Modified-Since: " + MTIME_HTTP, 304),
        ("static_if_modified_since_later",
         lambda: b"If-Modified-Since: Sat, 01 Jun 2024 00:00:00 GMT", 304),
        ("static_if_modified_since_earlier",
         lambda: b"If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT", 200),
        # RFC 9110 §5.6.7: recipients MUST accept the obsolete RFC 850 and asctime forms...
        ("static_if_modified_since_rfc850",
         lambda: b"If-Modified-Since: Tuesday, 02-Jan-24 03:04:05 GMT", 304),
        ("static_if_modified_since_asctime",
         lambda: b"If-Modified-Since: Tue Jan  2 03:04:05 2024", 304),
        # ... and ignore a value that is no HTTP-date (which is case-sensitive) or has more
        # than one member (RFC 9110 §13.1.3).
        ("static_if_modified_since_invalid", lambda: b"If-Modified-Since: yesterday", 200),
        ("static_if_modified_since_lowercase",
         lambda: b"If-Modified-Since: tue, 02 jan 2024 03:04:05 gmt", 200),
        ("static_if_modified_since_two_dates",
         lambda: b"If-Modified-Since: " + MTIME_HTTP + b", " + MTIME_HTTP, 200),
        # An entity-tag is quoted (RFC 9110 §8.8.3): a bare one matches nothing.
        ("static_if_none_match_unquoted",
         lambda: b"If-None-Match: " + static_etag().strip(b'"'), 200),
        # RFC 9110 §13.1.1, §13.1.4: If-Match / If-Unmodified-Since failing give 412.
        ("static_if_match_other", lambda: b'If-Match: "other"', 412),
        ("static_if_match_same", lambda: b"If-Match: " + static_etag(), 200),
        ("static_if_match_weak_never_matches", lambda: b"If-Match: W/" + static_etag(), 412),
        ("static_if_unmodified_since_earlier",
         lambda: b"If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT", 412),
        ("static_if_unmodified_since_asctime",
         lambda: b"If-Unmodified-Since: Sun Nov  6 08:49:37 1994", 412),
        ("static_if_unmodified_since_equal", lambda: b"If-Unmodified-Since: " + MTIME_HTTP, 200)):
    add(name, lambda field=field, status=status: conditional(field(), status))


@case
def static_if_none_match_overrides_if_modified_since():
    # RFC 9110 §13.1.3: If-Modified-Since MUST be ignored when If-None-Match is present.
    response = static(b"/static/a.txt", b'If-None-Match: "other"',
                      b"If-Modified-Since: " + MTIME_HTTP)
    expect_status(response, 200)


@case
def static_if_none_match_on_head():
    expect_status(static(b"/static/a.txt", b"If-None-Match: " + static_etag(), method="HEAD"),
                  304)


def ranged(spec, status, body=None, content_range=None, *fields, target=b"/static/a.txt"):
    response = static(target, b"Range: " + spec, *fields)
    expect_status(response, status)
    if body is not None:
        check(response.body == body, f"body {response.body[:60]!r}, expected {body[:60]!r}")
    if content_range is not None:
        check(response.get("Content-Range") == content_range,
              f"Content-Range {response.get('Content-Range')}, expected {content_range}")
    if status == 206 and target == b"/static/a.txt":
        same_validators(response)
    return response


for name, spec, status, body, content_range in (
        # RFC 9110 §14.1.2, §14.4: the 206 carries the range and Content-Range.
        ("static_range_first_ten", b"bytes=0-9", 206, A_TXT[:10], b"bytes 0-9/44"),
        ("static_range_suffix", b"bytes=-5", 206, A_TXT[-5:], b"bytes 39-43/44"),
        ("static_range_suffix_longer_than_file", b"bytes=-100", 206, A_TXT, b"bytes 0-43/44"),
        ("static_range_open_ended", b"bytes=40-", 206, A_TXT[40:], b"bytes 40-43/44"),
        ("static_range_past_end_clipped", b"bytes=40-100", 206, A_TXT[40:], b"bytes 40-43/44"),
        ("static_range_single_byte", b"bytes=43-43", 206, A_TXT[43:], b"bytes 43-43/44"),
        ("static_range_whole", b"bytes=0-", 206, A_TXT, b"bytes 0-43/44"),
        # RFC 9110 §14.1.1, §15.5.17: unsatisfiable gets 416 with Content-Range: bytes */len.
        ("static_range_unsatisfiable", b"bytes=44-", 416, None, b"bytes */44"),
        ("static_range_far_past_end", b"bytes=100-200", 416, None, b"bytes */44"),
        ("static_range_zero_suffix", b"bytes=-0", 416, None, b"bytes */44"),
        # RFC 9110 §14.2: an unknown unit MUST be ignored; an invalid range may be.
        ("static_range_unknown_unit", b"items=0-9", 200, A_TXT, None),
        ("static_range_garbage", b"bytes=abc", 200, A_TXT, None)):
    add(name, lambda spec=spec, status=status, body=body, content_range=content_range:
        ranged(spec, status, body, content_range))


@case
def static_range_invalid_order():
    # last-pos < first-pos is invalid (RFC 9110 §14.1.1): ignored (200) or refused (416).
    response = static(b"/static/a.txt", b"Range: bytes=9-0")
    expect_status(response, 200, 416)


@case
def static_range_huge_numbers():
    # RFC 9110 §14.1.1: no overflow on long numerals; a server MAY ignore Range (§14.2).
    response = static(b"/static/a.txt", b"Range: bytes=0-99999999999999999999999")
    check(response.status in (200, 206) and response.body == A_TXT, response.describe())
    response = static(b"/static/a.txt", b"Range: bytes=99999999999999999999999-")
    expect_status(response, 200, 416)


@case
def static_range_many_overlapping():
    # RFC 9110 §14.2: a server MAY ignore or reject many overlapping ranges (a DoS vector).
    response = static(b"/static/a.txt", b"Range: bytes=" + b",".join([b"0-"] * 1000))
    expect_status(response, 200, 206, 416)
    check(len(response.body) <= 2 * len(A_TXT) + 1000, "ranges multiplied the response")


@case
def static_range_multiple():
    # Several ranges: 206 multipart/byteranges, or the whole file (a server MAY ignore Range).
    response = static(b"/static/a.txt", b"Range: bytes=0-1,5-6")
    expect_status(response, 200, 206)
    if response.status == 200:
        check(response.body == A_TXT, response.describe())
    else:
        check(response.get("Content-Type").startswith(b"multipart/byteranges"),
              response.describe())


@case
def static_range_if_range_current():
    ranged(b"bytes=0-9", 206, A_TXT[:10], b"bytes 0-9/44", b"If-Range: " + static_etag())


@case
def static_range_if_range_stale():
    # RFC 9110 §13.1.5: a validator that does not match means the whole representation.
    ranged(b"bytes=0-9", 200, A_TXT, None, b'If-Range: "stale"')


@case
def static_range_if_range_weak():
    # RFC 9110 §13.1.5: If-Range compares strongly, so a weak tag never keeps the range.
    ranged(b"bytes=0-9", 200, A_TXT, None, b"If-Range: W/" + static_etag())


@case
def static_range_if_range_date():
    ranged(b"bytes=0-9", 206, A_TXT[:10], b"bytes 0-9/44", b"If-Range: " + MTIME_HTTP)


@case
def static_range_ignored_on_head():
    # RFC 9110 §14.2: Range is defined for GET only and MUST be ignored otherwise.
    response = static(b"/static/a.txt", b"Range: bytes=0-9", method="HEAD")
    expect_status(response, 200)
    check(response.get("Content-Length") == b"44", response.describe())


@case
def static_range_not_compressed():
    # A 206 counts octets of the identity body: no content coding on it.
    response = ranged(b"bytes=0-9", 206, A_TXT[:10], b"bytes 0-9/44", b"Accept-Encoding: gzip")
    check(response.get("Content-Encoding") is None, "a compressed 206")


@case
def static_range_big_middle():
    data = BIG_DATA[0]
    ranged(b"bytes=1000000-1000999", 206, data[1000000:1001000],
           b"bytes 1000000-1000999/%d" % len(data), target=b"/static/big.bin")


@case
def static_big_file():
    response = static(b"/static/big.bin")
    check(response.body == BIG_DATA[0], f"{len(response.body)} bytes, differing")


@case
def static_big_file_gzip_accepted():
    response = static(b"/static/big.bin", b"Accept-Encoding: gzip")
    body = response.body
    if response.get("Content-Encoding") == b"gzip":
        body = gzip.decompress(body)
    check(body == BIG_DATA[0], "big.bin differs")


@case
def static_empty_file():
    response = static(b"/static/empty.txt")
    check(response.status == 200 and response.body == b"", response.describe())
    check(response.get("Content-Length") == b"0", "no Content-Length: 0")


@case
def static_empty_range():
    ranged(b"bytes=0-9", 416, None, b"bytes */0", target=b"/static/empty.txt")


@case
def static_empty_suffix_range():
    response = static(b"/static/empty.txt", b"Range: bytes=-5")
    expect_status(response, 200, 206)
    check(response.body == b"", response.describe())


@case
def static_subdirectory_file():
    response = static(b"/static/sub/index.html")
    check(response.status == 200 and response.body == b"<h1>index</h1>\n", response.describe())
    check(response.get("Content-Type").startswith(b"text/html"), response.describe())


@case
def static_directory_not_listed():
    for target in (b"/static/sub/", b"/static/sub", b"/static/"):
        response = static(target)
        expect_status(response, 301, 302, 403, 404)
        check(b"index.html" not in response.body, "a directory listing")


@case
def static_missing():
    expect_status(static(b"/static/nope.txt"), 404)
    expect_status(static(b"/static/a.txt/"), 404, 403)


@case
def static_percent_encoded_name():
    check(static(b"/static/%61.txt").body == A_TXT, "%61 is 'a'")


@case
def static_query_ignored():
    check(static(b"/static/a.txt?v=1").body == A_TXT, "a query changed the file")


@case
def static_dot_segment_inside_root():
    # RFC 3986 §5.2.4: /static/sub/../a.txt is /static/a.txt; refusing is safe too.
    response = static(b"/static/sub/../a.txt")
    expect_status(response, 200, 400, 403, 404)
    check(response.status != 200 or response.body == A_TXT, response.describe())


def traversal(target):
    """No path out of the static root: 400/403/404, never the file outside it."""
    response = static(target)
    expect_status(response, 400, 403, 404)
    check(SECRET not in response.body and b"root:" not in response.body,
          "a file outside the static root was served")


for name, target in (
        ("static_traversal_dot_dot", b"/static/../secret.txt"),
        ("static_traversal_deep", b"/static/../../../../../../etc/passwd"),
        ("static_traversal_encoded_dots", b"/static/%2e%2e/secret.txt"),
        ("static_traversal_encoded_uppercase", b"/static/%2E%2E/secret.txt"),
        ("static_traversal_encoded_slash", b"/static/..%2fsecret.txt"),
        ("static_traversal_all_encoded", b"/static/%2e%2e%2fsecret.txt"),
        ("static_traversal_from_subdirectory", b"/static/sub/../../secret.txt"),
        ("static_traversal_encoded_from_subdirectory", b"/static/sub/..%2f..%2fsecret.txt"),
        ("static_traversal_backslash", b"/static/..%5csecret.txt"),
        ("static_traversal_double_encoded", b"/static/%252e%252e/secret.txt"),
        ("static_traversal_absolute_path", b"/static//etc/passwd"),
        ("static_traversal_encoded_absolute", b"/static/%2fetc%2fpasswd"),
        ("static_traversal_nul", b"/static/a.txt%00.html")):
    add(name, lambda target=target: traversal(target))


# --- gzip (RFC 9110 §8.4, §12.5.3, §12.5.5) -------------------------------------------------------

def gzip_response(count, accept, *fields):
    response = fetch(get(b"/bytes/%d" % count, b"Accept-Encoding: " + accept, *fields))
    expect_status(response, 200)
    body = response.body
    if response.get("Content-Encoding") is not None:
        check(response.get("Content-Encoding") == b"gzip", response.describe())
        body = gzip.decompress(body)
    check(body == bytes_body(count), f"decoded body of {len(body)} bytes differs")
    # RFC 9110 §12.5.5: a response chosen by Accept-Encoding lists it in Vary.
    check(b"accept-encoding" in response.tokens("Vary"), f"Vary: {response.get('Vary')}")
    return response


def coded(accept, expected, count=5000):
    response = gzip_response(count, accept)
    coding = response.get("Content-Encoding")
    check(coding == expected, f"Accept-Encoding: {accept.decode()} gave {coding}")


for name, accept, expected in (
        ("gzip_accepted", b"gzip", b"gzip"),
        ("gzip_coding_case_insensitive", b"GZIP", b"gzip"),  # RFC 9110 §8.4.1
        ("gzip_with_qvalue", b"deflate, gzip;q=0.5", b"gzip"),
        # RFC 9110 §12.5.3: q=0 means "not acceptable".
        ("gzip_refused_with_q0", b"gzip;q=0", None),
        ("gzip_refused_with_q0_000", b"gzip; Q=0.000", None),
        ("gzip_refused_with_q0_dot", b"gzip;q=0.", None),
        ("gzip_small_weight_accepted", b"gzip;q=0.001", b"gzip"),
        ("gzip_star_accepted", b"*", b"gzip"),
        ("gzip_star_weighted", b"identity, *;q=0.3", b"gzip"),
        ("gzip_named_refusal_beats_star", b"*;q=1, gzip;q=0", None),
        ("gzip_x_gzip_alias", b"x-gzip", b"gzip"),  # RFC 9110 §8.4.1.3
        ("gzip_star_refused_identity_allowed", b"*;q=0, identity", None),
        ("gzip_identity_only", b"identity", None),
        ("gzip_unknown_coding_only", b"br", None)):
    add(name, lambda accept=accept, expected=expected: coded(accept, expected))


@case
def gzip_star():
    # "*" makes every coding acceptable, identity included: either is right.
    response = gzip_response(5000, b"*")
    check(response.get("Content-Encoding") in (None, b"gzip"), response.describe())


@case
def gzip_not_asked():
    response = fetch(get(b"/bytes/5000"))
    check(response.get("Content-Encoding") is None and response.body == bytes_body(5000),
          response.describe())
    check(b"accept-encoding" in response.tokens("Vary"), "no Vary: Accept-Encoding")


@case
def gzip_large_chunked():
    gzip_response(300000, b"gzip")


@case
def gzip_small_body():
    gzip_response(100, b"gzip")


@case
def gzip_head_length():
    got = gzip_response(5000, b"gzip")
    head = fetch(req(b"HEAD /bytes/5000 HTTP/1.1", b"Accept-Encoding: gzip"), method="HEAD")
    check(head.get("Content-Length") == got.get("Content-Length"),
          f"HEAD Content-Length {head.get('Content-Length')}, GET {got.get('Content-Length')}")


@case
def gzip_not_modified_keeps_vary():
    etag = gzip_response(5000, b"gzip").get("ETag")
    response = fetch(get(b"/bytes/5000", b"Accept-Encoding: gzip", b"If-None-Match: " + etag))
    expect_status(response, 304)
    check(b"accept-encoding" in response.tokens("Vary"), "304 lost Vary")


@case
def gzip_strong_etag_differs():
    compressed = gzip_response(5000, b"gzip").get("ETag")
    identity = fetch(get(b"/bytes/5000")).get("ETag")
    check(compressed is None or identity is None or compressed.startswith(b"W/")
          or compressed != identity, f"one strong ETag {compressed} for gzip and identity")


# --- the root resource (RFC 9110 §9.3, §13) -------------------------------------------------------

# GET / is a page with an ETag and a Last-Modified (the server's start); POST and PUT echo.

ROOT_CACHE = {}


def root_page():
    """The 200 to GET /, whose validators the conditional cases send back."""
    if "page" not in ROOT_CACHE:
        ROOT_CACHE["page"] = fetch(get(b"/"))
    return ROOT_CACHE["page"]


@case
def root_get():
    response = accepted(get(b"/"))
    check(response.body and (response.get("Content-Type") or b"").startswith(b"text/plain"),
          response.describe())
    check(re.fullmatch(rb'"[\x21\x23-\x7e\x80-\xff]*"', response.get("ETag") or b""),
          f"not a strong entity-tag: {response.get('ETag')}")  # RFC 9110 §8.8.3
    check(IMF_FIXDATE.fullmatch(response.get("Last-Modified") or b""),
          f"Last-Modified is not an IMF-fixdate: {response.get('Last-Modified')}")


@case
def root_options():
    # RFC 9110 §9.3.7: a successful OPTIONS SHOULD list the methods in Allow.
    response = accepted(req(b"OPTIONS / HTTP/1.1"), 204)
    allowed = set(response.tokens("Allow"))
    check({b"get", b"head", b"post", b"put", b"options"} <= allowed,
          f"Allow: {response.get('Allow')}")


@case
def root_post_and_put_echo():
    accepted(post(b"/", b"hello"), body=b"hello")
    accepted(post_chunked(chunked(b"hel", b"lo"), target=b"/"), body=b"hello")
    accepted(req(b"PUT / HTTP/1.1", b"Content-Length: 3", body=b"abc"), body=b"abc")


def root_conditional(method, fields, *statuses):
    """A conditional request to /: one of `statuses`; a 304 keeps the 200's ETag and Vary
    (RFC 9110 §15.4.5), a 200 to GET is the page itself."""
    body = b"hello" if method in (b"POST", b"PUT") else b""
    raw = req(method + b" / HTTP/1.1", *fields(),
              *((b"Content-Length: 5",) if body else ()), body=body)
    response = fetch(raw, method=method.decode())
    expect_status(response, *statuses)
    page = root_page()
    if response.status == 304:
        for name in ("ETag", "Vary"):
            check(response.get(name) == page.get(name),
                  f"{name} {response.get(name)} differs from the 200's {page.get(name)}")
    elif response.status == 200:
        check(response.body == (body or page.body), response.describe())


def etag():
    return root_page().get("ETag")


def modified():
    return root_page().get("Last-Modified")


for name, method, fields, statuses in (
        # RFC 9110 §13.1.2: If-None-Match compares weakly, "*" matches a current representation,
        # and an unquoted tag is no entity-tag at all (§8.8.3), so it matches nothing.
        ("root_if_none_match", b"GET", lambda: (b"If-None-Match: " + etag(),), (304,)),
        ("root_if_none_match_weak", b"GET", lambda: (b"If-None-Match: W/" + etag(),), (304,)),
        ("root_if_none_match_star", b"GET", lambda: (b"If-None-Match: *",), (304,)),
        ("root_if_none_match_other", b"GET", lambda: (b'If-None-Match: "other"',), (200,)),
        ("root_if_none_match_unquoted", b"GET",
         lambda: (b"If-None-Match: " + etag().strip(b'"'),), (200,)),
        ("root_if_none_match_on_head", b"HEAD", lambda: (b"If-None-Match: " + etag(),), (304,)),
        # RFC 9110 §13.1.3: not modified since a date at or after Last-Modified...
        ("root_if_modified_since_equal", b"GET",
         lambda: (b"If-Modified-Since: " + modified(),), (304,)),
        ("root_if_modified_since_earlier", b"GET",
         lambda: (b"If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT",), (200,)),
        ("root_if_modified_since_on_head", b"HEAD",
         lambda: (b"If-Modified-Since: " + modified(),), (304,)),
        # ... a date later than the server's clock compares like any other under RFC 9110
        # (304), where RFC 2616 §14.25 called it invalid (200): both are seen in the field.
        ("root_if_modified_since_future", b"GET",
         lambda: (b"If-Modified-Since: Thu, 01 Jan 2099 00:00:00 GMT",), (200, 304)),
        # ... and it MUST be ignored when it is no HTTP-date, lists two, comes with
        # If-None-Match, or is sent with a method other than GET and HEAD.
        ("root_if_modified_since_invalid", b"GET",
         lambda: (b"If-Modified-Since: not-a-date",), (200,)),
        ("root_if_modified_since_two_dates", b"GET",
         lambda: (b"If-Modified-Since: " + modified() + b", " + modified(),), (200,)),
        ("root_if_none_match_before_if_modified_since", b"GET",
         lambda: (b"If-None-Match: " + etag(),
                  b"If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT"), (304,)),
        ("root_if_none_match_other_ignores_if_modified_since", b"GET",
         lambda: (b'If-None-Match: "other"', b"If-Modified-Since: " + modified()), (200,)),
        ("root_if_modified_since_ignored_on_post", b"POST",
         lambda: (b"If-Modified-Since: " + modified(),), (200,)),
        # RFC 9110 §13.1.4: modified after the date given: 412.
        ("root_if_unmodified_since_earlier", b"GET",
         lambda: (b"If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT",), (412,)),
        # RFC 9110 §13.1.1, §13.1.2: / has a current representation, so on PUT If-Match: *
        # or its ETag holds (the method proceeds), another tag fails (412), and
        # If-None-Match: * fails: for methods other than GET and HEAD that MUST be a 412.
        ("root_if_match_star_on_put", b"PUT", lambda: (b"If-Match: *",), (200,)),
        ("root_if_match_current_on_put", b"PUT", lambda: (b"If-Match: " + etag(),), (200,)),
        ("root_if_match_other_on_put", b"PUT", lambda: (b'If-Match: "other"',), (412,)),
        ("root_if_none_match_star_on_put", b"PUT", lambda: (b"If-None-Match: *",), (412,))):
    add(name, lambda method=method, fields=fields, statuses=statuses:
        root_conditional(method, fields, *statuses))


# --- application endpoints ------------------------------------------------------------------------

@case
def echo_default_content_type():
    response = fetch(req(b"POST /echo HTTP/1.1", b"Content-Length: 2", body=b"hi"))
    check(response.get("Content-Type") == b"application/octet-stream", response.describe())


@case
def echo_all_octets():
    data = bytes(range(256)) * 4
    check(fetch(post(b"/echo", data)).body == data, "binary body altered")


@case
def echo_large_with_length():
    data = random.Random(7).randbytes(3 * 1024 * 1024)
    with Connection(timeout=20) as conn:
        conn.send_in_background(post(b"/echo", data))
        check(conn.read_response().body == data, "3 MiB echo differs")


@case
def echo_large_chunked():
    data = random.Random(8).randbytes(3 * 1024 * 1024)
    pieces = [data[i:i + 100000] for i in range(0, len(data), 100000)]
    with Connection(timeout=20) as conn:
        conn.send_in_background(post_chunked(chunked(*pieces)))
        check(conn.read_response().body == data, "3 MiB chunked echo differs")


@case
def echo_if_match_fails():
    # RFC 9110 §13.1.1: /echo has no current representation, so If-Match cannot hold.
    accepted(req(b"POST /echo HTTP/1.1", b"If-Match: *", b"Content-Length: 5", body=b"hello"),
             412)


@case
def headers_reports_fields():
    values = json.loads(fetch(get(b"/headers", b"X-Probe: 42")).body)
    check(values.get("X-Probe") == "42" and values.get("Host") == "testbed", f"{values}")


@case
def cookies_signed_round_trip():
    response = fetch(get(b"/cookies/set?k=v"))
    expect_status(response, 302)
    cookie = re.match(rb"(k=[^;]+)", response.get("Set-Cookie")).group(1)
    values = json.loads(fetch(get(b"/cookies", b"Cookie: " + cookie)).body)
    check(values == {"cookies": {"k": "v"}}, f"{values}")


@case
def cookies_forged_ignored():
    values = json.loads(fetch(get(b"/cookies", b"Cookie: k=forged")).body)
    check(values == {"cookies": {}}, f"an unsigned cookie was accepted: {values}")


@case
def form_needs_xsrf_token():
    raw = post(b"/form", b"name=jo", content_type=b"application/x-www-form-urlencoded")
    expect_status(fetch(raw), 403)


@case
def form_xsrf_round_trip():
    page = fetch(get(b"/form"))
    cookie = re.search(rb"_xsrf=([^;]+)", page.get("Set-Cookie")).group(1)
    token = re.search(rb'name="_xsrf" value="([^"]+)"', page.body).group(1)
    raw = post(b"/form", b"_xsrf=" + token + b"&name=jo", b"Cookie: _xsrf=" + cookie,
               content_type=b"application/x-www-form-urlencoded")
    values = json.loads(fetch(raw).body)
    check(values == {"fields": {"name": "jo"}, "files": []}, f"{values}")


# --- Upgrade (RFC 9110 §7.8; RFC 6455 §4) ---------------------------------------------------------

WS_KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
WS_FIELDS = (b"Upgrade: websocket", b"Sec-WebSocket-Key: " + WS_KEY,
             b"Sec-WebSocket-Version: 13")


def upgrade(line, *fields, host=b"testbed"):
    return exchange(req(line, *fields, host=host), linger=0.3).first


@case
def upgrade_websocket():
    response = upgrade(b"GET /ws HTTP/1.1", b"Connection: Upgrade", *WS_FIELDS)
    expect_status(response, 101)
    accept = base64.b64encode(hashlib.sha1(WS_KEY + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
                              .digest())
    check(response.get("Sec-WebSocket-Accept") == accept, response.describe())
    check(b"upgrade" in response.tokens("Connection"), "101 without Connection: Upgrade")


@case
def upgrade_http10_ignored():
    response = upgrade(b"GET /ws HTTP/1.0", b"Connection: Upgrade", *WS_FIELDS, host=None)
    check(response.status != 101, "switched protocols for an HTTP/1.0 request")


@case
def upgrade_post_not_switched():
    response = upgrade(b"POST /ws HTTP/1.1", b"Connection: Upgrade", *WS_FIELDS,
                       b"Content-Length: 0")
    check(response.status != 101, "a websocket upgrade by POST")


@case
def upgrade_without_connection_option():
    # RFC 9110 §7.8: Upgrade is a connection option; without "Connection: upgrade" no switch.
    check(upgrade(b"GET /ws HTTP/1.1", *WS_FIELDS).status != 101, "switched without option")


@case
def upgrade_websocket_without_key():
    response = upgrade(b"GET /ws HTTP/1.1", b"Connection: Upgrade", b"Upgrade: websocket",
                       b"Sec-WebSocket-Version: 13")
    check(response.status != 101, "switched without Sec-WebSocket-Key")


@case
def upgrade_unknown_protocol():
    response = upgrade(b"GET /ws HTTP/1.1", b"Connection: Upgrade", b"Upgrade: made-up/1.0")
    check(response.status != 101, "switched to a protocol the server does not speak")


@case
def upgrade_h2c_ignored():
    # The server does not speak h2c: the request is answered over HTTP/1.1 as usual.
    accepted(get(b"/plaintext", b"Connection: Upgrade, HTTP2-Settings", b"Upgrade: h2c",
                 b"HTTP2-Settings: AAMAAABkAAQAAP__"), body=HELLO)


@case
def upgrade_websocket_bad_version():
    # RFC 6455 §4.4: an unsupported version gets 426 with the versions supported.
    response = upgrade(b"GET /ws HTTP/1.1", b"Connection: Upgrade", b"Upgrade: websocket",
                       b"Sec-WebSocket-Key: " + WS_KEY, b"Sec-WebSocket-Version: 99")
    expect_status(response, 426)
    check(response.get("Sec-WebSocket-Version") == b"13", response.describe())


# --- robustness -----------------------------------------------------------------------------------

@case
def robust_binary_garbage():
    # Garbage ending in an empty line: the server has all it will get, and must refuse it.
    rejected(random.Random(42).randbytes(256) + b"\r\n\r\n")


@case
def robust_tls_client_hello():
    # A TLS handshake on the plain port has no line end: refused, or left to the timeout.
    hello = bytes.fromhex("16030100a5010000a10303") + bytes(32) + b"\x00\x00\x02\x00\x2f\x01\x00"
    with Connection() as conn:
        conn.send(hello)
        closed, extra = conn.linger(1.0)
        check(not extra or re.match(rb"HTTP/1\.1 [45]", extra), f"answered with {extra[:40]!r}")


@case
def robust_empty_connection():
    with Connection() as conn:
        conn.sock.shutdown(socket.SHUT_WR)
        check(conn.read_response() is None, "a response without a request")


# --- running --------------------------------------------------------------------------------------

class Server:
    """One testbed process on a free port, with its output in a log file."""

    def __init__(self, name, testbed, backend, static_dir, log_dir, options):
        self.name = name
        self.command = [testbed, "--address", HOST, "--static-dir", static_dir, *options]
        self.log_path = os.path.join(log_dir, name + ".log")
        self.environment = dict(os.environ)
        self.environment.setdefault("GALE_LOG_LEVEL", "warning")
        if backend:
            self.environment["GALE_IO_BACKEND"] = backend
        self.process = None
        self.port = None

    def start(self):
        for _ in range(3):  # the free port may be taken between probing and binding
            self.port = free_port()
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(self.command + ["--port", str(self.port)],
                                                stdout=log, stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL, env=self.environment)
            if self._wait_until_accepting():
                return
            self.kill()
        raise RuntimeError(f"the {self.name} testbed did not start:\n{self.log_tail()}")

    def _wait_until_accepting(self, seconds=30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.alive():
            try:
                socket.create_connection((HOST, self.port), timeout=1).close()
                return True
            except OSError:
                time.sleep(0.05)
        return False

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def stop(self):
        """Graceful stop: the problem seen (a hang, a failing exit, a sanitizer report)."""
        if not self.alive():
            return f"the {self.name} testbed had exited with status {self.process.returncode}"
        self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()
            return f"the {self.name} testbed did not exit within 20 s of SIGTERM"
        if status != 0:
            return f"the {self.name} testbed exited with status {status}"
        report = self.sanitizer_report()
        return f"sanitizer report from the {self.name} testbed:\n{report}" if report else None

    def kill(self):
        if self.alive():
            self.process.kill()
            self.process.wait()

    def log_text(self):
        try:
            with open(self.log_path, "rb") as log:
                return log.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines=30):
        return "\n".join(self.log_text().splitlines()[-lines:])

    def sanitizer_report(self):
        text = self.log_text()
        markers = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "ThreadSanitizer")
        hits = [i for i, line in enumerate(text.splitlines()) if any(m in line for m in markers)]
        return "\n".join(text.splitlines()[hits[0]:hits[0] + 30]) if hits else None


def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def make_static_tree(root):
    static_dir = os.path.join(root, "static")
    os.makedirs(os.path.join(static_dir, "sub"))
    BIG_DATA[0] = random.Random(1).randbytes(BIG_SIZE)
    for name, data in (("a.txt", A_TXT), ("big.bin", BIG_DATA[0]), ("empty.txt", b""),
                       ("sub/index.html", b"<h1>index</h1>\n"), ("../secret.txt", SECRET)):
        path = os.path.join(static_dir, name)
        with open(path, "wb") as file:
            file.write(data)
        os.utime(path, (MTIME, MTIME))
    return static_dir


def run_case(name, function):
    """(verdict, message): verdict is "ok", "FAIL", "XFAIL" or "XPASS"."""
    try:
        function()
        problem = None
    except Failure as failure:
        problem = str(failure)
    except TimeoutError:
        problem = "timed out waiting for the server"
    except ConnectionRefusedError:
        problem = "connection refused: is the server down?"
    except OSError as error:
        problem = f"socket error: {error}"
    except Exception:  # a bug in the case itself: show where
        problem = "error in the case: " + traceback.format_exc().strip().splitlines()[-1]
    known = EXPECTED_FAILURES.get(name)
    if problem is None:
        return ("XPASS", f"passes now: drop it from EXPECTED_FAILURES ({known})") if known \
            else ("ok", "")
    return ("XFAIL", f"{problem} [{known}]") if known else ("FAIL", problem)


def still_serving(server):
    """The final case for each instance: it lived through the battery and still answers."""
    try:
        response = fetch(get(b"/plaintext"), server=server.name)
    finally:
        try:  # a process that is dying gets reaped, so that its death is what is reported
            server.process.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            pass
        check(server.alive(), f"the {server.name} testbed died (status {server.process.returncode})")
    check(response.body == HELLO, f"/plaintext got {response.describe()}")


def report(name, verdict, message):
    print(f"{verdict} {name}" + (f": {message}" if message else ""), flush=True)


def run_battery(cases, jobs):
    """Runs every case, the slow ones first on their own threads; prints in table order."""
    counts = {"ok": 0, "FAIL": 0, "XFAIL": 0, "XPASS": 0}
    order = sorted(range(len(cases)), key=lambda i: cases[i][2] != "slow")
    slow = sum(1 for case_ in cases if case_[2] == "slow")
    with concurrent.futures.ThreadPoolExecutor(jobs + slow) as pool:
        futures = {i: pool.submit(run_case, cases[i][0], cases[i][1]) for i in order}
        for index, (name, _, _) in enumerate(cases):
            verdict, message = futures[index].result()
            counts[verdict] += 1
            report(name, verdict, message)
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--testbed", required=True, help="the testbed executable")
    parser.add_argument("--backend", choices=("io_uring", "epoll"),
                        help="GALE_IO_BACKEND for the servers (default: inherited)")
    parser.add_argument("--only", help="run only the cases whose name contains this")
    parser.add_argument("--jobs", type=int, default=16, help="cases run at once (default 16)")
    arguments = parser.parse_args()

    names = [name for name, _, _ in CASES]
    if len(names) != len(set(names)) or not set(EXPECTED_FAILURES) <= set(names):
        parser.error("the case table has duplicate names, or EXPECTED_FAILURES unknown ones")
    cases = [c for c in CASES if not arguments.only or arguments.only in c[0]]

    root = tempfile.mkdtemp(prefix="gale-conformance-")
    started = time.monotonic()
    servers = []
    try:
        static_dir = make_static_tree(root)
        for name, options in (("main", []), ("small", SMALL_OPTIONS)):
            server = Server(name, arguments.testbed, arguments.backend, static_dir, root, options)
            servers.append(server)
            server.start()
            SERVERS[name] = server
        counts = run_battery(cases, max(1, arguments.jobs))

        for server in servers:
            name = f"final_{server.name}_still_serving"
            verdict, message = run_case(name, lambda server=server: still_serving(server))
            counts[verdict] += 1
            report(name, verdict, message)
        problems = []
        for server in servers:
            if problem := server.stop():
                problems.append(problem)
                print(f"FAIL shutdown_{server.name}: {problem}", flush=True)
        elapsed = time.monotonic() - started
        print(f"{sum(counts.values())} cases ({arguments.backend or 'default'} backend) in "
              f"{elapsed:.1f} s: {counts['ok']} ok, {counts['FAIL']} failed, "
              f"{counts['XFAIL']} expected failures, {counts['XPASS']} unexpected passes")
        if counts["FAIL"] or problems:
            for server in servers:
                print(f"--- {server.name} testbed log (last lines) ---\n{server.log_tail()}")
            return 1
        return 0
    finally:
        for server in servers:
            server.kill()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
