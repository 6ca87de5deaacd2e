"""Shared by the interop peers: the payloads both sides compare, and output that the C++
tests parse (one "key value..." line per observation, flushed at once)."""

import sys

# Frame-length boundaries of RFC 6455 (7-bit, 16-bit and 64-bit lengths) and a large message.
SIZES = [0, 125, 126, 65535, 65536, 1 << 20]


def text_payload(size):
    """`size` ASCII characters, varied enough that deflate does real work."""
    pattern = "".join(chr(32 + (i * 7919) % 95) for i in range(997))
    return (pattern * (size // len(pattern) + 1))[:size]


def binary_payload(size):
    """`size` bytes covering every byte value (0x00..0xff), not valid UTF-8."""
    pattern = bytes((i * 131 + 7) % 256 for i in range(1021))
    return (pattern * (size // len(pattern) + 1))[:size]


def report(*words):
    print(*words, flush=True)


def describe_close(code, reason):
    """A close code and reason on one line ("-" for an empty reason)."""
    return [str(code), reason.replace(" ", "_") if reason else "-"]


def fail(message):
    report("error", message)
    sys.exit(1)
