"""Regular expressions from the config: checked at load, matched in time linear in the text.

Python's ``re`` backtracks: a marking rule such as ``^(a+)+$`` takes exponential time on a long
activity name, and one such rule once held a run (and the warehouse's writer lock) for ever. Every
pattern of the config is therefore compiled with RE2 (google-re2), which never backtracks; DuckDB's
``regexp_matches`` is RE2 as well, so a pattern means the same in Python and in SQL.

RE2 reads Python's syntax, except for the constructs that need backtracking: lookarounds,
backreferences, atomic groups, possessive quantifiers, and also ``(?x)`` and ``\\Z``. A pattern that
uses one is refused when the config loads, saying which construct and how to write it instead.
One difference in meaning stays: ``\\w``, ``\\d``, ``\\s`` and ``\\b`` are ASCII in RE2 (write
``\\pL`` for any letter).
"""

from __future__ import annotations

import re
from functools import lru_cache

import re2

# RE2 error text -> what the user wrote, and how to write it for RE2.
_UNSUPPORTED = (
    ("(?<", "a lookbehind ((?<=...) or (?<!...))", "match the character before instead, e.g. (?:^|[^a-z])word"),
    ("(?=", "a lookahead ((?=...))", "match the text itself, or split the rule in two"),
    ("(?!", "a negative lookahead ((?!...))", "use an exclusion rule (moment: false) or (?:[^a-z]|$) after a word"),
    ("(?P", "a backreference ((?P=name))", "list the values, or compare them in SQL"),
    ("(?>", "an atomic group ((?>...))", "write the group without (?>; RE2 never backtracks anyway"),
    ("(?x", "verbose mode ((?x))", "write the pattern without spaces and comments"),
    ("\\Z", "\\Z", "write $ or \\z"),
    ("repetition operator: *+", "a possessive quantifier (*+)", "write * (RE2 never backtracks anyway)"),
    ("repetition operator: ++", "a possessive quantifier (++)", "write + (RE2 never backtracks anyway)"),
    ("repetition operator: ?+", "a possessive quantifier (?+)", "write ? (RE2 never backtracks anyway)"),
    ("repetition operator: }+", "a possessive quantifier ({n,m}+)", "write {n,m} (RE2 never backtracks anyway)"),
)
_BACKREFERENCE = re.compile(r"invalid escape sequence: \\[1-9]")


def _options(ignore_case: bool) -> re2.Options:
    options = re2.Options()
    options.case_sensitive = not ignore_case
    options.log_errors = False  # the error goes into the message, not to stderr
    return options


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str, ignore_case: bool = True):
    """``pattern`` compiled for RE2 (searched with ``.search``); ValueError naming what RE2 lacks.

    Cached: the classifier compiles the same few dozen patterns for every run.
    """
    try:
        return re2.compile(pattern, _options(ignore_case))
    except re2.error as exc:
        reason = _reason(exc)
    # Not RE2. When Python's re refuses it too, it is simply broken: Python's message gives the position.
    try:
        re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
    raise ValueError(_unsupported(pattern, reason))


def check_pattern(pattern: str, ignore_case: bool = True) -> str:
    """``pattern`` itself when RE2 can run it (a pydantic validator's return value), else ValueError."""
    compile_pattern(pattern, ignore_case)
    return pattern


def _reason(exc: re2.error) -> str:
    reason = exc.args[0] if exc.args else str(exc)
    return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)


def _unsupported(pattern: str, reason: str) -> str:
    what, hint = "a construct", "rewrite it without backtracking constructs"
    if _BACKREFERENCE.search(reason):
        what, hint = "a backreference (\\1 ...)", "list the values, or compare them in SQL"
    elif "repetition size" in reason or "pattern too large" in reason:
        what, hint = "too many repetitions (counts up to 1000, and a compiled size of 8 MB)", "use smaller counts"
    else:
        for marker, name, advice in _UNSUPPORTED:
            if marker in reason:
                what, hint = name, advice
                break
    return (
        f"regular expression {pattern!r} uses {what}, which the pattern engine does not support "
        f"({reason}): patterns run on RE2, in time linear in the text, so that no pattern can hang a run; {hint}"
    )
