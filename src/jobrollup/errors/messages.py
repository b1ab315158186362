"""Error messages to templates: the masking normaliser that lets variants of one message meet.

Pure standard-library Python, so the same functions run in Spark executors (shipped in the
package zip, used by a plain Python UDF), in the driver and in `bin/cluster-errors` on a file:
the nightly flow and the standalone command give a message the same template.

    clean(text)          -> (text, problem): bounds the size, flags empty and binary messages
    spack_message(...)   -> the whole log line of a spack error record (its text is cut at
                            terminal width; the wrapped rest is in pre/post_context)
    template(text)       -> the masked template: numbers, hex ids, hashes, paths, versions,
                            URLs, timestamps and quoted names replaced by <NUM>, <HEX>, ...;
                            an HTTP request line keeps its method ("GET <URL>")
    tokens(template)     -> the words and marks of a template, in order

What this module does not do is tell a kind word from a parameter word that has no digit
(`session opened for user root`, `Accepted` / `Failed password`): one message cannot show that,
many can. jobrollup.errors.clustering does it on the driver, over the distinct templates of a
night and how each token position varies among them.

Speed (issue 17): every mask has a needle or a cheaper precheck that its pattern needs (a regex
beginning with a look-around is tried at every position of a message, 4-7 us each; one beginning
with a literal or a character set is skipped ahead in C), a path is masked word by word, spaces
are folded by split/join, and NUM begins with a character set. Same templates as before on
335,809 distinct messages (the speed set, the dev set, the generated and spack sets and random
strings), 30 instead of 46 us a message. Then the masks became precomputed steps (a message
without a digit skips the masks that need one; no per-mask set look-ups) and the repeated-mask
substitution runs only when a search finds a repeat (re.sub with a group reference costs 2 us
even when nothing matches; the search 0.6): same templates on 880,707 messages (the speed set,
the dev set seeds 0-2, the generated set and random strings), about a tenth faster. Repeated
messages are not normalised twice: see
jobrollup.errors.file.NormaliseCache (kept out of this module, which Spark ships by value).
"""

from __future__ import annotations

import re

MAX_CHARS = 4000          # longer messages are cut here (a megabyte line must not stall a run)
MAX_TEMPLATE_CHARS = 1000  # a template longer than this is cut: it is a label, not a document
BINARY_SHARE = 0.2        # more than this share of control/replacement characters: binary garbage

PROBLEMS = ("empty", "binary", "truncated")

# Order matters: a URL holds a path, a quoted name may hold anything, a path holds versions
# and hashes, a version holds numbers. Each mask has a needle: text without it cannot match,
# so the pattern is skipped (a cheap `in` test saves most of the regex work).
MASKS: list[tuple[str, str | None, re.Pattern]] = [(token, needle, re.compile(pattern)) for token, needle, pattern in [
    ("<URL>", "://", r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>()\[\]{}]*"),
    ("<TS>", "-", r"\b\d{4}-\d\d-\d\d(?:[T _-]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?"),
    ("<TS>", ":", r"\b\d\d:\d\d:\d\d(?:[.,]\d+)?\b"),
    ("<UUID>", "-", r"\b[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\b"),
    # an HTTP request line names its method, which tells requests apart: it stays
    ("\\1 <URL>", "HTTP/", r'"(GET|HEAD|POST|PUT|DELETE|PATCH|OPTIONS|CONNECT) [^"\s]+ HTTP/\d(?:\.\d)?"'),
    # a quoted exception class ('FileOpenError') names the kind of error: it stays
    ("<Q>", "'", r"(?<![\w'])'(?![A-Z]\w*(?:Error|Exception|Failure)')[^'\n]{1,300}'(?!\w)"),
    ("<Q>", '"', r"(?<![\w\"])\"[^\"\n]{1,300}\"(?!\w)"),
    ("<Q>", "`", r"`[^`'\n]{1,300}'"),
    ("<Q>", "\u2018", r"\u2018[^\u2019\n]{1,300}\u2019"),
    ("<PATH>", "/", r"(?<![\w.+@%~=-])[\w.+@%~=-]*(?:/[\w.+@%~=-]*)+/?"),
    ("<PATH>", ".", r"\b[\w+-][\w.+-]*\.(?:c|cc|cpp|cxx|C|h|hh|hpp|hxx|inl|ipp|tcc|f|F|f90|F90|f77|"
                    r"py|pyx|pxd|o|so|a|la|lo|mod|cmake|txt|in|am|ac|m4|sh|S|s|cu|cuh|inc|xml|json|"
                    r"yaml|yml|root|log|out|tar|gz|bz2|xz|tgz|zip|jar|pl|pm|java|go|rs|js)\b"),
    ("<HASH>", None, r"\b[a-z2-7]{32}\b"),
    ("<HEX>", None, r"\b0[xX][0-9A-Fa-f]+\b"),
    ("<HEX>", None, r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b"),
    ("<VER>", ".", r"(?<![\w.])v?\d+(?:\.\d+)+[a-z]?\d*\b"),
    # (?<![A-Za-z_\d])[-+]?\d+, written to begin with a character set (a third faster)
    ("<NUM>", None, r"[-+\d](?<![A-Za-z_\d][-+\d])(?:(?<=[-+])\d+|(?<=\d)\d*)"),
]]
_NEEDS_DIGIT = {"<TS>", "<UUID>", "<HEX>", "<VER>", "<NUM>"}   # masks that need a digit
# A cheaper test that a mask's pattern needs (a literal first character or a character set lets
# the regex engine skip ahead; the masks' own patterns begin with look-arounds, and scanning a
# message with them costs 4-7 us each): found or not, the mask gives the same result.
_PRECHECKS: list[re.Pattern | None] = [re.compile(pattern) if pattern else None for pattern in [
    None,                                   # URL: its needle "://" is enough
    r"-\d\d-",                              # TS: 2026-11-20
    r":\d\d:",                              # TS: 23:59:59
    r"-[0-9A-Fa-f]{4}-",                     # UUID
    None,                                   # HTTP request: its needle
    None, None, None, None,                 # quoted: needles and counts below
    None,                                   # PATH: needle "/"
    r"\.(?:c|cc|cpp|cxx|C|h|hh|hpp|hxx|inl|ipp|tcc|f|F|f90|F90|f77|py|pyx|pxd|o|so|a|la|lo|mod|cmake|"
    r"txt|in|am|ac|m4|sh|S|s|cu|cuh|inc|xml|json|yaml|yml|root|log|out|tar|gz|bz2|xz|tgz|zip|jar|pl|"
    r"pm|java|go|rs|js)\b",                  # PATH: a file name
    r"[a-z2-7]{32}",                        # HASH
    r"0[xX][0-9A-Fa-f]",                    # HEX: 0x...
    r"[0-9a-fA-F]{8}",                      # HEX: a long hexadecimal number
    r"\.\d",                                # VER
    None,                                   # NUM: a digit
]]
_QUOTE_PAIRS = {"'": 2, '"': 2}
_HAS_DIGIT = re.compile(r"\d")

# Hints and decorations that tools add to a message without changing what it says.
HINTS = [(needle, re.compile(pattern)) for needle, pattern in [
    ("did you mean", r";? ?did you mean <Q>\??"),       # gcc, clang, python: "; did you mean 'x'?"
    ("[-W", r" ?\[-W[\w=+-]*\]"),                      # gcc: the warning option that made it an error
    ("use -v", r" ?\(use -v to see invocation\)"),     # clang
]]
# make's recursion level and target are parameters of one message: "make[2]: *** [all] Error 2"
_MAKE = re.compile(r"\b(g?make)(?:\[<NUM>\])?: \*\*\* \[[^\]]*\]")
_REPEATED_MASK = re.compile(r"(<[A-Z]+>)(?:[ ,:;/]*\1)+")
_WORDS = re.compile(r"<[A-Z]+>|[A-Za-z_][A-Za-z0-9_+\-]*|[^\sA-Za-z0-9_]")
_BAD_CHAR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd\ud800-\udfff]")


def clean(text) -> tuple[str, str | None]:
    """The message bounded in size, and its problem: None, "empty", "binary" or "truncated"."""
    if text is None:
        return "", "empty"
    if not isinstance(text, str):
        text = str(text)
    problem = None
    if len(text) > MAX_CHARS:
        text, problem = text[:MAX_CHARS], "truncated"
    if not text.strip():
        return "", "empty"
    if _BAD_CHAR.search(text) is None:
        return text, problem
    if len(_BAD_CHAR.findall(text)) > BINARY_SHARE * len(text):
        return text, "binary"
    return _BAD_CHAR.sub(" ", text), problem


# the masks as steps: (token, needle, pattern, precheck, a quote pair, a path), in MASKS order;
# a message without a digit takes only the steps that need none
_STEPS = [(token, needle, pattern, precheck, needle in _QUOTE_PAIRS, needle == "/")
          for (token, needle, pattern), precheck in zip(MASKS, _PRECHECKS)]
_STEPS_WITHOUT_DIGITS = [step for step in _STEPS if step[0] not in _NEEDS_DIGIT]


def template(text: str) -> str:
    """The masked template of a message (already cleaned): one line, single spaces."""
    # (for ASCII text \d is [0-9]; the digit test is made once, on the message as it came)
    for token, needle, pattern, precheck, quoted, path in (
            _STEPS if _HAS_DIGIT.search(text) is not None else _STEPS_WITHOUT_DIGITS):
        if needle is not None and needle not in text:
            continue
        if (precheck is not None and precheck.search(text) is None) or (quoted and text.count(needle) < 2):
            continue
        if path:
            # a path holds no space: the pattern runs on the words that hold a "/" only (the
            # same result, as a space before or after a word matches none of its look-arounds)
            text = " ".join([pattern.sub(token, word) if "/" in word else word for word in text.split(" ")])
        else:
            text = pattern.sub(token, text)
    for needle, hint in HINTS:
        if needle in text:
            text = hint.sub("", text)
    if "***" in text:
        text = _MAKE.sub(r"\1: *** [<TARGET>]", text)
    text = " ".join(text.split()).lstrip("> ")  # "> " quote marks of a log excerpt
    if text.count("<") > 1 and _REPEATED_MASK.search(text) is not None:   # (sub alone costs more)
        text = _REPEATED_MASK.sub(r"\1", text)
    return text[:MAX_TEMPLATE_CHARS]


def tokens(template_text: str) -> list[str]:
    """Words, masks and punctuation marks of a template, in order (what the clusterer sees)."""
    return _WORDS.findall(template_text)


def normalise(text) -> tuple[str | None, str | None]:
    """(template, problem) of a raw message; the template is None for empty or binary ones."""
    text, problem = clean(text)
    if problem in ("empty", "binary"):
        return None, problem
    found = template(text)
    if not found:
        return None, "empty"
    return found, problem


# ---------------------------------------------------------------------------------------------
# spack build-log error records: {text, pre_context, post_context, ...}
# ---------------------------------------------------------------------------------------------

_NUMBERED = re.compile(r"^(\s*(?:>>\s+)?\d+\s{2,})")


def _is_numbered_line(line: str) -> bool:
    return bool(_NUMBERED.match(line))


def _indent(lines: list[str]) -> int:
    """Width of the '  >> 123    ' column of a log excerpt: where wrapped lines resume.

    The narrowest numbered line gives it: lines of compiler output that begin with spaces of
    their own look wider."""
    widths = [len(found.group(1)) for found in map(_NUMBERED.match, lines) if found]
    return min(widths, default=0)


def _continuation(line: str, indent: int) -> str | None:
    """The text a wrapped continuation line adds, or None if the line starts a new log line."""
    if not line.strip() or _is_numbered_line(line) or line[:indent].strip():
        return None
    return line[indent:]


def spack_message(text: str | None, pre_context: str | None = None,
                  post_context: str | None = None) -> str:
    """The whole log line of a spack error record, without its line number.

    spack prints the log cut at terminal width: `text` is one display line, the start of its
    log line may be in the last lines of `pre_context` (when `text` is itself a wrapped part),
    and its rest is in the first lines of `post_context` (indented, without a line number).
    Display lines were right-stripped, so a line shorter than the others lost a space at its
    end. Messages of other shapes (spack's own "==> Error: ..." lines) come back unchanged.
    """
    # bounded like any message: a megabyte of context must not stall the rebuild
    text = (text or "")[:MAX_CHARS].rstrip()
    pre = (pre_context or "")[-MAX_CHARS:].split("\n")
    post = (post_context or "")[:MAX_CHARS].split("\n")
    indent = _indent(pre + post)
    if not indent:
        return _NUMBERED.sub("", text, count=1)
    width = max((len(line) for line in pre + post
                 if _is_numbered_line(line) or _continuation(line, indent) is not None), default=0)
    shown = ("  " + text) if text.startswith(">>") else (" " * indent + text)
    pieces = [shown]
    if not _is_numbered_line(shown) and not text.startswith("=="):
        # text continues a wrapped log line: its start is the last numbered line of pre_context
        before = []
        for line in reversed(pre):
            if _is_numbered_line(line):
                before.append(line)
                break
            if _continuation(line, indent) is None:
                before = []
                break
            before.append(line)
        if before and _is_numbered_line(before[-1]):
            pieces = list(reversed(before)) + pieces
    for line in post:
        if _continuation(line, indent) is None:
            break
        pieces.append(line)
    message = ""
    for number, piece in enumerate(pieces):
        part = _NUMBERED.sub("", piece, count=1) if number == 0 else piece[indent:]
        message += part
        if len(piece.rstrip()) < width and number < len(pieces) - 1:
            message += " "  # the line was right-stripped: a space was lost at the wrap
    return message
