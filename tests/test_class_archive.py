"""The JVM's class archive of local runs (jobrollup.spark.class_archive): saved once by a run
that succeeds, then mapped; another Java or other jars get an archive of their own."""

from __future__ import annotations

import pytest

from jobrollup.spark import class_archive


@pytest.fixture
def java_and_jars(tmp_path, monkeypatch):
    home = tmp_path / "jdk"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("#!/bin/sh\n")
    jars = tmp_path / "jars"
    jars.mkdir()
    (jars / "spark-core.jar").write_bytes(b"x" * 10)
    monkeypatch.setenv("JAVA_HOME", str(home))
    return home, jars


def test_the_first_run_saves_the_archive_and_later_runs_map_it(tmp_path, java_and_jars):
    _, jars = java_and_jars
    folder = tmp_path / "cds"
    first = class_archive.for_run(folder, jars, "local[*]")
    assert first.saving is not None and not first.path.exists()
    assert f"-XX:ArchiveClassesAtExit={first.saving}" in first.java_options and "-Xlog:cds*=off" in first.java_options
    first.saving.write_bytes(b"archive")          # what the JVM writes at its exit
    assert first.keep(succeeded=True) and first.path.read_bytes() == b"archive"
    later = class_archive.for_run(folder, jars, "local[2]")
    assert later.saving is None and later.path == first.path
    assert later.java_options.startswith(f"-XX:SharedArchiveFile={first.path} ")
    assert not later.keep(succeeded=True) and first.path.exists()


def test_a_failed_run_keeps_nothing(tmp_path, java_and_jars):
    _, jars = java_and_jars
    run = class_archive.for_run(tmp_path / "cds", jars, "local")
    run.saving.write_bytes(b"half")
    assert not run.keep(succeeded=False)
    assert not run.saving.exists() and not run.path.exists()


def test_other_jars_or_another_java_get_their_own_archive(tmp_path, java_and_jars):
    home, jars = java_and_jars
    before = class_archive.for_run(tmp_path / "cds", jars, "local").path
    (jars / "spark-sql.jar").write_bytes(b"y")
    after_jars = class_archive.for_run(tmp_path / "cds", jars, "local").path
    (home / "bin" / "java").write_text("#!/bin/sh\n# another build\n")
    after_java = class_archive.for_run(tmp_path / "cds", jars, "local").path
    assert len({before, after_jars, after_java}) == 3


def test_cluster_masters_and_machines_without_java_have_none(tmp_path, java_and_jars, monkeypatch):
    _, jars = java_and_jars
    assert class_archive.for_run(tmp_path / "cds", jars, "spark://master:7077") is None
    assert class_archive.for_run(tmp_path / "cds", jars, "yarn") is None
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    assert class_archive.for_run(tmp_path / "cds", jars, "local") is None
