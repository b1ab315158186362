"""The shape of the house: sources are definitions, and the commands that need no Spark never
load it (bin/query, bin/cleanup without --spark, every --dry-run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import write_conf

from jobrollup import sources
from jobrollup.sources import Source

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def without_pyspark(tmp_path, mongo_uri):
    """An environment in which `import pyspark` fails, and a conf with a database of its own."""
    blocker = tmp_path / "blocker" / "pyspark"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('pyspark must not be loaded by this command')\n")
    conf = write_conf(tmp_path / "conf.toml", {"mongo": {"database": f"nospark_{os.getpid()}"}})
    return dict(os.environ, PYTHONPATH=str(blocker.parent), JOBROLLUP_CONF=str(conf), JOBROLLUP_MONGO_URI=mongo_uri)


@pytest.mark.parametrize("command", [
    ["aggregate", "2026-01-01", "--dry-run"],
    ["aggregate", "2026-01-01", "--precision", "week", "--source", "fwjr", "--dry-run"],
    ["cluster-errors", "2026-01-01", "--source", "spack_errors", "--dry-run"],
    ["cleanup", "--dry-run"],
    ["cleanup"],
    ["query", "--from", "2026-01-01", "--to", "2026-01-01", "--by", "time:hour", "-m", "count,failure_rate"],
    ["query", "--errors", "--from", "2026-01-01"],
])
def test_commands_that_need_no_spark_never_load_it(without_pyspark, tmp_path, command):
    done = subprocess.run([str(ROOT / "bin" / command[0]), *command[1:], *(
        ["--input", str(tmp_path)] if command[0] in ("aggregate", "cluster-errors") else [])],
        env=without_pyspark, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "pyspark must not be loaded" not in done.stderr


def test_the_blocker_does_block(without_pyspark):
    done = subprocess.run([sys.executable, "-c", "import pyspark"], env=without_pyspark, capture_output=True, text=True)
    assert done.returncode != 0 and "pyspark must not be loaded" in done.stderr


@pytest.mark.parametrize("name", sources.names())
def test_every_source_is_a_whole_definition(name):
    source = sources.get(name)
    assert source.name == name and source.collection
    assert set(source.indexed_keys) <= set(source.scope_keys)
    assert set(source.integer_keys) <= set(source.scope_keys)
    assert source.failure_key is None or source.failure_key in source.scope_keys
    for part in ("reader", "normaliser", "annotator", "generator", "error_extractor"):
        if getattr(source, part):
            assert callable(source.load(part)), f"{name}.{part} does not resolve"
    assert source.aggregates or source.error_extractor, f"{name} is neither aggregated nor clustered"


def test_a_source_refuses_what_it_cannot_combine():
    with pytest.raises(ValueError, match="unknown rule 'median'"):
        Source(name="x", collection="x", scope_keys=("a",), metrics={"g": {"m": "median"}},
               time_field="ts", reject_reasons=())
    with pytest.raises(ValueError, match="indexed keys not in the scope"):
        Source(name="x", collection="x", scope_keys=("a",), metrics={}, time_field="ts", reject_reasons=(),
               indexed_keys=("b",))


def test_an_unknown_source_names_the_choices():
    with pytest.raises(ValueError, match="choose one of fwjr"):
        sources.get("nope")
    done = subprocess.run([str(ROOT / "bin" / "aggregate"), "1", "--source", "nope", "--dry-run"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "invalid choice: 'nope'" in done.stderr


def test_one_nesting_table_serves_the_cleanup_and_the_queries():
    from jobrollup import cleanup, tiers
    assert cleanup.ROLLUPS == {"hour": ("day",), "day": ("week", "month")}
    assert tiers.sums_into("hour") == ("hour", "day", "week", "month")
    assert tiers.sums_into("day") == ("day", "week", "month")
    assert tiers.sums_into("week") == ("week",) and tiers.sums_into("month") == ("month",)
