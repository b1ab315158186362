"""Deterministic synthetic spack build-log errors at any scale, in the shape bin/import-spack writes.

For the benchmarks (e.g. 1M errors over 30 days): ROOT/YYYY/MM/DD/<package>_<error|warn>-<digest>.jsonl,
one error record a line, with the keys, types and quirks of the real `<package>_error.json` records
once imported (`phase`, `source_file`, `source_line_no`, `line_no`, `repeat_count`, `start`, `end`,
`text`, `pre_context`, `post_context`, `hash`, then `package`, `kind`, `ts`):

- a failed build (one spec hash) leaves a few errors: compiler errors with file:line:col,
  missing headers, undefined references, make, CMake, configure, spack and Python errors, each
  kind with its own varying names, numbers and paths, so the clustering finds many templates;
- spack prints the log at terminal width (80 columns): `text` is one display line
  (`>> 273    src/x.c:12:5: error: ...`), `pre_context` and `post_context` the six display
  lines around it, a long log line wrapped on indented continuation lines; some records' `text`
  is itself a continuation (spack then guessed a `source_file` string from the display line and a
  string `source_line_no`, as in the real files), others are spack's own unnumbered lines;
- a share of warnings (`--warn-share`, files `<package>_warn-...`), and "N/A" phases for most
  records (every real record says "N/A"; the others name the phase that fits the kind).

Day D is drawn from its own Random seeded by (seed, D), so a day's files depend only on
(seed, D, errors per day, warn share). File names are digests of their content, as the importer's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
import sys
import time
from pathlib import Path

from ...cli import checks
from ..spack_builds.generate import PACKAGES

EPOCH = dt.date(1970, 1, 1)
WIDTH = 80                     # spack's terminal width: display lines are cut there
CONTEXT_LINES = 6              # display lines of pre_context and of post_context
NA_PHASE_SHARE = 0.8
WRAPPED_SHARE = 0.1            # real files: 2,115 of 20,925 records are continuations
HASH_LETTERS = "abcdefghijklmnopqrstuvwxyz234567"

IDENTS = ["tp_print", "make_array", "get_system_time", "MPI_Comm_f2c", "H5Pset_fapl_mpio", "omp_get_num_threads",
          "std::filesystem", "UFFDIO_WRITEPROTECT", "Kokkos::View", "cudaMalloc", "PetscInitialize",
          "boost::mpl::if_", "nullptr_t", "uint64_t", "RAJA::forall", "hwloc_topology_init", "test_array",
          "ncmpi_create", "superlu_gridinit", "__declspec"]
HEADERS = ["mpi.h", "hdf5.h", "zlib.h", "numpy/arrayobject.h", "cuda_runtime.h", "hwloc.h", "omp.h",
           "boost/shared_ptr.hpp", "petsc.h", "Python.h", "sys/sysctl.h", "xlocale.h", "rpc/rpc.h"]
LIBS = ["mpi", "hdf5", "z", "gfortran", "stdc++fs", "pthread", "m", "blas", "lapack", "petsc", "metis"]
DEPENDENCIES = ["MPI", "HDF5", "Boost", "BLAS", "LAPACK", "CUDA", "Kokkos", "Python3", "ZLIB", "OpenMP", "METIS"]
MODULES = ["numpy", "mpi4py", "setuptools", "Cython", "distutils", "petsc4py", "scipy"]
FOLDERS = ["src", "src/core", "include", "lib", "source/utils", "src/common", "tests", "libs/io/src"]
STEMS = ["main", "util", "comm", "io", "matrix", "solver", "mesh", "kernel", "buffer", "config", "hash"]
EXTENSIONS = [".c", ".cpp", ".cxx", ".cc", ".h", ".hpp", ".f90"]


def _path(rng: random.Random, package: str) -> str:
    stage = "".join(rng.choice(HASH_LETTERS) for _ in range(32))
    local = f"{rng.choice(FOLDERS)}/{rng.choice(STEMS)}{rng.randint(0, 40) or ''}{rng.choice(EXTENSIONS)}"
    if rng.random() < 0.5:   # a path inside spack's stage: long, wraps over display lines
        return f"/var/tmp/builder/spack-stage/spack-stage-{package}-{rng.randint(0, 9)}.{rng.randint(0, 20)}-{stage}/spack-src/{local}"
    return local


def _compiler_error(rng, package, warning):
    file, line, col = _path(rng, package), rng.randint(1, 200_000), rng.randint(1, 80)
    ident = rng.choice(IDENTS)
    if warning:
        what = rng.choice([f"unused variable '{ident}' [-Wunused-variable]",
                           f"'{ident}' is deprecated [-Wdeprecated-declarations]",
                           f"implicit declaration of function '{ident}' [-Wimplicit-function-declaration]"])
        text = f"{file}:{line}:{col}: warning: {what}"
    else:
        what = rng.choice([f"'{ident}' was not declared in this scope",
                           f"'struct {rng.choice(STEMS)}_t' has no member named '{ident}'",
                           f"expected ';' before '{rng.choice(['}', ')', 'return', 'int'])}' token",
                           f"no matching function for call to '{ident}({rng.choice(['int', 'double*', 'const char*'])})'",
                           f"invalid conversion from 'const {rng.choice(['char', 'int', 'void'])}*' to 'char*' [-fpermissive]",
                           f"size of array '{ident}' is negative"])
        text = f"{file}:{line}:{col}: error: {what}"
    before = [f"{file}: In function 'int {rng.choice(STEMS)}_{rng.choice(STEMS)}(int, char**)':"]
    if rng.random() < 0.5:
        before.insert(0, f"In file included from {_path(rng, package)}:{rng.randint(1, 300)},")
    after = [f"{line:>7} |     {ident} = {rng.randint(0, 9)};", f"        |     {' ' * rng.randint(0, 20)}^~~~~~"]
    return text, before, after


def _missing_header(rng, package, warning):
    file, line = _path(rng, package), rng.randint(1, 400)
    header = rng.choice(HEADERS)
    text = f"{file}:{line}:10: fatal error: {header}: No such file or directory"
    return text, [f"{rng.choice(['gcc', 'g++', 'mpicc', 'icpc', 'clang++'])} -O2 -fPIC -c {file}"], \
        [f"{line:>7} | #include <{header}>", "        |          ^~~~~~~~~~", "compilation terminated."]


def _undefined_reference(rng, package, warning):
    symbol = rng.choice(IDENTS).replace("std::", "")
    obj = f"{rng.choice(STEMS)}{rng.randint(0, 30)}.o"
    text = rng.choice([f"/usr/bin/ld: {obj}: undefined reference to `{symbol}'",
                       f"{obj}: In function `{rng.choice(STEMS)}': undefined reference to `{symbol}'",
                       f"/usr/bin/ld: cannot find -l{rng.choice(LIBS)}"])
    return text, [f"{rng.choice(['mpicxx', 'g++', 'gfortran'])} -o {rng.choice(STEMS)} {obj} -l{rng.choice(LIBS)}"], \
        ["collect2: error: ld returned 1 exit status"]


def _make_error(rng, package, warning):
    target = rng.choice(STEMS)
    folder = rng.choice(FOLDERS)
    text = rng.choice([
        f"make[{rng.randint(1, 4)}]: *** [{folder}/CMakeFiles/{target}.dir/build.make:{rng.randint(60, 3000)}: "
        f"{folder}/CMakeFiles/{target}.dir/{rng.choice(STEMS)}{rng.choice(EXTENSIONS)}.o] Error 1",
        f"make[{rng.randint(1, 4)}]: *** [CMakeFiles/Makefile2:{rng.randint(100, 9000)}: {folder}/CMakeFiles/{target}.dir/all] Error 2",
        f"make: *** [Makefile:{rng.randint(100, 3000)}: all] Error 2",
    ])
    return text, [f"make[{rng.randint(1, 4)}]: Leaving directory '/tmp/spack-build-{package}'"], \
        ["==> Error: ProcessError: Command exited with status 2:", f"    'make' '-j{rng.choice([4, 8, 16, 36])}'"]


def _cmake_error(rng, package, warning):
    line = rng.randint(10, 900)
    dependency = rng.choice(DEPENDENCIES)
    if warning:
        return (f"CMake Warning at CMakeLists.txt:{line} (message):",
                [f"-- Looking for {dependency} - not found"], [f"  {dependency} support disabled"])
    text = rng.choice([f"CMake Error at CMakeLists.txt:{line} (find_package):",
                       f"CMake Error at cmake/{rng.choice(STEMS)}.cmake:{line} (message):",
                       f"CMake Error at /usr/share/cmake-3.{rng.randint(10, 27)}/Modules/FindPackageHandleStandardArgs.cmake:{line} (message):"])
    return text, [f"-- Found {rng.choice(DEPENDENCIES)}: /usr/lib64 (found version \"{rng.randint(1, 3)}.{rng.randint(0, 12)}\")"], \
        [f"  Could NOT find {dependency} (missing: {dependency.upper()}_LIBRARIES {dependency.upper()}_INCLUDE_DIR)",
         "-- Configuring incomplete, errors occurred!"]


def _configure_error(rng, package, warning):
    dependency = rng.choice(DEPENDENCIES + LIBS)
    if warning:
        text = rng.choice([f"configure: WARNING: {dependency} not found, building without it",
                           f"WARNING: '{rng.choice(['gperf', 'makeinfo', 'aclocal-1.16', 'autoconf'])}' is missing on your system."])
    else:
        text = rng.choice([f"configure: error: {dependency} library not found",
                           "configure: error: C compiler cannot create executables",
                           f"configure: error: cannot find {rng.choice(HEADERS)}",
                           f"configure: error: Fortran compiler does not support {rng.choice(['-fallow-argument-mismatch', 'ISO_C_BINDING', 'MPI_F08'])}"])
    return text, [f"checking for {rng.choice(HEADERS)}... no", f"checking for {dependency}... no"], \
        ["See `config.log' for more details"]


def _python_error(rng, package, warning):
    module = rng.choice(MODULES)
    text = rng.choice([f"ModuleNotFoundError: No module named '{module}'",
                       f"ImportError: cannot import name '{rng.choice(IDENTS)}' from '{module}'",
                       f"error: command '{rng.choice(['gcc', 'mpicc', 'g++'])}' failed with exit status {rng.randint(1, 4)}"])
    return text, ["Traceback (most recent call last):", f"  File \"setup.py\", line {rng.randint(5, 400)}, in <module>"], \
        [f"==> Error: ProcessError: Command exited with status {rng.randint(1, 2)}:"]


KINDS = [  # (kind, its phase when spack names one, weight among errors, weight among warnings)
    (_compiler_error, "build", 0.40, 0.45),
    (_missing_header, "build", 0.08, 0.0),
    (_undefined_reference, "build", 0.10, 0.0),
    (_make_error, "build", 0.17, 0.0),
    (_cmake_error, "cmake", 0.10, 0.25),
    (_configure_error, "configure", 0.08, 0.30),
    (_python_error, "install", 0.07, 0.0),
]

# spack's own lines, printed without a log line number (as the real "/usr/bin/tar: ..." records)
SPACK_LINES = ["==> Error: ProcessError: Command exited with status {n}:",
               "/usr/bin/tar: {package}-{v}/src/{stem}{ext}: Cannot open: No such file or directory",
               "==> Error: Failed to install {package} due to ChildError: ProcessError: Command exited with status {n}:"]
UNNUMBERED_SHARE = 0.05


def _display(number: int, line: str, marked: bool, number_width: int) -> list[str]:
    """A log line as spack shows it: `  >> 273    text` (or `     273    text`), cut at WIDTH
    and continued on lines indented to the text's column, every display line right-stripped."""
    prefix = ("  >> " if marked else "     ") + str(number).ljust(number_width) + "    "
    room = WIDTH - len(prefix)
    chunks = [line[i:i + room] for i in range(0, max(len(line), 1), room)]
    return [(prefix + chunks[0]).rstrip()] + [(" " * len(prefix) + c).rstrip() for c in chunks[1:]]


def _record(rng: random.Random, package: str, spec_hash: str, warning: bool, ts: int) -> tuple[dict, str]:
    """One error record (in the importer's key order) and the whole log line it shows."""
    at = rng.randint(CONTEXT_LINES + 1, 30_000)
    line_no = at + rng.randint(0, 2000)
    if rng.random() < UNNUMBERED_SHARE and not warning:
        fill = {"n": rng.randint(1, 2), "package": package, "v": f"{rng.randint(0, 9)}.{rng.randint(0, 20)}",
                "stem": rng.choice(STEMS), "ext": rng.choice(EXTENSIONS)}
        whole = rng.choice(SPACK_LINES).format(**fill)
        around = [rng.choice(SPACK_LINES).format(**fill) for _ in range(2 * CONTEXT_LINES)]
        pre, post, text, source_file, source_line_no = around[:CONTEXT_LINES], around[CONTEXT_LINES:], whole, [None], 0
        phase = "N/A"
    else:
        make, phase = rng.choices([(k[0], k[1]) for k in KINDS], [k[3] if warning else k[2] for k in KINDS])[0]
        whole, before, after = make(rng, package, warning)
        before = [f"[{rng.randint(1, 99):3d}%] Building CXX object {rng.choice(FOLDERS)}/CMakeFiles/{package}.dir/"
                  f"{rng.choice(STEMS)}{rng.choice(EXTENSIONS)}.o" for _ in range(CONTEXT_LINES - len(before))] + before
        width = len(str(at + len(after)))
        display: list[str] = []
        for offset, log_line in enumerate(before[-CONTEXT_LINES:]):
            display += _display(at - len(before[-CONTEXT_LINES:]) + offset, log_line, False, width)
        shown = _display(at, whole, True, width)
        tail = [d for offset, log_line in enumerate(after) for d in _display(at + 1 + offset, log_line, False, width)]
        # the record's own display line: mostly the first, sometimes a continuation (spack then
        # takes its start for a source file, as in the real files)
        pick = rng.randrange(1, len(shown)) if len(shown) > 1 and rng.random() < WRAPPED_SHARE * 3 else 0
        everything = display + shown + tail
        index = len(display) + pick
        pre = everything[max(0, index - CONTEXT_LINES):index]
        post = everything[index + 1:index + 1 + CONTEXT_LINES]
        if pick:
            text = shown[pick].lstrip()
            source_file, source_line_no = shown[pick].split(":", 1)[0], str(rng.randint(2, 4))
        else:
            text = shown[0].lstrip()
            source_file, source_line_no = [None], 0
    record = {
        "phase": "N/A" if rng.random() < NA_PHASE_SHARE or text.startswith(("==>", "/usr/bin/tar")) else phase,
        "source_file": source_file, "source_line_no": source_line_no,
        "line_no": line_no, "repeat_count": 0, "start": line_no - CONTEXT_LINES, "end": line_no + CONTEXT_LINES + 1,
        "text": text, "pre_context": "\n".join(pre), "post_context": "\n".join(post),
        "hash": spec_hash, "package": package, "kind": "warn" if warning else "error", "ts": ts,
    }
    return record, whole


def errors_of_day(day: dt.date, count: int, seed: int, warn_share: float):
    """The `count` (record, whole log line) pairs of `day`: failed builds of a few errors each."""
    rng = random.Random(f"{seed}-{day.isoformat()}")
    start = (day - EPOCH).days * 86400
    made = 0
    while made < count:
        package = rng.choice(PACKAGES)
        spec_hash = "".join(rng.choice(HASH_LETTERS) for _ in range(32))
        ts = start + rng.randrange(86400)
        for _ in range(min(count - made, 1 + int(rng.expovariate(1 / 4)))):   # ~5 errors a build
            yield _record(rng, package, spec_hash, rng.random() < warn_share, ts)
            made += 1


def generate(root: Path, start: dt.date, days: int, errors_per_day: int, seed: int = 1,
             warn_share: float = 0.05) -> dict:
    """Writes the days' records, one file per (package, kind) and day, named by its digest."""
    totals = {"errors": 0, "warnings": 0, "files": 0, "bytes": 0, "days": days}
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        folder = Path(root) / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"
        folder.mkdir(parents=True, exist_ok=True)
        open_files: dict[str, tuple] = {}   # stem -> (handle, digest), streamed: any count fits
        try:
            for record, _ in errors_of_day(day, errors_per_day, seed, warn_share):
                stem = f"{record['package']}_{record['kind']}"
                if stem not in open_files:
                    open_files[stem] = (open(folder / f".{stem}.jsonl.tmp", "w"), hashlib.sha1())
                handle, digest = open_files[stem]
                line = json.dumps(record) + "\n"
                handle.write(line)
                digest.update(line.encode())
                totals["bytes"] += len(line)
                totals["warnings" if record["kind"] == "warn" else "errors"] += 1
        finally:
            for handle, _ in open_files.values():
                handle.close()
        for stem, (_, digest) in open_files.items():
            (folder / f".{stem}.jsonl.tmp").replace(folder / f"{stem}-{digest.hexdigest()[:10]}.jsonl")
        totals["files"] += len(open_files)
    return totals


def _parser() -> argparse.ArgumentParser:
    parser = checks.Parser(prog="bin/generate --source spack_errors",
                           description="Write synthetic spack build-log error records as "
                                       "ROOT/YYYY/MM/DD/<package>_<error|warn>-<digest>.jsonl.")
    parser.add_argument("root", type=Path)
    parser.add_argument("--start", type=checks.day, required=True)
    parser.add_argument("--days", type=checks.positive_count, default=1)
    parser.add_argument("--errors-per-day", type=checks.count, default=10_000,
                        help="records a day, warnings included (default 10,000)")
    parser.add_argument("--warn-share", type=checks.share, default=0.05,
                        help="share of the records that are warnings (default 0.05)")
    parser.add_argument("--seed", type=int, default=1)
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    checks.writable_folder(args.root, "output folder")
    began = time.perf_counter()
    totals = generate(args.root, args.start, args.days, args.errors_per_day, args.seed, args.warn_share)
    seconds = time.perf_counter() - began
    print(f"Wrote {totals['errors']:,} spack errors and {totals['warnings']:,} warnings for {totals['days']} days "
          f"from {args.start} into {args.root}: {totals['files']:,} files, {totals['bytes'] / 1e6:,.1f} MB "
          f"in {seconds:.1f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
