"""The masking normaliser and the rebuild of spack's cut log lines."""

from __future__ import annotations

import pytest

from jobrollup.errors import messages
from jobrollup.errors.messages import normalise, spack_message, template


@pytest.mark.parametrize("text, expected", [
    ("Job has exceeded maxRSS: 2000 MB\nJob has RSS: 2431 MB",
     "Job has exceeded maxRSS: <NUM> MB Job has RSS: <NUM> MB"),
    ("Failed to open the file 'root://cms-xrd-global.cern.ch//store/mc/A/B.root'",
     "Failed to open the file <Q>"),
    ("read error on root://eos.cern.ch:1094//store/x/y.root (errno=3011)",
     "read error on <URL> (errno=<NUM>)"),
    ("==> [2022-01-13-13:47:32.786232] Error: FetchError", "==> [<TS>] Error: FetchError"),
    ("at 2026-11-20T04:05:06Z and 23:59:59", "at <TS> and <TS>"),
    ("segfault at 0x7ffd5e8a1c20 id 3f2a9b7c1d4e", "segfault at <HEX> id <HEX>"),
    ("spack-stage-zlib-1.2.11-zoz7xsykvbn64bxrcfzfg62wrybqt332 failed",
     "spack-stage-zlib-<VER>-<HASH> failed"),
    ("job 8e2f1c7a-5b3d-4e6f-9a1b-2c3d4e5f6a7b lost", "job <UUID> lost"),
    ("/usr/bin/tar: zfp-0.5.5/src/encode3i.c: Cannot open: No such file or directory",
     "<PATH>: Cannot open: No such file or directory"),
    ("bloom.cc:157:21: error: 'x' was not declared in this scope",
     "<PATH>:<NUM>: error: <Q> was not declared in this scope"),
    ("configure: error: Autoconf 2.65 or better is required.",
     "configure: error: Autoconf <VER> or better is required."),
    ("error: 'PyTypeObject' {aka 'struct _typeobject'} has no member named 'tp_print'; did you mean 'tp_dict'?",
     "error: <Q> {aka <Q>} has no member named <Q>"),
    ("foo.c:3:1: error: this statement may fall through [-Werror=implicit-fallthrough=]",
     "<PATH>:<NUM>: error: this statement may fall through"),
    ("make[2]: *** [kv/tests/04_delete/kv.test04_delete] Error 1", "make: *** [<TARGET>] Error <NUM>"),
    ("make: *** [all] Error 2", "make: *** [<TARGET>] Error <NUM>"),
    ("An exception of category 'FileReadError' occurred while", "An exception of category 'FileReadError' occurred while"),
    ("total-vm:123455kB, sha256 ok, x86_64 c99", "total-vm:<NUM>kB, sha256 ok, x86_64 c99"),
    ('10.1.2.3 "GET /v2/54fadb/servers/detail HTTP/1.1" status: 200 len: 1893',
     "<VER> GET <URL> status: <NUM> len: <NUM>"),
    ('said "hello there" via "POST /login HTTP/2"', "said <Q> via POST <URL>"),
])
def test_masks(text, expected):
    assert template(text) == expected


def test_variants_of_one_message_meet():
    a = "Job has exceeded maxWallTime: 129600 seconds\nJob has WallTime: 130001 seconds"
    b = "Job has exceeded maxWallTime: 2000 seconds\n  Job has WallTime:   2500 seconds\n"
    assert normalise(a) == normalise(b)


@pytest.mark.parametrize("text, problem", [
    (None, "empty"), ("", "empty"), ("   \n\t ", "empty"),
    ("\x00\x01\x02\x03\x04 abc \x05\x06\x07\x08", "binary"),
    ("\ufffd" * 50 + "abc", "binary"),
])
def test_messages_that_cannot_be_clustered(text, problem):
    assert normalise(text) == (None, problem)


def test_a_megabyte_line_is_cut_not_stalled():
    huge = ("/very/long/path/" + "x1" * 40) * 10_000 + " Error 7"
    found, problem = normalise(huge)
    assert problem == "truncated"
    assert len(found) <= messages.MAX_TEMPLATE_CHARS
    # pathological for regexes: no separators at all
    found, problem = normalise("a" * 5_000_000)
    assert problem == "truncated" and found.startswith("aaaa")


def test_non_string_messages_are_read_as_text():
    assert normalise(8001) == ("<NUM>", None)


def test_a_cut_spack_line_gets_its_wrapped_rest_from_post_context():
    text = ">> 12787    ./boost/thread/xtime.hpp:73:24: error: 'get_system_time' was not"
    pre = ("     12785                     from libs/thread/src/pthread/thread.cpp:10:\n"
           "     12786    ./boost/thread/xtime.hpp: In function 'int xtime_get(xtime*, int)\n"
           "              ':")
    post = ("              declared in this scope; did you mean 'boost::get_system_time'?\n"
            "     12788       73 |         *xtp=get_xtime(get_system_time());")
    assert spack_message(text, pre, post) == (
        "./boost/thread/xtime.hpp:73:24: error: 'get_system_time' was not declared in this scope; "
        "did you mean 'boost::get_system_time'?")


def test_a_spack_text_that_continues_a_line_gets_its_start_from_pre_context():
    text = "meric/ublas/storage.hpp:299:33: error: 'make_array' is not a member"
    pre = ("     630    In file included from x.cpp:1:\n"
           "  >> 631    /p/vast1/koparasy/BUILD/spack/opt/spack/linux-rhel7-broadwell/gcc-8\n"
           "            .3.1/boost-1.64.0-awdglpxdiriklqqxee6hs3emkdc6xkvl/include/boost/nu")
    post = "             of 'boost::serialization'\n     632                 ar & x;"
    assert spack_message(text, pre, post) == (
        "/p/vast1/koparasy/BUILD/spack/opt/spack/linux-rhel7-broadwell/gcc-8.3.1/boost-1.64.0-"
        "awdglpxdiriklqqxee6hs3emkdc6xkvl/include/boost/numeric/ublas/storage.hpp:299:33: error: "
        "'make_array' is not a member of 'boost::serialization'")


def test_spack_lines_of_other_shapes_stay_as_they_are():
    text = "==> [2022-01-13-14:03:15.146860] Error: OSError: No such file or directory: '/x'"
    assert spack_message(text, "==> [2022-01-13] found raw link dirs: /usr", "") == text
    assert spack_message(">> 20    configure: error: Autoconf 2.65 or better is required.",
                         "     19    checking whether autoconf is recent enough... no",
                         "\nSee build log for details:") == "configure: error: Autoconf 2.65 or better is required."
    assert spack_message(None, None, None) == ""


def test_the_normaliser_stays_plain_standard_library_python():
    """Spark pickles this module by value into a UDF: no jobrollup or third-party imports."""
    import ast
    tree = ast.parse(open(messages.__file__, encoding="utf-8").read())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and not node.level}
    assert imported <= {"__future__", "re"}
    assert not any(isinstance(node, ast.ImportFrom) and node.level for node in ast.walk(tree))
