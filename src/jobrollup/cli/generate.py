"""bin/generate: synthetic dumps of a source (its generator; see bin/generate --help)."""

from __future__ import annotations

import sys

from .. import sources
from . import common


def main(argv: list[str] | None = None) -> int:
    return common.run(_main, argv)


def _main(argv: list[str] | None) -> int:
    chooser = common.Parser(prog="bin/generate", add_help=False)
    chooser.add_argument("--source", default="fwjr", choices=[n for n in sources.names() if sources.get(n).generator])
    known, rest = chooser.parse_known_args(argv)
    return sources.get(known.source).load("generator")(rest)


if __name__ == "__main__":
    sys.exit(main())
