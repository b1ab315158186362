"""The embedded server's start-up patience (jobrollup.store.embedded): a large store takes the
server longer to open (55 s for 8.8 GB with a cold file cache), so it waits longer for one."""

from __future__ import annotations

from jobrollup.store import embedded


def test_a_larger_store_gets_more_time_to_start(tmp_path):
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.wt").write_bytes(b"x" * 3000)
    (data / "sub" / "b.wt").write_bytes(b"y" * 2000)
    assert embedded._size_bytes(data) == 5000
    assert embedded.ready_timeout(0) == embedded.READY_TIMEOUT_S
    assert embedded.ready_timeout(int(8.8e9)) >= 55 + embedded.READY_TIMEOUT_S   # room over the 55 s measured
    assert embedded.ready_timeout(int(2e9)) > embedded.ready_timeout(int(1e9))
