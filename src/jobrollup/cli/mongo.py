"""bin/mongo: start, stop or show the embedded MongoDB server of this project."""

from __future__ import annotations

import sys

from .. import config, exits
from ..store import embedded
from . import common


def main(argv: list[str] | None = None) -> int:
    return common.run(_main, argv)


def _main(argv: list[str] | None) -> int:
    parser = common.Parser(prog="bin/mongo", description="The embedded MongoDB (SecantusDB) of this project.",
                           epilog=exits.epilog_line())
    parser.add_argument("action", choices=["start", "stop", "status", "uri"])
    parser.add_argument("--conf", dest="conf_file", help="configuration file")
    args = parser.parse_args(argv)
    folder = config.resolve_path(config.load(args.conf_file)["mongo"]["embedded_dir"])
    if args.action == "stop":
        print("stopped" if embedded.stop(folder) else "not running")
        return 0
    if args.action in ("start", "uri"):
        server = embedded.ensure_running(folder)   # EmbeddedMongoError: exit 4, one line
        print(server.uri if args.action == "uri" else f"running: {server.uri} (pid {server.pid}, data {folder}/data)")
        return 0
    server = embedded.running(folder)
    print(f"running: {server.uri} (pid {server.pid})" if server else "not running")
    return 0 if server else 1


if __name__ == "__main__":
    sys.exit(main())
