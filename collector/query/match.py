"""Which messages a text filter keeps, found block by block. Pure.

A block's messages are searched as one UTF-8 text (`LineBlock.text`): one C-level search per
block finds the candidates, and only a candidate's own message is then checked against
every filter. Regular expressions are RE2 (linear time: an investigator's pattern cannot
stall the collector), searched in the joined text in multi-line mode so that a match of a
message on its own is never missed; each candidate is confirmed on its message alone, where
``^`` and ``$`` are the message's start and end.
"""

from __future__ import annotations

import bisect
import ctypes
import ctypes.util
from collections.abc import Callable, Iterator, Sequence

import re2

from collector.query.spec import BadQuery, TextFilter

__all__ = ["Matcher"]


def _memmem() -> Callable[[bytes, bytes, int, int], int] | None:
    """The C library's memmem, called through ctypes, which lets other threads run meanwhile
    (bytes.find holds the GIL): the scan's worker threads then search at once. About twice
    bytes.find's speed on log text, measured."""
    name = ctypes.util.find_library("c")
    memmem = getattr(ctypes.CDLL(name), "memmem", None) if name else None
    if memmem is None:
        return None
    memmem.restype = ctypes.c_void_p
    memmem.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]

    def find(text: bytes, needle: bytes, pos: int, end: int) -> int:
        if end - pos < len(needle):
            return -1
        base = ctypes.cast(ctypes.c_char_p(text), ctypes.c_void_p).value or 0
        at = memmem(base + pos, end - pos, needle, len(needle))
        return -1 if at is None else at - base

    return find


def _bytes_find(text: bytes, needle: bytes, pos: int, end: int) -> int:
    return text.find(needle, pos, end)


find = _memmem() or _bytes_find


# A test's `first` returns where the first match in ``text[pos:end]`` starts (one that may be
# a whole message's match), -1 when there is none, and NO_JOINED when it cannot search the
# joined text at all (then every message is a candidate).
NO_JOINED = -2


class _Literal:
    def __init__(self, needle: str) -> None:
        self.needle = needle.encode()

    def found(self, message: bytes) -> bool:
        return self.needle in message

    def first(self, text: bytes, pos: int, end: int) -> int:
        # A needle without a newline never spans two messages of the joined text.
        if b"\n" in self.needle:
            return NO_JOINED
        return find(text, self.needle, pos, end)


class _Pattern:
    def __init__(self, pattern: str, ignore_case: bool, literal: bool) -> None:
        options = re2.Options()
        options.case_sensitive = not ignore_case
        options.literal = literal
        options.log_errors = False
        try:
            self.alone = re2.compile(pattern.encode(), options)
            # \A and \z mean the joined text's ends, not each message's: search messages alone.
            joined = not literal and ("\\A" in pattern or "\\z" in pattern)
            self.joined = None if joined else (
                self.alone if literal else re2.compile(b"(?m)" + pattern.encode(), options))
        except re2.error as e:
            raise BadQuery(f"regular expression {pattern!r}: {e} (RE2 syntax)") from None
        if literal and "\n" in pattern:
            self.joined = None

    def found(self, message: bytes) -> bool:
        return self.alone.search(message) is not None

    def first(self, text: bytes, pos: int, end: int) -> int:
        if self.joined is None:
            return NO_JOINED
        m = self.joined.search(text, pos, end)
        return -1 if m is None else int(m.start())


class Matcher:
    """A compiled `TextFilter`. Raises `BadQuery` for a regular expression RE2 refuses."""

    def __init__(self, text: TextFilter) -> None:
        ic = text.ignore_case

        def literal(s: str) -> _Literal | _Pattern:
            return _Pattern(s, True, True) if ic else _Literal(s)

        self.keep: list[_Literal | _Pattern] = ([literal(s) for s in sorted(text.grep, key=len, reverse=True)]
                                                + [_Pattern(p, ic, False) for p in text.regex])
        self.drop: list[_Literal | _Pattern] = ([literal(s) for s in text.exclude]
                                                + [_Pattern(p, ic, False) for p in text.exclude_regex])
        # A text every kept message holds, byte for byte: a store may skip parts without it.
        self.hint = max(text.grep, key=len) if text.grep and not ic else None
        self.everything = not self.keep and not self.drop

    def matches(self, message: str | bytes) -> bool:
        b = message.encode() if isinstance(message, str) else message
        return all(t.found(b) for t in self.keep) and not any(t.found(b) for t in self.drop)

    def lines(self, text: bytes, ends: Sequence[int], lo: int, hi: int) -> Iterator[int]:
        """Indices in [lo, hi) of the messages kept; ``text`` and ``ends`` as `LineBlock.text`."""
        if lo >= hi:
            return
        if self.everything:
            yield from range(lo, hi)
            return
        def message(i: int) -> bytes:
            return text[ends[i - 1] + 1 if i else 0:ends[i]]

        if self.keep:
            for i in _candidates(self.keep[0], text, ends, lo, hi):
                if self.matches(message(i)):
                    yield i
            return
        dropped: set[int] = set()
        for t in self.drop:
            dropped.update(i for i in _candidates(t, text, ends, lo, hi) if t.found(message(i)))
        yield from (i for i in range(lo, hi) if i not in dropped)


def _candidates(test: _Literal | _Pattern, text: bytes, ends: Sequence[int], lo: int,
                hi: int) -> Iterator[int]:
    """Indices in [lo, hi) whose message may match ``test``, each once, in order: every one
    that does is among them."""
    pos = ends[lo - 1] + 1 if lo else 0
    end = ends[hi - 1]
    while pos <= end:
        at = test.first(text, pos, end)
        if at == NO_JOINED:
            k = bisect.bisect_left(ends, pos, lo, hi)
            yield from range(k, hi)
            return
        if at < 0:
            return
        # The message holding position ``at``: the first whose end is at or after it. A match
        # starting on the newline after message k belongs to none; message k+1 is searched next.
        k = bisect.bisect_left(ends, at, lo, hi)
        if at < ends[k] or (at == ends[k] and (k == 0 or ends[k - 1] + 1 == at)):
            yield k
        pos = ends[k] + 1
