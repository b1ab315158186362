"""Labelled error messages generated from known templates, for evaluation and benchmarks.

Each kind is a format string whose fields are drawn at random (paths, versions, hashes, hex
addresses, numbers, quoted names, URLs, timestamps, package and target names), so that the
messages of one kind differ wherever a real log's would. The label of a message is its kind.
Deterministic for a given seed.
"""

from __future__ import annotations

import random
import string

PACKAGES = ["zlib", "openssl", "hdf5", "petsc", "boost", "mpich", "openmpi", "cmake", "python",
            "py-numpy", "trilinos", "hypre", "superlu-dist", "kokkos", "raja", "umpire",
            "netcdf-c", "gmp", "mpfr", "metis", "parmetis", "zfp", "adios2", "caliper"]
SITES = ["T2_CH_CERN", "T1_US_FNAL", "T2_DE_DESY", "T2_IT_Legnaro", "T1_DE_KIT", "T2_US_MIT",
         "T2_UK_London_IC", "T3_US_Colorado"]
IDENTIFIERS = ["tp_print", "exc_type", "exc_value", "MPI_LONG", "NV_COMM_P", "dLUstruct_t",
               "get_system_time", "make_array", "UFFDIO_WRITEPROTECT", "LUA_OK", "HWLOC_OBJ_L3CACHE",
               "cudaMalloc", "omp_get_thread_num", "H5Pset_fapl_mpio", "nullptr", "std::optional",
               "boost::shared_ptr", "Kokkos::View", "PetscInitialize", "hypre_ParCSRMatrix"]
TARGETS = ["all", "install", "all-recursive", "install-am", "check", "lib", "test", "docs"]
EXTENSIONS = ["c", "cc", "cpp", "h", "hpp", "f90", "cu", "py"]

# kind -> format string; fields are filled by _field()
KINDS: dict[str, str] = {
    # FWJR details, as the CMS agents write them
    "fwjr_open": ("An exception of category 'FileOpenError' occurred while\n"
                  "   [0] Constructing the EventProcessor\n   [1] Constructing input source of "
                  "type PoolSource\nException Message:\nFailed to open the file '{url}'\n"
                  "   Additional Info:\n      [a] XrdCl::File::Open => error '[ERROR] Server "
                  "responded with an error: [3011] No servers are available to read the file.' "
                  "(errno=3011)"),
    "fwjr_read": ("An exception of category 'FileReadError' occurred while\n   [0] Processing  "
                  "Event run: {num} lumi: {num} event: {num} stream: {small}\n   [1] Calling "
                  "XrdFile::readv()\nException Message:\nXrdAdaptor::RequestManager::handle: read "
                  "error on {lfn}"),
    "fwjr_fatal_root": ("An exception of category 'FatalRootError' occurred while\n   [0] "
                        "Processing  Event run: {num} lumi: {num} event: {num} stream: {small}\n"
                        "   [1] Running path '{ident}_step'\nAdditional Info:\n      [a] Fatal "
                        "Root Error: @SUB=TBranchElement::Fill"),
    "fwjr_rss": "Job has exceeded maxRSS: {num} MB\nJob has RSS: {num} MB\nJob killed at {site}",
    "fwjr_vsize": "Job has exceeded maxVSize: {num} MB\nJob has VSize: {num} MB",
    "fwjr_wall": "Job has exceeded maxWallTime: {num} seconds\nJob has WallTime: {num} seconds",
    "fwjr_nooutput": "No output files present in the report\nStep {step} at {site}",
    "fwjr_killed": "The job was killed by the WMAgent, reason is unknown.\nLast site: {site}",
    "fwjr_noreport": ("Job failed at the site: no framework job report was found.\nCondor exit "
                      "code: {small}\nWorker node log:\n  [..] cmsRun exited"),
    "fwjr_placeholder": "Cannot find file in jobReport path: {path}/FrameworkJobReport.xml",
    "fwjr_stageout": ("StageOutError: Failed to stage out {lfn} to {site}: gfal-copy exited "
                      "with {small} after {num} seconds"),
    "fwjr_python": ("Traceback (most recent call last):\n  File \"{path}.py\", line {num}, in "
                    "<module>\nKeyError: '{ident}'"),
    # build logs (gcc, ld, make, configure, tar, spack)
    "no_member": "{src}:{num}:{small}: error: '{ident}' {{aka 'struct _{ident}'}} has no member named '{ident}'",
    "not_declared": "{src}:{num}:{small}: error: '{ident}' was not declared in this scope",
    "undeclared_first_use": "{src}:{num}:{small}: error: '{ident}' undeclared (first use in this function)",
    "undeclared_here": "{src}:{num}:{small}: error: '{ident}' undeclared here (not in a function)",
    "unknown_type": "{src}:{num}:{small}: error: unknown type name '{ident}'",
    "redefinition": "{src}:{num}:{small}: error: redefinition of '{ident}'",
    "missing_header": "{src}:{num}:{small}: fatal error: {header}: No such file or directory",
    "ld_returned": "collect2: error: ld returned {small} exit status",
    "undefined_reference": "{path}.o: In function `{ident}': undefined reference to `{ident}'",
    "cannot_find_lib": "{path}/ld: cannot find -l{word}",
    "make_failed": "make[{small}]: *** [{target}] Error {small}",
    "tar_mkdir": "/usr/bin/tar: {package}-{version}: Cannot mkdir: No such file or directory",
    "tar_open": "/usr/bin/tar: {package}-{version}/{src}: Cannot open: No such file or directory",
    "configure_autoconf": "configure: error: Autoconf {version} or better is required.",
    "configure_missing": "configure: error: could not find {word}! Set --with-{word}={path}",
    "spack_process": ("==> [{ts}] Error: ProcessError: {path}/configure: No such file or "
                      "directory: '{path}/configure'"),
    "spack_fetch": ("==> [{ts}] Error: FetchError: All fetchers failed for "
                    "spack-stage-{package}-{version}-{hash}"),
    "spack_checksum": ("==> Error: sha256 checksum failed for {path}.tar.gz\n    Expected "
                       "{sha} but got {sha}"),
    "segfault": "Segmentation fault (core dumped) at address {hex} in {ident}()",
    "oom": "Out of memory: Killed process {num} ({word}) total-vm:{num}kB, anon-rss:{num}kB",
    "cuda_error": "CUDA error at {src}:{num} code={small}(cudaErrorMemoryAllocation) \"{ident}\"",
    "python_import": "ModuleNotFoundError: No module named '{word}'",
    "timeout": "Timed out after {num} seconds waiting for {url}",
    "permission": "PermissionError: [Errno 13] Permission denied: '{path}'",
}


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9)))


def _field(rng: random.Random, name: str) -> str:
    if name == "num":
        return str(rng.randint(1, 10 ** rng.randint(1, 9)))
    if name == "small":
        return str(rng.randint(0, 9))
    if name == "ident":
        return rng.choice(IDENTIFIERS) if rng.random() < 0.7 else _word(rng) + "_" + _word(rng)
    if name == "word":
        return _word(rng)
    if name == "site":
        return rng.choice(SITES)
    if name == "step":
        return rng.choice(["cmsRun1", "cmsRun2", "stageOut1", "logArch1"])
    if name == "package":
        return rng.choice(PACKAGES)
    if name == "version":
        return ".".join(str(rng.randint(0, 20)) for _ in range(rng.randint(2, 3)))
    if name == "target":
        return rng.choice(TARGETS + [f"{_word(rng)}/{_word(rng)}.o"])
    if name == "hash":
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(32))
    if name == "sha":
        return "".join(rng.choice("0123456789abcdef") for _ in range(64))
    if name == "hex":
        return "0x" + "".join(rng.choice("0123456789abcdef") for _ in range(12))
    if name == "ts":
        return (f"2022-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}-"
                f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}."
                f"{rng.randint(0, 999999):06d}")
    if name == "path":
        return "/" + "/".join(_word(rng) for _ in range(rng.randint(2, 6)))
    if name == "src":
        folders = "/".join(_word(rng) for _ in range(rng.randint(0, 3)))
        name_ = f"{_word(rng)}.{rng.choice(EXTENSIONS)}"
        return f"{folders}/{name_}" if folders else name_
    if name == "header":
        return rng.choice(["mpi.h", "gtest/gtest.h", "nvml.h", "sys/sysctl.h", "zlib.h",
                           f"{_word(rng)}/{_word(rng)}.h"])
    if name == "lfn":
        return (f"/store/mc/{_word(rng).capitalize()}/{_word(rng)}/AODSIM/"
                f"{rng.randint(100, 999)}/{rng.getrandbits(128):032x}.root")
    if name == "url":
        return f"root://{_word(rng)}.cern.ch:{rng.randint(1000, 9999)}/{_field(rng, 'lfn')}"
    raise KeyError(name)


def message(rng: random.Random, kind: str) -> str:
    fmt = KINDS[kind]
    out, pos = [], 0
    while pos < len(fmt):
        start = fmt.find("{", pos)
        if start < 0:
            out.append(fmt[pos:])
            break
        if fmt.startswith("{{", start):
            out.append(fmt[pos:start] + "{")
            pos = start + 2
            continue
        end = fmt.index("}", start)
        out.append(fmt[pos:start] + _field(rng, fmt[start + 1:end]))
        pos = end + 1
    return "".join(out).replace("}}", "}")


def labelled(n: int, seed: int = 0, kinds: list[str] | None = None) -> list[dict]:
    """n messages {message, group}: kinds drawn with uneven (Zipf-like) frequencies."""
    rng = random.Random(seed)
    kinds = kinds or sorted(KINDS)
    weights = [1.0 / (1 + rank) for rank in range(len(kinds))]
    order = kinds[:]
    rng.shuffle(order)
    return [{"message": message(rng, kind), "group": kind}
            for kind in rng.choices(order, weights=weights, k=n)]
