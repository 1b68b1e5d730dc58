"""Keep the panic reports of Rust libraries (rustxes, polars, connectorx) off the terminal.

A Rust panic inside these libraries reaches Python as a ``PanicException``, which the readers turn
into a clear ``SourceError`` or a fallback. Before that, Rust's panic hook has already written
``thread '...' panicked at <file>:<line>`` (and, with ``RUST_BACKTRACE=1`` or ``full``, a stack
backtrace) straight to file descriptor 2, past ``sys.stderr`` and every Python handler. The hook
cannot be replaced from Python, so ``quiet_rust`` points descriptors 1 and 2 at a temporary file
for the length of the call and then writes back everything that is not such a report (or
rustxes' own notice about mixed attribute types, which the XES reader handles itself).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

PANIC_HEADER = re.compile(r"^thread '.*' (\(\d+\) )?panicked at ")
BACKTRACE_LINE = re.compile(r"^\s+(\d+:|at )")
# rustxes' own notices on stdout/stderr: an attribute of mixed types (read as quoted text, which the
# XES reader unquotes) and a value it could not parse (left empty, which the XES reader retries).
NOTICE = re.compile(r'^(Warning: Attribute .* contains values of different dtypes|Failed to parse data from ")')


@dataclass
class Held:
    """What ``quiet_rust`` held back: the number of panic reports and of rustxes notices."""

    panics: int = 0
    notices: list[str] = field(default_factory=list)


@contextmanager
def quiet_rust() -> Iterator[Held]:
    """Run the body with Rust panic reports (and rustxes' mixed-type notices) held back from fds 1, 2.

    Output of other threads written meanwhile is kept and written out afterwards, in order per
    descriptor; only the reports themselves are dropped, and counted in the ``Held`` yielded.
    """
    held = Held()
    with _REDIRECTING:
        yield from _held_back(held)


# File descriptors belong to the process: two threads swapping them at once could leave fd 2 on a
# closed temporary file. One redirection at a time (nested ones, in one thread, unwind in order).
_REDIRECTING = threading.RLock()


def _held_back(held: Held) -> Iterator[Held]:
    _flush()
    saved: dict[int, int] = {}
    with ExitStack() as stack:
        sinks = {fd: stack.enter_context(tempfile.TemporaryFile()) for fd in (1, 2)}
        try:
            for fd, sink in sinks.items():
                saved[fd] = os.dup(fd)
                os.dup2(sink.fileno(), fd)
            yield held
        finally:
            _flush()
            for fd, original in saved.items():
                os.dup2(original, fd)
                os.close(original)
            for fd, sink in sinks.items():
                sink.seek(0)
                kept = without_reports(sink.read(), held)
                if kept:
                    os.write(fd, kept)


def _flush() -> None:
    """Write out what Python buffered for fds 1 and 2, so it lands on the side of the swap it was written."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()


def without_reports(data: bytes, held: Held | None = None) -> bytes:
    """``data`` without Rust panic reports and rustxes' mixed-type notices.

    A report is its header line, the panic message, then either the ``note: run with
    RUST_BACKTRACE`` line or ``stack backtrace:`` with its frame lines (and the closing note, which
    ``RUST_BACKTRACE=full`` leaves out).
    """
    held = held if held is not None else Held()
    kept: list[str] = []
    state = "text"  # text | message | frames
    for line in data.decode("utf-8", "replace").splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        if PANIC_HEADER.match(bare):
            held.panics += 1
            state = "message"
            continue
        if state == "frames" and BACKTRACE_LINE.match(bare):
            continue
        if state != "text":
            if bare.startswith("note: "):
                state = "text"
                continue
            if bare == "stack backtrace:":
                state = "frames"
                continue
            if state == "message":
                continue
            state = "text"  # the first line after the frames is somebody else's
        if NOTICE.match(bare):
            held.notices.append(bare)
            continue
        if not bare and not kept:
            continue
        kept.append(line)
    return "".join(kept).encode("utf-8")
