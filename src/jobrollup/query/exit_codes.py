"""The exit-code dictionary: a description for every CMSSW/WMCore exit code in an answer."""

from __future__ import annotations

import json
import math
import os
from typing import TYPE_CHECKING

from .. import config
from .question import QueryError

if TYPE_CHECKING:   # imported where a frame is described: bin/query's other answers never load pandas
    import pandas as pd

# -- exit codes ----------------------------------------------------------------------------------

ENV_EXIT_CODES = "JOBROLLUP_EXIT_CODES"
UNKNOWN_CODE = "unknown (not in the dictionary)"
# exitCode null: a job that did not succeed and whose report gave no readable exit code
NO_CODE = "unknown: the report gives no readable exit code"


def load_exit_codes(path: str | os.PathLike | None = None) -> dict[int, str]:
    """The exit-code dictionary: `path`, else $JOBROLLUP_EXIT_CODES, else conf/exit_codes.json."""
    path = path or os.environ.get(ENV_EXIT_CODES) or config.project_home() / "conf" / "exit_codes.json"
    try:
        with open(path) as handle:
            raw = json.load(handle)
    except (OSError, ValueError) as error:
        raise QueryError(f"exit-code dictionary {path} is unreadable: {error}") from None
    out = {}
    for code, text in raw.items():
        try:
            out[int(code)] = str(text)
        except ValueError:
            continue  # "_comment" and the like
    return out


def describe_exit_codes(frame: pd.DataFrame, names: dict[int, str]) -> pd.DataFrame:
    """A `description` column right after `exitCode`; codes missing from the dictionary are
    listed as unknown, never dropped."""
    if "exitCode" not in frame.columns or "description" in frame.columns:
        return frame
    import pandas as pd
    out = frame.copy()
    out.insert(out.columns.get_loc("exitCode") + 1, "description",
               [NO_CODE if c is None or (isinstance(c, float) and math.isnan(c)) or c is pd.NA
                else UNKNOWN_CODE if int(c) not in names else names[int(c)] for c in out["exitCode"]])
    out.attrs = frame.attrs
    return out
