"""Template clusters: stable ids across runs, replayed state, and quality against Drain3."""

from __future__ import annotations

import gzip
import json
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from sklearn.metrics import adjusted_rand_score

from jobrollup.errors import messages, samples as error_samples
from jobrollup.errors.clustering import TemplateClusterer, grouping_accuracy
from jobrollup.errors.file import cluster_file

ROOT = Path(__file__).resolve().parents[1]
SPACK_SET = ROOT / "tests" / "data" / "spack-errors" / "labelled.jsonl.gz"
CLUSTER_ERRORS = str(ROOT / "bin" / "cluster-errors")


def templates_of(rows):
    return Counter(messages.normalise(row["message"])[0] for row in rows)


def test_grouping_accuracy():
    assert grouping_accuracy(["a", "a", "b"], [1, 1, 2]) == 1.0
    assert grouping_accuracy(["a", "a", "b"], [1, 1, 1]) == 0.0      # b merged into a's cluster
    assert grouping_accuracy(["a", "a", "b", "c"], [1, 2, 3, 4]) == 0.5  # a split, b and c right
    assert grouping_accuracy([], []) == 1.0


def test_same_input_same_clusters_whatever_the_order():
    rows = error_samples.labelled(3000, seed=3)
    counts = templates_of(rows)
    one, two = TemplateClusterer(), TemplateClusterer()
    one.learn_many(counts)
    two.learn_many(dict(reversed(list(counts.items()))))
    assert one.of_template == two.of_template


def test_ids_are_stable_from_night_to_night_and_new_kinds_get_new_ids(tmp_path):
    kinds = sorted(error_samples.KINDS)
    night1 = error_samples.labelled(2000, seed=1, kinds=kinds[:20])
    night2 = error_samples.labelled(2000, seed=2, kinds=kinds[10:])   # half old kinds, half new
    model = TemplateClusterer()
    model.learn_many(templates_of(night1))
    before = dict(model.of_template)
    cluster_of_kind = {}
    for row in night1:
        cluster_of_kind.setdefault(row["group"], model.cluster_of(messages.normalise(row["message"])[0]))
    model.save(tmp_path / "model.jsonl")

    reloaded = TemplateClusterer.load(tmp_path / "model.jsonl")
    assert reloaded.of_template == before
    assert set(reloaded.clusters) == set(model.clusters)
    new = reloaded.learn_many(templates_of(night2))
    assert {t: reloaded.of_template[t] for t in before} == before     # nothing known moves
    old_ids = set(before.values())
    for row in night2:
        cluster = reloaded.cluster_of(messages.normalise(row["message"])[0])
        if row["group"] in cluster_of_kind:
            assert cluster == cluster_of_kind[row["group"]], row     # an old kind's new variant
        else:
            assert cluster not in old_ids, row                          # a new kind, a new cluster
    assert new and all(t not in before for t in new)


def test_replaying_the_state_rebuilds_the_same_model():
    model = TemplateClusterer()
    model.learn_many(templates_of(error_samples.labelled(3000, seed=4)))
    replayed = TemplateClusterer.from_state(list(model.state()))
    later = templates_of(error_samples.labelled(1000, seed=5))
    model.learn_many(later)
    replayed.learn_many(later)
    assert replayed.of_template == model.of_template


def drain3_clusters(texts):
    from drain3 import TemplateMiner
    miner = TemplateMiner()
    return [miner.add_log_message(text)["cluster_id"] for text in texts]


def cluster_with_the_command(rows, tmp_path):
    """The two-pass code of `bin/cluster-errors --messages IN --out OUT`, called in-process."""
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    cluster_file(source, out, TemplateClusterer())
    return [json.loads(line)["cluster"] for line in out.read_text().splitlines()]


@pytest.mark.parametrize("name, minimum", [("generated", 0.95), ("spack", 0.75)])
def test_quality_beats_drain3_on_labelled_sets(name, minimum, tmp_path):
    if name == "generated":
        rows = error_samples.labelled(5000, seed=21)
    else:
        with gzip.open(SPACK_SET, "rt", encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle]
    truth = [row["group"] for row in rows]
    ours = cluster_with_the_command(rows, tmp_path)
    theirs = drain3_clusters([row["message"] for row in rows])
    ours_accuracy, theirs_accuracy = grouping_accuracy(truth, ours), grouping_accuracy(truth, theirs)
    assert ours_accuracy >= minimum
    assert ours_accuracy > theirs_accuracy
    assert adjusted_rand_score(truth, ours) > adjusted_rand_score(truth, theirs)


def test_the_file_clustering_keeps_input_order_and_counts_bad_lines(tmp_path):
    lines = [json.dumps({"message": "Job has exceeded maxRSS: 2000 MB", "site": "T2_CH_CERN"}),
             "this is not json",
             json.dumps({"message": ""}),
             json.dumps([1, 2]),
             json.dumps({"message": "\x00\x01\x02\x03\x04\x05\x06binary"}),
             json.dumps({"text": "no message field"}),
             json.dumps({"message": "Job has exceeded maxRSS: 16000 MB", "id": 7}),
             json.dumps({"message": "x" * 2_000_000}),
             json.dumps({"message": "ModuleNotFoundError: No module named 'numpy'"})]
    source, out, model = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "model.jsonl"
    source.write_text("\n".join(lines) + "\n")
    clusterer = TemplateClusterer()
    result = cluster_file(source, out, clusterer)
    clusterer.save(model)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == len(lines)
    assert rows[0]["site"] == "T2_CH_CERN" and rows[6]["id"] == 7          # fields carried along
    assert rows[0]["cluster"] == rows[6]["cluster"] is not None
    assert rows[0]["label"] == "Job has exceeded maxRSS: <NUM> MB"
    assert [rows[i].get("problem") for i in (1, 2, 3, 4, 5, 7)] == \
        ["not_json", "empty", "not_an_object", "binary", "no_message", "truncated"]
    assert all(rows[i]["cluster"] is None for i in (1, 2, 3, 4, 5))
    assert rows[7]["cluster"] is not None and rows[8]["cluster"] not in (None, rows[0]["cluster"])
    assert "problems: binary 1, empty 1, no_message 1, not_an_object 1, not_json 1, truncated 1" in \
        result.summary(out)
    assert result.lines == len(lines) and result.clustered == 4

    # a second file with the saved model: the same messages keep their clusters
    again = cluster_file(source, tmp_path / "again.jsonl", TemplateClusterer.load(model))
    assert again.new_templates == 0 and "0 new" in again.summary(out)
    assert (tmp_path / "again.jsonl").read_text() == out.read_text()


def test_the_command_clusters_a_file_as_the_library_does(tmp_path):
    rows = error_samples.labelled(300, seed=8)
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"message": r["message"], "group": r["group"]}) + "\n" for r in rows))
    done = subprocess.run([CLUSTER_ERRORS, "--messages", str(source), "--out", str(tmp_path / "cmd.jsonl")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.strip().splitlines()[-1].startswith("cluster-errors: 300 lines, 300 messages clustered")
    cluster_file(source, tmp_path / "lib.jsonl", TemplateClusterer())
    assert (tmp_path / "cmd.jsonl").read_text() == (tmp_path / "lib.jsonl").read_text()


def test_the_command_refuses_bad_arguments(tmp_path):
    done = subprocess.run([CLUSTER_ERRORS, "--messages", str(tmp_path / "missing.jsonl"),
                           "--out", str(tmp_path / "o.jsonl")], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1].startswith("error: messages file not found")
    done = subprocess.run([CLUSTER_ERRORS, "--messages", "x.jsonl"], capture_output=True, text=True)
    assert done.returncode == 2 and "--messages and --out go together" in done.stderr


_AWKWARD_LINES = [
    b'{"message": "make[2]: *** [all] Error 2", "id": 1}\n',
    b'{"message": "make[3]: *** [x] Error 2", "n": 123456789012345678901234567890, "f": 1e400}\n',
    b'{"message": NaN}\n', b'{"message": 7}\n', b'{"message": null}\n', b'{"message": ""}\n',
    b'{"message": "lone \\ud800 surrogate 12"}\n', b'{"\\udc80": 1, "message": "key 3"}\n',
    b'{"message": "bad \xff byte"}\n', b'{"message": "a\x01b"}\n', b'[1, 2]\n', b'"text"\n', b'\n',
    b'{"message": "x 1"}\r\n', b'  {"message": "x 2"}  \n', b'{"message": "x 3"}', b'{"m": 1, "m": 2}\n',
    b'{"message": "dup 1", "message": "dup 2"}\n', b'{"message": "has cluster", "cluster": 5}\n',
    b'{"message": "c", "pre_context": "  >> 12    c", "post_context": ""}\n', b'{}\n',
    b'{"message": "' + b"long 1 " * 700 + b'"}\n', b'{"message": "caf\xc3\xa9 \\u00e9 4"}\n',
]


def test_orjson_decoding_gives_the_json_modules_output_byte_for_byte(tmp_path, monkeypatch):
    from jobrollup.errors import file as errors_file
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"".join(_AWKWARD_LINES * 3))
    cluster_file(source, tmp_path / "fast.jsonl", TemplateClusterer())
    monkeypatch.setattr(errors_file, "_fast_message", None)     # the json module alone
    cluster_file(source, tmp_path / "plain.jsonl", TemplateClusterer())
    assert (tmp_path / "fast.jsonl").read_bytes() == (tmp_path / "plain.jsonl").read_bytes()
    with open(source, "rb") as lines:
        assert (tmp_path / "plain.jsonl").read_bytes().count(b"\n") == sum(1 for _ in lines)
