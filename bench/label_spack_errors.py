#!/usr/bin/env python
"""Build the hand-labelled set of real spack build errors: tests/data/spack-errors/labelled.jsonl.gz

    .venv/bin/python bench/label_spack_errors.py [--source ../shared/data/spack/errors] [--per-shape 40]

Each record's whole log line is rebuilt from its cut `text` and its contexts
(jobrollup.errors.messages.spack_message), then labelled by the rules below: one rule per kind of
diagnostic, written by reading the distinct shapes of the 20,922 records. A kind is the
diagnostic itself; the names, paths, numbers, packages, make targets and libraries it mentions,
and optional hints ("; did you mean ...?", "[-Werror=...]"), are its parameters. spack's own
report lines keep their layer ("==> Error:", "ChildError:", "Flagging ... as failed:",
"ProcessError:") and the error they carry, as they are different lines. gcc's many
"expected X before Y" are one kind (X and Y are its parameters); an `#error` line is a kind per
text, since the text is the package's own message. Records no rule claims are left out and counted.
At most --per-kind records of a kind are kept (drawn at random, seeded), so that the set is not
dominated by a few thousand copies of one line.
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import os
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from jobrollup.errors import messages  # noqa: E402

RULES = [(kind, re.compile(pattern)) for kind, pattern in [
    ("spack_flagging_failed_process", r"^==> \[.*\] Flagging .* as failed: ProcessError"),
    ("spack_flagging_failed_oserror", r"^==> \[.*\] Flagging .* as failed: OSError"),
    ("spack_flagging_failed_destination", r"^==> \[.*\] Flagging .* as failed: Error: Destination path"),
    ("spack_child_process", r"^==> \[.*\] ChildError: ProcessError"),
    ("spack_child_oserror", r"^==> \[.*\] ChildError: OSError"),
    ("spack_child_destination", r"^==> \[.*\] ChildError: Error: Destination path"),
    ("spack_error_process", r"^==> \[.*\] Error: ProcessError"),
    ("spack_error_oserror", r"^==> \[.*\] Error: OSError"),
    ("spack_error_destination", r"^==> \[.*\] Error: Error: Destination path"),
    ("spack_process_error", r"^spack\.util\.executable\.ProcessError: .*No such file"),
    ("python_oserror", r"^OSError: No such file or directory"),
    ("tar_cannot_open", r"Cannot open: No such file or directory"),
    ("tar_cannot_mkdir", r"Cannot mkdir: No such file or directory"),
    ("tar_cannot_utime", r"Cannot utime: No such file or directory"),
    ("tar_cannot_symlink", r"Cannot create symlink to"),
    ("gcc_no_member", r"error: .* has no member named"),
    ("gcc_not_a_member", r"error: .* is not a member of"),
    ("gcc_undeclared_first_use", r"error: .* undeclared \(first use in this function\)"),
    ("gcc_undeclared_here", r"error: .* undeclared here \(not in a function\)"),
    ("gcc_not_declared", r"error: .* was not declared in this scope"),
    ("gcc_has_not_been_declared", r"error: .* has not been declared"),
    ("gcc_array_negative", r"error: size of array .* is negative"),
    ("gcc_aggregate_incomplete", r"error: aggregate .* has incomplete type and cannot be defined"),
    ("gcc_invalid_incomplete", r"error: invalid use of incomplete type"),
    ("gcc_initializer_incomplete", r"error: variable .* has initializer but incomplete type"),
    ("gcc_has_incomplete", r"error: .* has incomplete type$"),
    ("gcc_missing_file", r"fatal error: .*: No such file or directory"),
    ("gcc_redefinition", r"error: redefinition of"),
    ("gcc_void_not_ignored", r"error: void value not ignored"),
    ("gcc_expected_at_end", r"error: expected .* at end of input"),
    ("gcc_expected_constructor", r"error: expected constructor, destructor, or type conversion"),
    ("gcc_expected_before", r"error: expected .* before"),
    ("gcc_no_matching_function", r"error: no matching function for call to"),
    ("gcc_unknown_type_name", r"error: unknown type name"),
    ("gcc_template_argument", r"error: template argument \d+ is invalid"),
    ("gcc_not_a_template", r"error: .* does not name a template type"),
    ("gcc_does_not_name_a_type", r"error: .* does not name a type"),
    ("gcc_request_for_member", r"error: request for member .* in something not a structure"),
    ("gcc_macro_arguments", r"error: macro .* requires \d+ arguments"),
    ("gcc_fallthrough", r"error: this statement may fall through"),
    ("gcc_too_many_arguments", r"error: too many arguments to function"),
    ("gcc_incompatible_implicit_declaration", r"error: incompatible implicit declaration of"),
    ("gcc_implicit_declaration", r"error: implicit declaration of"),
    ("gcc_invalid_param", r"cc1: error: invalid --param name"),
    ("gcc_no_match_operator", r"error: no match for"),
    ("gcc_redefined", r"error: .* redefined"),
    ("gcc_cannot_bind", r"error: cannot bind non-const lvalue reference"),
    ("gcc_invalid_conversion", r"error: invalid conversion from"),
    ("gcc_cannot_convert", r"error: cannot convert"),
    ("icc_incompatible_argument", r"error: argument is incompatible with formal parameter"),
    ("ld_returned", r"error: ld returned \d+ exit status"),
    ("ld_dso_missing", r"error adding symbols: DSO missing from command line"),
    ("ld_cannot_find_lib", r"ld: cannot find -l"),
    ("ld_undefined_reference", r"undefined reference to"),
    ("ld_final_link", r"final link failed"),
    ("clang_linker_failed", r"linker command failed with exit code"),
    ("make_error", r"^(> )?(g?make)(\[\d+\])?: \*\*\* \[[^\]]*\] Error \d+$"),
    ("configure_autoconf_version", r"^configure: error: Autoconf .* or better is required"),
    ("configure_autoconf_broken", r"^configure: error: The installed version of autoconf does not work"),
    ("configure_no_found_check_path", r"^configure: error: no .* found; check path for"),
    ("configure_libtcl", r"^configure: error: could not find libtcl"),
    ("configure_hwloc_version", r"^configure: error: hwloc installation does not meet"),
    ("autoconf_version_required", r"error: Autoconf version .* or higher is required"),
    ("aclocal_failed", r"^aclocal: error: .* failed with exit status"),
    ("git_cwd", r"^fatal: Unable to read current working directory"),
    ("git_lock_config_exists", r"^error: could not lock config file .*: File exists"),
    ("git_lock_config_missing", r"^error: could not lock config file .*: No such file"),
    ("shell_syntax_error", r"syntax error near unexpected token"),
]]


# `#error <text>`: the text is the package author's own message, so each text is its own kind
HASH_ERROR = re.compile(r"error: #error (.*)$")


def label(message: str) -> str | None:
    found = HASH_ERROR.search(message)
    if found:
        return "gcc_hash_error: " + re.sub(r"\d+", "N", found.group(1).strip())
    for kind, pattern in RULES:
        if pattern.search(message):
            return kind
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=str(ROOT.parent / "shared" / "data" / "spack" / "errors"))
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "data" / "spack-errors" / "labelled.jsonl.gz")
    parser.add_argument("--per-kind", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows, unlabelled = [], collections.Counter()
    for path in sorted(glob.glob(os.path.join(args.source, "*_error.json"))):
        package = os.path.basename(path)[: -len("_error.json")]
        with open(path, encoding="utf-8") as handle:
            for record in json.load(handle):
                message = messages.spack_message(record.get("text"), record.get("pre_context"),
                                                 record.get("post_context"))
                kind = label(message)
                if kind is None:
                    unlabelled[message[:100]] += 1
                    continue
                rows.append({"message": message, "group": kind, "package": package,
                             "hash": record.get("hash")})
    rng = random.Random(args.seed)
    rng.shuffle(rows)
    kept, per_kind = [], collections.Counter()
    for row in rows:
        if per_kind[row["group"]] < args.per_kind:
            per_kind[row["group"]] += 1
            kept.append(row)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(args.out, "wt", encoding="utf-8") as out:
        for row in kept:
            out.write(json.dumps(row) + "\n")
    groups = collections.Counter(row["group"] for row in kept)
    print(f"{len(rows)} records labelled in {len(groups)} kinds, {sum(unlabelled.values())} "
          f"left out ({len(unlabelled)} shapes); {len(kept)} kept in {args.out}")
    for text, n in unlabelled.most_common(15):
        print(f"  unlabelled {n:5d}  {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
