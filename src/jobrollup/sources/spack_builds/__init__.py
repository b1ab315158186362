"""spack build farms: one record per build (the spack_builds source).

The definition only: no Spark here. `importer.py` turns spack's export formats (outcomes,
labels, compats, spec YAML, build records) into the JSON lines this source reads, `normalise.py`
is the Spark normaliser, `generate.py` writes synthetic builds in the same shape.

A build record (one JSON object a line, as bin/import-spack writes them):
    {"ts": 1795651200, "package": "abyss", "version": "2.3.1", "spec_hash": "24dw...",
     "compiler": "gcc", "compiler_version": "9.3.1", "platform": "linux", "os": "rhel7",
     "target": "broadwell", "status": "success"|"failed", "failed_part": "package"|"dependency"|null,
     "install_time": 883.9, "allocation_time": 3600, "duration": null,
     "memory_max": null, "memory_mean": null}
"""

from __future__ import annotations

from jobrollup.sources import Source

SCOPE_KEYS = ("package", "version", "compiler", "compiler_version", "platform", "os", "target",
              "status", "failed_part")

# One value per build: the rule only says how a build's single value is taken.
METRICS: dict[str, dict[str, str]] = {
    "time": {"install_time": "max", "allocation_time": "max", "duration": "max"},
    "memory": {"memory_max": "max", "memory_mean": "mean"},
}

STATUSES = ("success", "failed")
FAILED_PARTS = ("package", "dependency")
REJECT_REASONS = ("too_large", "malformed_json", "wrong_type", "missing_package", "unknown_status", "missing_ts", "bad_ts",
                  "unreadable_file")

UNITS = {
    "count": "builds", "successes": "builds", "failures": "builds",
    "failure_rate": "% of builds", "success_rate": "% of builds",
    "time.install_time": "s", "time.allocation_time": "s", "time.duration": "s",
    "memory.memory_max": "bytes", "memory.memory_mean": "bytes",
}

SOURCE = Source(
    name="spack_builds",
    collection="spack_builds",
    scope_keys=SCOPE_KEYS,
    metrics=METRICS,
    # summed exactly per document, so success rates merge across tiers
    counters=("successes", "failures"),
    sketched=("time__install_time",),
    time_field="ts",
    reject_reasons=REJECT_REASONS,
    reader="jobrollup.spark.readers:read_lines",
    normaliser="jobrollup.sources.spack_builds.normalise:job_records",
    generator="jobrollup.sources.spack_builds.generate:main",
    indexed_keys=("package", "compiler_version", "compiler", "status"),
    failure_key="status",
    success_values=("success",),
    units=UNITS,
)
