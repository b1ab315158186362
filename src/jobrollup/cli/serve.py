"""bin/serve: the read-only web view (jobrollup.web) on localhost."""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import sys

from .. import config, exits
from ..exits import MongoUnavailable
from ..store import embedded
from ..store.mongo import MongoStore, redact
from . import common

LOCAL = "127.0.0.1"

EXAMPLES = """\
examples:
  bin/serve                                   http://127.0.0.1:8050/ over the embedded MongoDB
  bin/serve --port 9000 --mongo-uri "$URI"    another port, another MongoDB
  bin/serve --host 0.0.0.0                    every address: only behind the site's authenticating proxy

The view has no login and never writes to MongoDB. It listens on 127.0.0.1 unless --host says
otherwise; put it behind the site's authenticating reverse proxy before opening it to others.
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bin/serve", parents=[common.connection_options()],
                                     description="A read-only web view of the tiered documents, error kinds and runs.",
                                     epilog=common.epilog(EXAMPLES), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8050, help="port (default: 8050)")
    parser.add_argument("--host", default=LOCAL,
                        help="address to listen on (default: 127.0.0.1; another address needs a proxy in front)")
    parser.add_argument("--models", default="var/models", metavar="DIR", help="bin/train's experiments (default: var/models)")
    parser.add_argument("--exit-codes", metavar="FILE", help="exit-code dictionary (default: as bin/query)")
    parser.add_argument("--now", type=dt.datetime.fromisoformat, help=argparse.SUPPRESS)  # for demos and replays
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error("--port must be 1..65535")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        conf = config.load(args.conf_file)
        uri = common.mongo_uri(args.mongo_uri, conf)
    except (config.ConfigError, embedded.EmbeddedMongoError) as error:
        return common.fail(error, exits.MONGO if isinstance(error, embedded.EmbeddedMongoError) else exits.INPUT)
    store = MongoStore(uri, conf["mongo"]["database"], conf["mongo"]["timeout_ms"])
    try:
        store.ping()   # refuse at once rather than serve pages that all say "down"
    except MongoUnavailable as error:
        store.close()
        return common.fail(error, exits.MONGO)
    from werkzeug.serving import make_server

    from ..web import create_app

    app = create_app(store, default_source=conf["aggregate"]["source"], exit_codes=args.exit_codes,
                     models_dir=str(config.resolve_path(args.models)), now=args.now)
    try:
        server = make_server(args.host, args.port, app, threaded=True)
    except OSError as error:
        store.close()
        return common.fail(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}", exits.INPUT)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"jobrollup web view on http://{shown}:{server.server_port}/ (read-only; MongoDB {redact(uri)} "
          f"/ {store.database}); Ctrl-C stops it", file=sys.stderr, flush=True)
    if not _loopback(args.host):
        print("warning: listening beyond this host with no login: put it behind the site's authenticating proxy",
              file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        store.close()
    return exits.OK


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


if __name__ == "__main__":
    sys.exit(main())
