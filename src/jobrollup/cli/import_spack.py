"""bin/import-spack: spack build-farm exports -> the input layout of bin/aggregate (see
jobrollup.sources.spack_builds.importer for the formats and the joins)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import config, exits
from ..sources.spack_builds import importer
from . import checks, common

EXAMPLES = """\
examples:
  bin/import-spack --date 2026-11-20 --out var/spack ../shared/data/spack/errors/*.json
  bin/import-spack --date 2026-11-20 --out var/spack ../shared/data/spack/outcomes \\
      ../shared/data/spack/features/labels ../shared/data/spack/features/compats \\
      ../shared/data/spack/specs/spec_files ../shared/data/spack/build-records
  bin/aggregate 2026-11-20 --source spack_builds --precision day

Give every file of one dump in one call: outcomes, labels, compats and spec YAML are joined by
spec hash only within a call. Importing the same dump again rewrites the same files.
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = common.Parser(
        prog="bin/import-spack", epilog=common.epilog(EXAMPLES),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Turn spack exports (outcomes JSON, labels and compats CSV, spec YAML, build-record "
                    "YAML, error-record JSON) into OUT/builds/YYYY/MM/DD/*.jsonl (source spack_builds) and "
                    "OUT/errors/YYYY/MM/DD/*.jsonl (source spack_errors). Bad records are set aside in "
                    "OUT/rejects/DATE/ with their reason; a file of many records that cannot be read "
                    "at all (truncated JSON or YAML) refuses the whole dump (exit 3), since how many "
                    "records it lost is unknown.")
    parser.add_argument("inputs", nargs="+", type=Path, metavar="PATH", help="export files or folders")
    parser.add_argument("--date", required=True, type=checks.day,
                        help="the dump's date (YYYY-MM-DD): records without a timestamp of their own "
                             "(none of spack's export formats has one) are dated to it")
    parser.add_argument("--out", required=True, type=Path, help="the output root (e.g. var/spack)")
    parser.add_argument("--max-reject-share", type=checks.share, default=None, metavar="SHARE",
                        help="refuse the dump (write nothing, exit 3) when more than this share of records "
                             "is bad (default: conf [aggregate] max_reject_share)")
    parser.add_argument("--conf", dest="conf_file", help="configuration file (default conf/jobrollup.toml)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return common.run(_main, argv)


def _main(argv: list[str] | None) -> int:
    args = parse_args(argv)
    conf = config.load(args.conf_file)
    limit = args.max_reject_share if args.max_reject_share is not None else \
        checks.share_setting(conf["aggregate"]["max_reject_share"], "conf [aggregate] max_reject_share")
    missing = [str(p) for p in args.inputs if not p.exists()]
    if missing:
        return common.fail(f"no such input: {', '.join(missing)}", exits.INPUT)
    checks.writable_folder(args.out, "--out")   # before reading a dump that may be large
    dump = importer.read_dump(args.inputs, args.date)
    rejects = importer.write_rejects(args.out, args.date, dump)
    total = dump.good + len(dump.rejects)
    if total == 0:
        return common.fail("no spack records found in the inputs", exits.INPUT)
    print(report(dump, rejects))
    lost = dump.lost_files
    if lost:
        return common.fail(f"{len(lost)} file(s) could not be read at all ({lost[0].file}: {lost[0].reason}"
                           f"{' and more' if len(lost) > 1 else ''}): how many records they held is unknown, "
                           f"so the dump is refused; nothing written; see {rejects}", exits.REFUSED)
    if dump.reject_share > limit:
        return common.fail(f"{len(dump.rejects)} of {total} records rejected ({dump.reject_share:.1%}, more than "
                           f"max_reject_share {limit:.1%}); nothing written; see {rejects}", exits.REFUSED)
    written = importer.write_dump(args.out, dump)
    for path in written.builds:
        print(f"  builds     {path}")
    for folder in sorted({p.parent for p in written.errors}):
        print(f"  errors     {folder}/ ({sum(1 for p in written.errors if p.parent == folder)} files)")
    return exits.OK


def report(dump: importer.Dump, rejects: Path | None) -> str:
    from collections import Counter

    lines = ["jobrollup import-spack"]
    lines.append("  read       " + ", ".join(f"{n:,} {what}" for what, n in sorted(dump.read.items())))
    status = Counter(b["status"] for b in dump.builds)
    lines.append(f"  builds     {len(dump.builds):,} ({status['success']:,} succeeded, {status['failed']:,} failed)")
    lines.append(f"  errors     {sum(len(v) for v in dump.errors.values()):,} error records")
    if dump.rejects:
        reasons = Counter(r.reason for r in dump.rejects)
        lines.append(f"  rejected   {len(dump.rejects):,} ({dump.reject_share:.2%}: "
                     + ", ".join(f"{r} {n}" for r, n in reasons.most_common()) + ")")
        lines.append(f"  rejects    {rejects}")
    for lost in dump.lost_files:
        lines.append(f"  unreadable {lost.file} ({lost.reason}: a file of many records, none read)")
    lines += [f"  note       {note}" for note in dump.notes]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
