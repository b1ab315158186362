"""Error messages into kinds: normalise (messages), cluster (clustering), a file (file), the
nightly Spark job (job) and generated labelled messages (samples)."""
