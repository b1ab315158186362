"""Error grouping on logs of many styles (the wide dev set), through the real code.

Quality against Drain3 on every system, stable ids across two nights, the replayed registry,
the tokeniser and the variability analysis, and the speed-ups that must not change a template.
"""

from __future__ import annotations

import json
import logging
import random
import re

import pytest
from sklearn.metrics import adjusted_rand_score

from jobrollup.errors import devset, messages
from jobrollup.errors.clustering import (WILD, TemplateClusterer, grouping_accuracy, merge_variable_positions,
                                         pattern)
from jobrollup.errors.file import NormaliseCache, cluster_file


def drain3_clusters(texts):
    from drain3 import TemplateMiner
    logging.getLogger("drain3").setLevel(logging.ERROR)
    miner = TemplateMiner()
    return [miner.add_log_message(text)["cluster_id"] for text in texts]


def clustered(rows, tmp_path, model=None):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("".join(json.dumps({"message": row["message"]}) + "\n" for row in rows))
    cluster_file(source, out, model if model is not None else TemplateClusterer())
    return [json.loads(line)["cluster"] for line in out.read_text().splitlines()]


def test_the_dev_set_is_wide_and_deterministic():
    systems = devset.all_systems()
    assert len(systems) >= 22
    assert sum(len(devset.SYSTEMS[s]) for s in systems) >= 490
    assert devset.labelled("sshd", 50, seed=3) == devset.labelled("sshd", 50, seed=3)
    assert devset.labelled("sshd", 50, seed=3) != devset.labelled("sshd", 50, seed=4)


def test_every_system_groups_at_least_as_well_as_drain3(tmp_path):
    """Mean grouping accuracy 0.87 or more on the dev set, no system below Drain3's default
    settings (measured in the same run), no per-system setting."""
    accuracies, aris = {}, {}
    for system in devset.all_systems():
        rows = devset.labelled(system, 1000, seed=0)
        truth = [row["group"] for row in rows]
        ours = clustered(rows, tmp_path)
        theirs = drain3_clusters([row["message"] for row in rows])
        accuracies[system] = grouping_accuracy(truth, ours)
        aris[system] = adjusted_rand_score(truth, ours)
        assert accuracies[system] >= grouping_accuracy(truth, theirs) - 0.01, system
    assert sum(accuracies.values()) / len(accuracies) >= 0.87
    assert sum(aris.values()) / len(aris) >= 0.93


def test_ids_are_stable_across_two_nights_of_system_logs(tmp_path):
    for system in ("sshd", "hadoop", "openstack", "bgl"):
        night1 = devset.labelled(system, 600, seed=1)
        night2 = devset.labelled(system, 600, seed=2)
        model = TemplateClusterer()
        first = clustered(night1, tmp_path, model)
        model.save(tmp_path / "model.jsonl")
        known = dict(model.of_template)
        cluster_of_group: dict = {}
        for row, cluster in zip(night1, first):
            cluster_of_group.setdefault(row["group"], set()).add(cluster)

        reloaded = TemplateClusterer.load(tmp_path / "model.jsonl")
        second = clustered(night2, tmp_path, reloaded)
        assert {t: reloaded.of_template[t] for t in known} == known          # nothing known moves
        same = sum(1 for row, cluster in zip(night2, second)
                   if row["group"] in cluster_of_group and cluster in cluster_of_group[row["group"]])
        seen = sum(1 for row in night2 if row["group"] in cluster_of_group)
        assert same >= 0.97 * seen, system                                   # old kinds keep their ids
        old_ids = set(known.values())
        for row, cluster in zip(night2, second):
            if row["group"] not in cluster_of_group:
                assert cluster not in old_ids, (system, row)                 # new kinds get new ids


def test_replaying_the_registry_rebuilds_the_same_model():
    model = TemplateClusterer()
    for system in ("healthapp", "proxy", "zookeeper"):
        model.learn_many(counts(devset.labelled(system, 500, seed=5)))
    replayed = TemplateClusterer.from_state(json.loads(json.dumps(list(model.state()))))
    assert replayed.of_template == model.of_template
    later = counts(devset.labelled("healthapp", 500, seed=6) + devset.labelled("android", 500, seed=6))
    assert model.learn_many(later) == replayed.learn_many(later)
    assert replayed.of_template == model.of_template


def counts(rows):
    found: dict = {}
    for row in rows:
        template = messages.normalise(row["message"])[0]
        found[template] = found.get(template, 0) + 1
    return found


@pytest.mark.parametrize("template, expected", [
    ("proxy.example.org:<NUM> open through proxy", ("proxy.example.org", ":", WILD, "open", "through", "proxy")),
    ("<NUM>.<NUM>.<NUM>.<NUM>:<NUM> connected", (WILD, "connected")),
    ("session opened for user root by (uid=<NUM>)",
     ("session", "opened", "for", "user", "root", "by", "(", "uid", "=", WILD, ")")),
    ("state=RUNNING, flags=0x1", ("state", "=", WILD, ",", "flags", "=", WILD)),
    ("Fan speeds ( <NUM> <NUM> <NUM> )", ("Fan", "speeds", "(", WILD, ")")),
    ("Server listening on :: port <NUM>.", ("Server", "listening", "on", WILD, "port", WILD)),
    ("Block broadcast_7 stored (size <NUM>.<NUM> KB)", ("Block", WILD, "stored", "(", "size", WILD, ")")),
    ("[client <NUM>.<NUM>.<NUM>.<NUM>] File does not exist: <PATH>",
     ("[", "client", WILD, "]", "File", "does", "not", "exist", ":", WILD)),
])
def test_patterns_tokenise_punctuation_fields_and_addresses(template, expected):
    assert pattern(template) == expected


def test_a_position_that_varies_much_is_a_parameter_a_fixed_word_is_a_kind():
    users = ["root", "admin", "alice", "bob", "guest", "oracle"]
    shapes = [pattern(f"{verb} password for {user} from <NUM>.<NUM>.<NUM>.<NUM> port <NUM> ssh2")
              for verb in ("Accepted", "Failed") for user in users]
    merged = merge_variable_positions(shapes)
    assert len(set(merged.values())) == 2                        # Accepted / Failed: two kinds
    assert all(shape[3] == WILD for shape in merged.values())    # the user is a parameter
    verbs = [pattern(f"Cannot {verb}: No such file or directory") for verb in ("open", "mkdir", "utime")]
    assert len(set(merge_variable_positions(verbs).values())) == 3   # three kind words stay apart
    states = [pattern(f"state change: {a} to {b}") for a in ("UP", "DOWN") for b in ("UP", "DOWN", "FAILED")]
    assert len(set(merge_variable_positions(states).values())) == 1  # enum values are parameters


def kinds(templates):
    return len(set(merge_variable_positions([pattern(t) for t in templates]).values()))


def test_a_word_with_few_values_after_the_head_is_a_value_unless_it_is_part_of_a_phrase():
    """Kind words are in a message's head (up to its first parameter or colon); after it, a word
    with 2-3 values is a value (issue 17: hpc `down|timeout|unreachable`, mac `kernel|extension`),
    unless another word changes with it (a phrase), or it is a whole head of its own."""
    assert kinds([f"boot (command <NUM>) Error: nodes: node-<NUM> {state}"
                  for state in ("down", "timeout", "unreachable")]) == 1
    assert kinds([f"Kext {name} <VER> in executable {where} loaded" for where in ("kernel", "extension")
                  for name in ("com.apple.driver.AppleHDA", "com.apple.iokit.IOBluetoothFamily")]) == 1
    assert kinds([f"The node was low on resource: {what}. Container {name} was using <NUM>Ki"
                  for what in ("memory", "storage") for name in ("api", "web", "redis", "nginx", "worker")]) == 1
    # a phrase after a parameter: two words that change together name the kind
    assert kinds(["<PATH>:<NUM>: error: expected <Q> at end of input",
                  "<PATH>:<NUM>: error: expected <Q> before end of line"]) == 2
    # ... but the parts of one value joined by punctuation are not a phrase
    assert kinds([f"Segmentation fault at address <HEX> in {name} ()"
                  for name in ("boost::shared_ptr", "std::optional", "Kokkos::View")]) == 1
    # kind words in the head: after a leading parameter, and after a bracketed field with one
    assert kinds([f"<NUM>.<NUM>.<NUM>.<NUM>:<NUM>:{verb} block blk_<NUM> to /<NUM>.<NUM>.<NUM>.<NUM>"
                  for verb in ("Served", "Transmitted")]) == 2
    assert kinds([f"[req-<UUID>] [instance: <UUID>] VM {event} (Lifecycle Event)"
                  for event in ("Started", "Stopped", "Paused")]) == 3


def test_the_normalise_cache_gives_the_templates_of_normalise():
    rng = random.Random(7)
    texts = []
    for _ in range(3000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 12)))
        texts += [f"Job has exceeded maxRSS: {digits} MB", f"x86_64 sha{digits[:3]} failed",
                  f"object {digits}abcdef{digits} at 0x{digits}", f"1x{digits} and {digits}x1",
                  "hash " + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(32)),
                  f"v{digits[:2]}.{digits[-2:]} make[{digits[:1]}]: *** [all] Error {digits[:1]}"]
    for cache in (NormaliseCache(size=500), NormaliseCache()):     # forgetting, and remembering
        for text in texts + texts:
            assert cache(text) == messages.normalise(text), text
    assert cache.hits >= len(texts)


def test_the_number_mask_matches_what_it_says():
    """The NUM mask is written to begin with a character set (faster); it must match what
    (?<![A-Za-z_\\d])[-+]?\\d+ matches."""
    reference = re.compile(r"(?<![A-Za-z_\d])[-+]?\d+")
    fast = next(pattern for token, _, pattern in messages.MASKS if token == "<NUM>")
    rng = random.Random(3)
    for _ in range(20000):
        text = "".join(rng.choice("0123456789ab_-+ .:\u0663Z") for _ in range(rng.randint(1, 30)))
        assert fast.sub("<NUM>", text) == reference.sub("<NUM>", text), text


def test_a_severity_label_does_not_end_the_head():
    """`file:line: error: #error ...`: the head is what follows `error:` (spack's hand labels call
    `size_t` / `ssize_t` two kinds), while a colon after the event's name still ends it."""
    assert kinds([f"<PATH>:<NUM>:<NUM>: error: #error Unable to determine size of {t}"
                  for t in ("size_t", "ssize_t")]) == 2
    assert kinds([f"WARNING: {w} is calling TSMGetInputSourceProperty" for w in ("Safari", "Mail")]) == 2
    assert kinds([f"nodes: <NUM> {state}" for state in ("down", "timeout", "unreachable")]) == 1


def test_words_that_vary_independently_keep_a_kind_word_of_the_head():
    """Every combination of two positions' words: values, unless one is in the head, which
    then stays a kind word (`Cache hit|miss ... region users|orders|catalog`)."""
    assert kinds([f"Cache {verb} for key user:<NUM> in region {region}"
                  for verb in ("hit", "miss") for region in ("users", "orders", "catalog")]) == 2
    assert kinds([f"PSU status ( {a} {b} )" for a in ("on", "off") for b in ("on", "off")]) == 1
    assert kinds([f"usb <NUM>-<NUM>: new {speed} speed USB device using {hcd}"
                  for speed in ("low", "full", "high") for hcd in ("uhci_hcd", "ehci_hcd")]) == 1


def test_an_http_method_names_a_request_line_only():
    assert kinds([f"Started {m} <Q> for <NUM>.<NUM>.<NUM>.<NUM> at <TS>"
                  for m in ("GET", "POST", "PUT", "DELETE")]) == 1
    assert kinds([f"[req-<UUID>] <NUM>.<NUM>.<NUM>.<NUM> {m} <URL> status: <NUM> len: <NUM>"
                  for m in ("GET", "POST", "DELETE")]) == 3


def test_an_empty_quoted_value_is_a_value():
    assert pattern("Tomcat started on port(s): <NUM> (http) with context path ''") == \
        pattern("Tomcat started on port(s): <NUM> (http) with context path <Q>")
    assert pattern("it''s") == ("it", "'", "'", "s")


def test_a_group_that_a_busier_group_matches_joins_it():
    """`device lo left` alone reads `left` as a kind word; the busier `device <*> <*> promiscuous
    mode`, which saw the position vary, matches it: one kind."""
    templates = [f"device {iface} {verb} promiscuous mode" for iface in ("eth0", "ib0", "en1", "lo")
                 for verb in ("entered", "left")]
    assert kinds(templates) == 1
    assert kinds(["Cannot open: No such file", "Cannot mkdir: No such file"]) == 2   # no wildcard: apart
