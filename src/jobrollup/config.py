"""Settings: conf/jobrollup.toml, then the environment, then the command line.

The file is the single place for defaults; commands override single values. The MongoDB URI
comes from --mongo-uri, JOBROLLUP_MONGO_URI or the file, in that order; when none gives one,
the embedded server is used.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

ENV_HOME = "JOBROLLUP_HOME"
ENV_CONF = "JOBROLLUP_CONF"
ENV_MONGO_URI = "JOBROLLUP_MONGO_URI"


def project_home() -> Path:
    """The project folder: JOBROLLUP_HOME, or the checkout this module lives in, or the cwd."""
    if os.environ.get(ENV_HOME):
        return Path(os.environ[ENV_HOME]).resolve()
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "conf" / "jobrollup.toml").exists():
        return checkout
    return Path.cwd()


class ConfigError(ValueError):
    """The configuration file is missing or unreadable."""


def load(path: str | os.PathLike | None = None) -> dict[str, Any]:
    path = Path(path or os.environ.get(ENV_CONF) or project_home() / "conf" / "jobrollup.toml")
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None


def resolve_path(value: str) -> str:
    """A path of the configuration: URIs stay as they are, relative paths join the project."""
    if "://" in value or os.path.isabs(value):
        return value
    return str(project_home() / value)


def is_local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


def local_path(path: str) -> str:
    return path[len("file://"):] if path.startswith("file://") else path
