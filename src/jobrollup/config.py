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
ENV_MONGO_URI_FILE = "JOBROLLUP_MONGO_URI_FILE"


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


def mongo_uri(explicit: str | None, conf: dict) -> str | None:
    """The MongoDB URI: --mongo-uri, $JOBROLLUP_MONGO_URI, a URI file ($JOBROLLUP_MONGO_URI_FILE
    or conf mongo.uri_file), conf mongo.uri; None means the embedded server.

    A URI file holds credentials, so it must be readable by its owner only (mode 600)."""
    if explicit:
        return explicit
    if os.environ.get(ENV_MONGO_URI):
        return os.environ[ENV_MONGO_URI]
    path = os.environ.get(ENV_MONGO_URI_FILE) or conf["mongo"].get("uri_file")
    if path:
        path = resolve_path(path)
        try:
            mode = os.stat(path).st_mode
        except OSError as error:
            raise ConfigError(f"MongoDB URI file {path}: {error.strerror}") from None
        if mode & 0o077:
            raise ConfigError(f"MongoDB URI file {path} is readable by others (mode {mode & 0o777:o}): "
                              f"chmod 600 {path}")
        with open(path) as handle:
            return handle.read().strip()
    return conf["mongo"].get("uri") or None


def source_root(conf: dict, source: str) -> str:
    """Where a source's ROOT/YYYY/MM/DD/ folders are (conf [sources.<name>] root), resolved."""
    try:
        return resolve_path(conf["sources"][source]["root"])
    except KeyError:
        raise ConfigError(f"no input root for source {source!r}: set [sources.{source}] root = \"...\" "
                          "in the configuration, or give --input") from None


def spark_settings(conf: dict, profile: str | None = None, master: str | None = None,
                   input_bytes: int | None = None) -> tuple[str, dict[str, str]]:
    """(master, settings) of a deployment profile of conf [spark.profiles.<name>], over the
    settings every profile shares ([spark.conf]); --master overrides the profile's master.

    `input_bytes`: about how much the run reads (`dump_files.input_size`), when known. A profile's
    [small_input] `java_options` join the driver's JVM options unless the input is known to be
    at least its `bytes` (the local profile's: the JVM's quick JIT tier, which starts sooner but
    runs slower; conf/jobrollup.toml)."""
    spark = conf["spark"]
    name = profile or spark.get("profile", "local")
    profiles = spark.get("profiles", {})
    if name not in profiles:
        raise ConfigError(f"unknown Spark profile {name!r}: choose one of {', '.join(sorted(profiles)) or '(none defined)'}")
    chosen = profiles[name]
    settings = {str(k): str(v) for k, v in spark.get("conf", {}).items()}
    settings.update({str(k): str(v) for k, v in chosen.get("conf", {}).items()})
    small = chosen.get("small_input")
    if small and (input_bytes is None or input_bytes < byte_size(small["bytes"], f"[spark.profiles.{name}.small_input] bytes")):
        options = settings.get("spark.driver.extraJavaOptions", "")
        settings["spark.driver.extraJavaOptions"] = f"{options} {small['java_options']}".strip()
    return master or chosen["master"], settings


_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def byte_size(value: str | int, setting: str) -> int:
    """A size as Spark writes them ("768m", "2g", 1024) in bytes."""
    text = str(value).strip().lower().removesuffix("b")
    number, unit = (text[:-1], text[-1]) if text[-1:] in _UNITS else (text, "")
    try:
        return int(float(number) * _UNITS[unit])
    except ValueError:
        raise ConfigError(f"{setting}: {value!r} is not a size (examples: 768m, 2g)") from None

