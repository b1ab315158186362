"""Deterministic synthetic spack builds at any scale, in the shape bin/import-spack writes.

For the benchmarks (e.g. 1M builds over 30 days): ROOT/YYYY/MM/DD/builds-NNNNN.jsonl, one build
record a line, with the spread of the real files: the real packages, a few compilers and
versions, spack targets and operating systems, about 74% successes (the real outcomes: 23,992
of 32,461), half the failures the package's own ("Root Failure"), log-normal install times
around the real median (~260 s), the labels' one allocation time (3600 s), and the duration and
memory of build records for some builds. Day D is drawn from its own Random seeded by (seed, D),
so a day's content depends only on (seed, D, builds per day).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
from pathlib import Path

from ...cli import checks

PACKAGES = [
    "abyss", "adios", "adios2", "aml", "amrex", "arborx", "ascent", "axom", "caliper", "chai",
    "heffte", "hdf5", "kokkos", "kokkos-kernels", "libnrm", "mfem", "mpark-variant", "mpifileutils",
    "ninja", "nrm", "openmpi", "papi", "papyrus", "parallel-netcdf", "petsc", "phist", "plasma",
    "py-libensemble", "py-petsc4py", "py-warpx", "python", "qt", "scr", "slate", "slepc", "stc",
    "sundials", "superlu", "superlu-dist", "tau", "trilinos", "turbine", "umap", "unifyfs", "upcxx",
    "variorum", "veloc", "vtk-h", "zfp", "llvm", "py-cython", "cmake",
]
COMPILERS = {"gcc": ["8.3.1", "9.3.1", "10.3.1", "11.1.0", "11.4.0", "12.2.0"],
             "clang": ["12.0.1", "14.0.6", "15.0.7"], "intel": ["19.1.2", "2021.6.0"]}
PLATFORM_OS = [("linux", "rhel7"), ("linux", "rhel8"), ("linux", "ubuntu20.04"), ("linux", "ubuntu22.04")]
TARGETS = ["broadwell", "haswell", "skylake_avx512", "zen2", "x86_64_v3", "neoverse_v1"]
SUCCESS_SHARE = 0.74
EPOCH = dt.date(1970, 1, 1)


def versions_of(package: str, seed: int) -> list[str]:
    """Four versions per package, the same every day (a farm rebuilds the same versions)."""
    rng = random.Random(f"{seed}-{package}")
    return [f"{rng.randint(0, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 5)}" for _ in range(4)]


def builds_of_day(day: dt.date, count: int, seed: int):
    """The `count` build records of `day`."""
    rng = random.Random(f"{seed}-{day.isoformat()}")
    start = (day - EPOCH).days * 86400
    versions = {p: versions_of(p, seed) for p in PACKAGES}
    for _ in range(count):
        package = rng.choice(PACKAGES)
        compiler = rng.choice(list(COMPILERS))
        platform, os_name = rng.choice(PLATFORM_OS)
        ok = rng.random() < SUCCESS_SHARE
        record = {
            "ts": start + rng.randrange(86400),
            "package": package, "version": rng.choice(versions[package]),
            "spec_hash": "".join(rng.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(32)),
            "compiler": compiler, "compiler_version": rng.choice(COMPILERS[compiler]),
            "platform": platform, "os": os_name, "target": rng.choice(TARGETS),
            "status": "success" if ok else "failed",
            "failed_part": None if ok else rng.choice(["package", "dependency", None]),
            "install_time": round(rng.lognormvariate(5.5, 1.3), 3),
            "allocation_time": 3600.0,
            "origin": "generated",
        }
        if rng.random() < 0.1:   # as the build records: duration and memory on real machines
            peak = rng.lognormvariate(21, 1.2)
            record.update(duration=round(rng.lognormvariate(6, 1.2), 3), memory_max=round(peak),
                          memory_mean=round(peak * rng.uniform(0.3, 0.7)))
        yield record


def generate(root: Path, start: dt.date, days: int, builds_per_day: int, seed: int = 1,
             files_per_day: int = 1) -> dict:
    totals = {"builds": 0, "files": 0, "bytes": 0, "days": days}
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        folder = Path(root) / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"
        folder.mkdir(parents=True, exist_ok=True)
        handles = [open(folder / f"builds-{n:05d}.jsonl", "w") for n in range(files_per_day)]
        try:
            for i, record in enumerate(builds_of_day(day, builds_per_day, seed)):
                line = json.dumps(record) + "\n"
                handles[i % files_per_day].write(line)
                totals["bytes"] += len(line)
                totals["builds"] += 1
        finally:
            for handle in handles:
                handle.close()
        totals["files"] += files_per_day
    return totals


def _parser() -> argparse.ArgumentParser:
    parser = checks.Parser(prog="bin/generate --source spack_builds",
                                     description="Write synthetic spack build records as ROOT/YYYY/MM/DD/*.jsonl.")
    parser.add_argument("root", type=Path)
    parser.add_argument("--start", type=checks.day, required=True)
    parser.add_argument("--days", type=checks.positive_count, default=1)
    parser.add_argument("--builds-per-day", type=checks.count, default=10_000)
    parser.add_argument("--files-per-day", type=checks.positive_count, default=1)
    parser.add_argument("--seed", type=int, default=1)
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    checks.writable_folder(args.root, "output folder")
    began = time.perf_counter()
    totals = generate(args.root, args.start, args.days, args.builds_per_day, args.seed, args.files_per_day)
    seconds = time.perf_counter() - began
    print(f"Wrote {totals['builds']:,} spack builds for {totals['days']} days from {args.start} into {args.root}: "
          f"{totals['files']:,} files, {totals['bytes'] / 1e6:,.1f} MB in {seconds:.1f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
