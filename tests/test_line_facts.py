"""The facts the reader adds to every line (spark.readers.with_line_facts) against plain Python.

Lines of random bytes, valid UTF-8 or not, are written to a file and read as a run reads a
dump. Python's strict UTF-8 decoder is the independent judge of validity: it follows the
Unicode standard (no overlong forms, no surrogates, nothing past U+10FFFF), as Spark must.
"""

from __future__ import annotations

import random

from jobrollup.spark import readers

# Pieces a line is made of: ASCII, valid sequences of every length, and invalid ones.
VALID = [b'{"a": 1}', b"plain text", b" ", b"\x00", b"\x7f", "é".encode(), "€".encode(), "𝄞".encode(),
         "\ufffd".encode(), "\U0010ffff".encode(), "\ud7ff".encode(), "\ue000".encode(), "ÿ".encode()]
INVALID = [b"\x80", b"\xbf", b"\xc3", b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xe0\x9f\xbf",
           b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf0\x80\x80\x80", b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80",
           b"\xfe", b"\xff", b"\xe2\x82", b"\xf0\x9d\x84", b"\xc3\xc3\xa9"]
BOM = "\ufeff".encode()


def _lines(seed: int = 7, count: int = 400) -> list[bytes]:
    rng = random.Random(seed)
    lines = []
    for i in range(count):
        pieces = [rng.choice(VALID) for _ in range(rng.randint(0, 6))]
        if i % 2:   # every other line gets one or more invalid pieces, anywhere, the end included
            for _ in range(rng.randint(1, 3)):
                pieces.insert(rng.randint(0, len(pieces)), rng.choice(INVALID))
        # numbered, so that each line is found again; a byte-order mark may open it
        lines.append((BOM if rng.random() < 0.15 else b"") + b"%04d|" % i + b"".join(pieces))
    # blank lines: JSON whitespace only, after a byte-order mark or not (numbered by their
    # position among the lines instead: they have no text to hold a number)
    lines += [b"", b"   ", b"\t", b" \t  ", BOM, BOM + b" \t", b"\x0b", BOM + BOM]
    # a line that is long, ASCII apart from its last byte
    lines.append(b"%04d|" % count + b"x" * 5000 + b"\xff")
    lines.append(b"%04d|" % (count + 1) + b"x" * 5000 + "é".encode())
    return lines


def test_invalid_utf8_and_sizes_are_those_python_finds(spark, tmp_path):
    lines = _lines()
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    files = readers.list_files(spark, [str(tmp_path)])
    rows = readers.with_line_facts(readers.read_lines(spark, files), 1 << 20, 100).collect()
    assert len(rows) == len(lines)
    numbered = [raw for raw in lines if raw.removeprefix(BOM)[4:5] == b"|"]
    seen = {int(row["value"][:4]): row for row in rows if row["value"][4:5] == "|"}
    assert sorted(seen) == list(range(len(numbered)))
    # blank: JSON whitespace alone once a byte-order mark is taken off (tests/reference.py)
    blank = sorted(raw for raw in lines if raw.decode("utf-8", "replace").removeprefix("\ufeff").strip(" \t\r\n") == "")
    assert sorted(raw for raw in lines if raw not in numbered and raw not in blank) == [b"\x0b", BOM + BOM]
    assert sorted(row["value"].encode() for row in rows if row[readers.BLANK]) == sorted(
        raw.removeprefix(BOM) for raw in blank)
    invalid = 0
    for raw in numbered:
        row = seen[int(raw.removeprefix(BOM)[:4])]
        assert row[readers.BLANK] is False
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        assert row["invalid_utf8"] is (text is None), raw
        assert row["line_bytes"] == len(raw) and row["too_large"] is False
        if text is None:
            invalid += 1
            assert "\ufffd" in row["value"]
        else:   # a valid line is kept as it was, without the byte-order mark opening it
            assert row["value"] == text.removeprefix("\ufeff")
    assert 150 < invalid < len(numbered) - 150


def test_blank_lines_are_dropped_by_every_normaliser_and_nothing_else(spark, tmp_path):
    """A line of spaces and tabs (after a byte-order mark or not) is skipped, not rejected as
    malformed JSON; a line too large is judged whole (spaces first, then text: too large)."""
    from jobrollup.sources import get

    raw = [b"", b" \t", b"\t", BOM + b"\t ", b"\x0b", b"  " + b" " * 200 + b"{}"]
    (tmp_path / "lines.jsonl").write_bytes(b"\n".join(raw) + b"\n")
    files = readers.list_files(spark, [str(tmp_path)])
    lines = readers.with_line_facts(readers.read_lines(spark, files), 100, 20)
    for source in ("fwjr", "spack_builds", "spack_errors"):
        rows = get(source).load("normaliser")(lines).collect()
        reasons = sorted(r["reject_reason"] or "" for r in rows)
        assert len(rows) == 2 and "too_large" in reasons, (source, reasons)
        assert [r["line_bytes"] for r in rows if r["reject_reason"] != "too_large"] == [1], source


def test_a_line_over_the_limit_keeps_its_first_characters(spark, tmp_path):
    raw = [b"0000|" + b"y" * 300, b"0001|" + "é".encode() * 200 + b"\xff", b"0002|short"]
    (tmp_path / "lines.jsonl").write_bytes(b"\n".join(raw) + b"\n")
    files = readers.list_files(spark, [str(tmp_path)])
    rows = {r["value"][:4]: r for r in readers.with_line_facts(readers.read_lines(spark, files), 100, 20).collect()}
    assert rows["0000"]["too_large"] and rows["0000"]["value"] == "0000|" + "y" * 15
    assert rows["0000"]["line_bytes"] == 305 and not rows["0000"]["invalid_utf8"]
    assert rows["0001"]["too_large"] and rows["0001"]["invalid_utf8"] and rows["0001"]["line_bytes"] == 406
    assert not rows["0002"]["too_large"] and rows["0002"]["value"] == "0002|short"
