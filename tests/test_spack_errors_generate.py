"""The spack_errors generator: the importer's record shape, the normaliser's rules, determinism, scale.

Plain Python (no Spark): the normaliser's rules are checked as the rules themselves say them
(jobrollup.sources.spack_errors.normalise), its message and template with the same functions it
calls (jobrollup.errors.messages), the shape against a real error file put through the importer.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from jobrollup import sources
from jobrollup.cli import generate as generate_cli
from jobrollup.errors import messages
from jobrollup.sources.spack_builds import importer
from jobrollup.sources.spack_errors import generate

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / "tests" / "data" / "spack-errors" / "records" / "petsc_error.json"
DAY = dt.date(2026, 11, 1)
HASH = re.compile(r"^[a-z2-7]{32}$")   # the normaliser's HASH


def _lines(root: Path) -> dict[str, list[dict]]:
    return {str(p.relative_to(root)): [json.loads(line) for line in p.read_text().splitlines()]
            for p in sorted(root.rglob("*.jsonl"))}


def test_generated_records_have_the_shape_the_importer_writes(tmp_path):
    real = importer.read_dump([REAL], DAY)
    written = importer.write_dump(tmp_path / "real", real).errors
    imported = [json.loads(line) for path in written for line in path.read_text().splitlines()]
    generate.generate(tmp_path / "gen", DAY, 1, 400, seed=7, warn_share=0.1)
    generated = [r for records in _lines(tmp_path / "gen").values() for r in records]
    assert len(generated) == 400 and imported
    assert {tuple(r) for r in generated} == {tuple(imported[0])}    # the same keys in the same order
    real_types = {k: {type(r[k]) for r in imported} for k in imported[0]}
    for key, types in {k: {type(r[k]) for r in generated} for k in imported[0]}.items():
        # source_file: [null] or a guessed string, source_line_no then 0 or a string, as in the real files
        assert types <= real_types[key] | ({str} if key in ("source_file", "source_line_no") else set()), key
    assert {r["kind"] for r in generated} == {"error", "warn"}


def test_generated_records_pass_the_normalisers_rules_whole(tmp_path):
    generate.generate(tmp_path, DAY, 2, 500, seed=3, warn_share=0.05)
    files = _lines(tmp_path)
    records = [r for records in files.values() for r in records]
    assert len(records) == 1000
    templates, phases, known_files = Counter(), Counter(), 0
    for name, rows in files.items():
        package, _, kind = Path(name).name.rsplit("-", 1)[0].rpartition("_")
        for r in rows:
            assert (r["package"], r["kind"]) == (package, kind)       # file named as the importer names it
            assert r["package"].strip() and HASH.match(r["hash"]) and r["text"].strip()
            assert 946684800 <= r["ts"] < 4102444800
            day = dt.datetime.fromtimestamp(r["ts"], dt.timezone.utc).date()
            assert Path(name).parts[:3] == (f"{day:%Y}", f"{day:%m}", f"{day:%d}")
            template, problem = messages.normalise(messages.spack_message(r["text"], r["pre_context"], r["post_context"]))
            assert template and problem != "binary", r
            templates[template] += 1
            phases[r["phase"]] += 1
            known_files += isinstance(r["source_file"], str) and bool(r["source_file"].strip())
    assert len(templates) > 50 and templates.most_common(1)[0][1] < 0.3 * len(records)   # a spread of kinds
    assert phases["N/A"] > len(records) / 2 and len(phases) > 2
    assert 0 < known_files < len(records) / 2


def test_the_whole_log_line_is_rebuilt_from_the_display(tmp_path):
    """What the normaliser rebuilds is the line the generator cut, up to the spaces lost where
    spack right-strips a display line that was cut on a space (the real files' ambiguity too)."""
    pairs = list(generate.errors_of_day(DAY, 600, 5, 0.05))
    rebuilt = [(messages.spack_message(r["text"], r["pre_context"], r["post_context"]), whole) for r, whole in pairs]
    assert all("".join(got.split()) == "".join(whole.split()) for got, whole in rebuilt)
    assert sum(got == whole for got, whole in rebuilt) > 0.8 * len(rebuilt)
    assert any(len(whole) > generate.WIDTH for _, whole in pairs)       # some lines wrap


def test_same_seed_same_bytes_other_seed_other_bytes_and_exact_scale(tmp_path):
    generate.generate(tmp_path / "a", DAY, 3, 250, seed=11)
    generate.generate(tmp_path / "b", DAY, 3, 250, seed=11)
    generate.generate(tmp_path / "c", DAY, 3, 250, seed=12)
    a, b, c = (_lines(tmp_path / x) for x in "abc")
    assert a == b and a != c
    assert [p.read_bytes() for p in sorted((tmp_path / "a").rglob("*.jsonl"))] == \
        [p.read_bytes() for p in sorted((tmp_path / "b").rglob("*.jsonl"))]
    per_day = Counter(Path(name).parts[:3] for name, rows in a.items() for _ in rows)
    assert per_day == {("2026", "11", "01"): 250, ("2026", "11", "02"): 250, ("2026", "11", "03"): 250}
    # a day depends only on (seed, day, count): starting a day later gives the same second day
    generate.generate(tmp_path / "d", DAY + dt.timedelta(days=1), 1, 250, seed=11)
    assert _lines(tmp_path / "d") == {k: v for k, v in a.items() if k.startswith("2026/11/02")}


def test_bin_generate_dispatches_to_the_spack_errors_generator(tmp_path, capsys):
    assert sources.get("spack_errors").generator
    assert generate_cli.main(["--source", "spack_errors", str(tmp_path), "--start", "2026-11-01",
                              "--days", "2", "--errors-per-day", "7", "--warn-share", "0"]) == 0
    records = [r for rows in _lines(tmp_path).values() for r in rows]
    assert len(records) == 14 and {r["kind"] for r in records} == {"error"}
    assert "Wrote 14 spack errors and 0 warnings for 2 days" in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:
        generate_cli.main(["--source", "spack_errors", str(tmp_path), "--start", "2026-11-01", "--warn-share", "1.5"])
    assert refused.value.code == 2
