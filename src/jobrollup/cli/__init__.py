"""The commands people type (bin/*): argument parsing and wiring, no aggregation logic."""

from __future__ import annotations

from .. import config, embedded


def mongo_uri(explicit: str | None, conf: dict) -> str:
    """The URI every command uses (config.mongo_uri), else the embedded server, started if
    needed. Raises config.ConfigError or embedded.EmbeddedMongoError with a one-line reason."""
    return config.mongo_uri(explicit, conf) or \
        embedded.ensure_running(config.resolve_path(conf["mongo"]["embedded_dir"])).uri
