"""spack build-error records, as the clustering job reads them (errors only, not aggregated yet).

Error-record files (`<package>_error.json`: a JSON list of {text, pre_context, post_context,
hash}) in ROOT/YYYY/MM/DD/ folders. They carry no time: their day folder is their time.
"""

from __future__ import annotations

from jobrollup.sources import Source

SOURCE = Source(
    name="spack",
    collection="spack",
    scope_keys=("package",),
    metrics={},
    time_field="(the day folder)",
    reject_reasons=("malformed_json",),
    error_scope=("package",),
    error_extractor="jobrollup.errors.job:spack_errors",
)
