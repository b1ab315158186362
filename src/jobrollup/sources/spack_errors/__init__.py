"""spack build-log errors: one record per error line (the spack_errors source).

The definition only: no Spark here. `normalise.py` is the Spark parser both jobs share: the
aggregation's normaliser (lines -> records with their template) and the clustering job's
extractor (the same records as messages to cluster); `with_clusters` gives each record the
cluster the clustering registry (`error_templates`) holds for its template. `generate.py`
writes synthetic error records in the same shape (bin/generate --source spack_errors).

An error record (one JSON object a line, as bin/import-spack writes them from spack's
`<package>_error.json` / `_warn.json` lists; a site's own exports go through it too):
    {"ts": 1795651200, "package": "petsc", "hash": "yqpo42molb24c2hi56yzfdzgupej2pdm",
     "kind": "error"|"warn", "phase": "N/A", "source_file": [null], "text": "...",
     "pre_context": "...", "post_context": "...", "line_no": 1162, ...}

`text` is one log line cut at terminal width: the record's `message` is the whole log line,
rebuilt from it and its contexts (jobrollup.errors.messages.spack_message), its `template` the
masked form the clustering learns, its `cluster` the registry's cluster of that template (null
while bin/cluster-errors has not seen it: run the clustering first, as crontab.example does).
spack writes `phase` "N/A" and `source_file` `[null]` when it does not know: both are null then.
"""

from __future__ import annotations

from jobrollup.sources import Source

SCOPE_KEYS = ("package", "spec_hash", "kind", "phase", "source_file", "cluster", "template")
KINDS = ("error", "warn")
REJECT_REASONS = ("too_large", "malformed_json", "wrong_type", "missing_package", "missing_hash", "malformed_hash",
                  "empty_error_text", "binary_error_text", "missing_ts", "bad_ts", "unreadable_file")

SOURCE = Source(
    name="spack_errors",
    collection="spack_errors",
    scope_keys=SCOPE_KEYS,
    metrics={},
    time_field="ts",
    reject_reasons=REJECT_REASONS,
    reader="jobrollup.spark.readers:read_lines",
    normaliser="jobrollup.sources.spack_errors.normalise:job_records",
    annotator="jobrollup.sources.spack_errors.normalise:with_clusters",
    generator="jobrollup.sources.spack_errors.generate:main",
    indexed_keys=("package", "cluster", "spec_hash"),
    integer_keys=("cluster",),
    error_scope=("package",),
    error_extractor="jobrollup.sources.spack_errors.normalise:errors_to_cluster",
    # bin/cluster-errors' own collections: `spack_errors` is this source's aggregates
    errors_collection_name="spack_error_counts",
    error_assignments_name="spack_error_assignments",
    units={"count": "errors"},
)
