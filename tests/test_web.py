"""The read-only web view (jobrollup.web, bin/serve).

In-process: every page through Flask's test client over the real embedded MongoDB, holding a
small database written without Spark (tests/web_data.py). Tables carry each exact value in
`data-value`; they are checked against the query library (what bin/query prints) and, for the
headline figures, against plain Python over the job records the documents came from. The app
is proven read-only by the database's contents before and after every route.

End to end: the real pages in headless Chromium (Debian's `chromium`, driven by Playwright,
no browser download), with a filter changed on each page. Screenshots go to a temporary folder,
or to docs/ with JOBROLLUP_WEB_SCREENSHOTS=docs (the README's pictures).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import shlex
import shutil
import socket
import threading
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from helpers import write_conf

import web_data
from jobrollup import query as queries
from jobrollup.cli import query as query_cli
from jobrollup.cli import serve
from jobrollup.store.mongo import MongoStore
from jobrollup.web import create_app
from jobrollup.web.form import Explore
from werkzeug.datastructures import MultiDict

ROOT = Path(__file__).resolve().parents[1]
NOW, T = web_data.NOW, dt.datetime
EXIT_CODES = queries.load_exit_codes(ROOT / "conf" / "exit_codes.json")


@pytest.fixture(scope="module")
def site(mongo_server):
    store = MongoStore(mongo_server.uri, f"w_{uuid.uuid4().hex[:12]}", timeout_ms=5000)
    records = web_data.build(store)
    yield store, records
    store.client.drop_database(store.db.name)
    store.close()


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    (folder / "hgb-1").mkdir()
    (folder / "hgb-1" / "experiment.json").write_text(json.dumps({
        "experiment": "hgb-1", "model": {"model": "hgb"}, "data": {"packages": {"petsc": 1, "abyss": 1}, "rows": 120},
        "metrics": {"test": {"overall": {"mean": {"accuracy": 0.8125, "balanced_accuracy": 0.75, "roc_auc": 0.875,
                                                  "brier": 0.125}}}}, "created": "2026-03-10T12:00:00"}))
    return folder


@pytest.fixture(scope="module")
def app(site, models_dir):
    store, _ = site
    return create_app(store, now=NOW, models_dir=str(models_dir))


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


# -- reading pages ---------------------------------------------------------------------------

def cells(page: str, table_id: str = "answer") -> list[dict]:
    """The rows of a table as {column: data-value}."""
    body = re.search(rf'<table[^>]*id="{table_id}".*?</table>', page, re.S)
    assert body, f"no table {table_id}"
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body.group(0), re.S):
        found = re.findall(r'<td[^>]*data-column="([^"]*)" data-value="([^"]*)"', row)
        if found:
            rows.append({html.unescape(c): html.unescape(v) for c, v in found})
    return rows


def number(text: str) -> float:
    return float(text) if text else float("nan")


def get(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    page = response.get_data(as_text=True)
    assert response.status_code == status, (url, response.status_code, page[:2000])
    assert "Traceback" not in page
    return page


def in_span(records, start: T, end: T) -> list[dict]:
    return [r for r in records if start <= web_data.EPOCH + dt.timedelta(seconds=r["ts"]) < end]


# -- pages -------------------------------------------------------------------------------------

def test_the_overview_shows_jobs_failure_rate_and_top_exit_codes_as_the_records_give(client, site):
    _, records = site
    page = get(client, "/?days=5")
    recent = in_span(records, T(2026, 3, 6), NOW)     # '5 days ago' from 2026-03-11 06:00
    failed = [r for r in recent if r["jobstate"] != "success"]
    assert re.search(r'id="fwjr-jobs">([\d,]+)<', page).group(1) == f"{len(recent):,}"
    assert re.search(r'id="fwjr-failure-rate">([\d.]+)%<', page).group(1) == f"{len(failed) / len(recent) * 100:.2f}"
    per_day = Counter((web_data.EPOCH + dt.timedelta(seconds=r["ts"])).date() for r in recent)
    series = {T.fromisoformat(row["day"]).date(): int(number(row["count"])) for row in cells(page, "fwjr-series")}
    assert series == per_day
    top = cells(page, "fwjr-top")
    assert {int(r["exitCode"]): int(number(r["count"])) for r in top} == Counter(r["exitCode"] for r in failed)
    assert {r["description"] for r in top if r["exitCode"] == "71104"} == {queries.UNKNOWN_CODE}
    assert {r["description"] for r in top if r["exitCode"] == "8021"} == {EXIT_CODES[8021]}
    assert '<div class="chart"><svg' in page and "Jobs, failure rate by day" in page
    assert 'id="source-spack_builds"' in page and "spack_builds-top" in page


QUESTION = {"source": "fwjr", "from": "2026-03-02", "to": "2026-03-09", "w": ["jobstate!=success"],
            "by": "site", "m": "count,failure_rate,cpu.TotalJobCPU:mean"}


def test_explore_answers_as_bin_query_and_its_command_prints_the_same(client, site, tmp_path, capsys):
    store, records = site
    page = get(client, "/explore?" + urlencode(QUESTION, doseq=True))
    rows = {r["site"]: r for r in cells(page)}
    want = queries.answer(store, queries.query(start="2026-03-02", end="2026-03-09", where=["jobstate!=success"],
                                               by=["site"], metrics=["count,failure_rate,cpu.TotalJobCPU:mean"], now=NOW))
    assert set(rows) == set(want["site"])
    for row in want.to_dict("records"):
        assert int(number(rows[row["site"]]["count"])) == row["count"]
        assert number(rows[row["site"]]["cpu.TotalJobCPU.mean"]) == pytest.approx(row["cpu.TotalJobCPU.mean"], rel=1e-12)
    # independent: plain Python over the records
    chosen = [r for r in in_span(records, T(2026, 3, 2), T(2026, 3, 10)) if r["jobstate"] != "success"]
    assert {s: int(number(r["count"])) for s, r in rows.items()} == Counter(r["site"] for r in chosen)
    # the chart: bars named by the same sites, titled with the question
    chart = re.search(r'<div class="chart" id="chart">(.*?)</div>', page, re.S).group(1)
    assert all(s in chart for s in rows) and "where jobstate!=success" in chart
    # "copy as bin/query command": the command prints the same figures
    command = html.unescape(re.search(r'id="command">(.*?)</code>', page, re.S).group(1))
    assert command == ("bin/query --source fwjr --from 2026-03-02 --to 2026-03-09 -w 'jobstate!=success' --by site "
                       "-m count,failure_rate,cpu.TotalJobCPU:mean")
    conf = write_conf(tmp_path / "conf.toml", {"mongo": {"database": store.db.name}})
    capsys.readouterr()
    assert query_cli.main(shlex.split(command)[1:] + ["--format", "json", "--mongo-uri", store.uri, "--conf", str(conf),
                                                      "--now", NOW.isoformat()]) == 0
    printed = {r["site"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert {s: (r["count"], r["failure_rate"]) for s, r in printed.items()} == \
           {s: (int(number(r["count"])), number(r["failure_rate"])) for s, r in rows.items()}


def test_a_view_s_url_reproduces_it():
    form = Explore.from_args(MultiDict([("source", "fwjr"), ("from", "3 days ago"), ("w", "site~^T2_"), ("w", "exitCode=8021,null"),
                                        ("w", ""), ("m", "count"), ("by", "site,time:day"), ("sort", "count"),
                                        ("limit", "5"), ("exact", "1")]))
    assert form.where == ("site~^T2_", "exitCode=8021,null") and form.limit == 5 and form.exact
    again = Explore.from_args(MultiDict([(k, v) for k, values in parse_qs(urlsplit(form.url()).query).items() for v in values]))
    assert again == form
    assert query_cli.parse_args(shlex.split(form.command())[1:]).where == list(form.where)


def test_suggestions_list_exit_codes_with_descriptions_under_the_other_filters(client, site):
    _, records = site
    url = "/explore?" + urlencode({"from": "earliest", "w": ["jobstate!=success", "exitCode=8021"], "suggest": "exitCode"},
                                  doseq=True)
    page = get(client, url)
    block = re.search(r'id="suggestions".*?</section>', page, re.S).group(0)
    failed = Counter(r["exitCode"] for r in records if r["jobstate"] != "success")
    offered = {int(v): int(n.replace(",", "")) for v, n in
               re.findall(r'data-filter="exitCode=(\d+)">\d+</a></td><td>[^<]*</td><td class="num">([\d,]+)<', block)}
    assert offered == failed          # the exitCode filter itself is left out of its own suggestions
    assert f"<td>{html.escape(EXIT_CODES[50660])}</td>" in block and f"<td>{html.escape(queries.UNKNOWN_CODE)}</td>" in block
    answer = json.loads(get(client, "/explore/suggest.json?" + urlencode({"from": "earliest", "key": "site",
                                                                          "w": "jobstate!=success"})))
    assert {v["value"]: v["count"] for v in answer["values"]} == Counter(r["site"] for r in records if r["jobstate"] != "success")


@pytest.mark.parametrize("url, message", [
    ("/explore?by=sitez", "unknown scope key &#39;sitez&#39; (did you mean site?)"),
    ("/explore?m=cpu.TotalJobCPUU", "unknown metric"),
    ("/explore?from=the+other+day", "is not a time"),
    ("/explore?w=site~(", "invalid regular expression"),
    ("/explore?limit=x", "limit must be a whole number"),
    ("/explore?by=site&sort=nope", "sort &#39;nope&#39;: choose one of"),
    ("/explore?from=2026-03-05&to=2026-03-01", "empty span"),
    ("/explore?source=nope", "unknown source"),
    ("/?days=many", "days must be a whole number"),
    ("/errors?precision=fortnight", "unknown precision"),
    ("/errors?w=nope=1", "unknown key"),
    ("/runs?limit=-3", "limit must be a whole number"),
    ("/spack?package=petsc&rows=nope", "unknown scope key"),
])
def test_a_bad_question_is_a_clear_message_and_400_never_a_traceback(client, url, message):
    page = get(client, url, 400)
    assert 'id="failure"' in page and message in page


def test_error_kinds_rank_clusters_with_labels_examples_and_busiest_sites(client, site):
    store, _ = site
    page = get(client, "/errors?" + urlencode({"from": "2026-03-03", "to": "2026-03-05", "w": "site~^T2_"}))
    docs = [d for d in store.db.fwjr_errors.find() if T(2026, 3, 3) <= d["scope"]["start_date"] < T(2026, 3, 6)
            and d["scope"]["site"].startswith("T2_")]
    want = Counter()
    for d in docs:
        want[d["cluster"]] += d["count"]
    rows = cells(page)
    assert [(int(r["cluster"]), int(r["errors"])) for r in rows] == sorted(want.items(), key=lambda kv: (-kv[1], kv[0]))
    assert "Fatal Exception: FileOpenError" in page and "/store/a.root" in page      # label and example
    assert re.search(r'<span class="muted">site</span> T2_CH_CERN \([\d,]+\)', page)
    assert '<div class="chart" id="chart"><svg' in page
    assert "bin/query --errors --source fwjr --from 2026-03-03 --to 2026-03-05 -w &#39;site~^T2_&#39;" in page


def test_runs_show_the_refused_night_the_ledger_and_the_last_cleanup(client, site):
    store, _ = site
    page = get(client, "/runs")
    assert re.search(r'class="banner error trouble".*?<strong>aggregate</strong> run of <strong>fwjr</strong>.*?'
                     r'<strong>refused</strong>: 40 of 100 lines rejected', page, re.S)
    refused = store.db.runs.find_one({"status": "refused"})
    assert f"/srv/jobrollup/var/rejects/fwjr/{refused['_id']}" in page and "malformed_json 40" in page
    ledger = Counter((e["precision"], e["state"]) for e in store.db.fwjr_buckets.find())
    block = re.search(r'id="coverage-fwjr".*?</section>', page, re.S).group(0)
    shown = {(p, s): int(n) for p, s, n in re.findall(r"<tr><td>(\w+)</td><td>(\w+)</td><td class=\"num\">(\d+)</td>", block)}
    assert shown == dict(ledger) and ("hour", "rolled_up") in shown
    cleanup = store.last_run("cleanup", "fwjr")
    assert f"<code>{cleanup['_id']}</code>" in block
    assert f'<td class="num">{cleanup["tiers"]["hour"]["retired_buckets"]}</td>' in block
    assert cleanup["tiers"]["hour"]["retired_buckets"] == 24


def test_the_spack_page_draws_the_build_matrix_and_lists_the_experiments(client):
    page = get(client, "/spack?package=petsc")
    matrix = re.search(r'id="matrix".*?</table>', page, re.S).group(0)
    row = lambda version: re.search(rf"<tr><th>{re.escape(version)}</th>(.*?)</tr>", matrix, re.S).group(1)
    # columns busiest first: 12.2 (13 builds), 11.4 (8), 16 (5)
    assert re.findall(r"<th>([^<]+)</th>", matrix)[1:4] == ["12.2", "11.4", "16"]
    assert re.findall(r'data-value="([\d.]+)"|(not tried)', row("3.20")) == [("90.0", ""), ("50.0", ""), ("", "not tried")]
    assert re.findall(r'data-value="([\d.]+)"|(not tried)', row("3.19")) == [("0.0", ""), ("", "not tried"), ("100.0", "")]
    assert '<div class="chart" id="chart"><svg' in page and "not tried" in page
    assert "hgb-1" in page and "0.875" in page
    assert "bin/query --source spack_builds --from earliest --to now -w package=petsc --matrix matrix.png" in page


LATEST_NIGHT = max(web_data.SCORED_NIGHTS)


@pytest.mark.parametrize("package", ["", "petsc", "zlib"])
def test_the_spack_page_lists_the_latest_night_s_surprises_as_the_scoring_table_gives(client, site, package):
    from jobrollup.models import scoring

    store, _ = site
    page = get(client, f"/spack?package={package}")
    night = (LATEST_NIGHT, LATEST_NIGHT + dt.timedelta(days=1))
    expected = scoring.surprises_table(store.predictions(*night, surprises_only=True))
    if package:
        expected = expected[expected["package"] == package]
    columns = ["package", "spec_hash", "version", "status", "p_success", "surprise", "experiment"]
    assert cells(page, "surprises") == [{c: str(row[c]) for c in columns} for row in expected.to_dict("records")]
    assert len(expected) == {"": 4, "petsc": 3, "zlib": 1}[package]    # the older night's surprise is not there
    # counts as plain Python over what was written
    builds = [b for b in web_data.SCORED_NIGHTS[LATEST_NIGHT] if not package or b[0] == package]
    assert re.search(r'id="scored" data-value="(\d+)"', page).group(1) == str(len(builds))
    assert re.search(r'id="surprise-count" data-value="(\d+)"', page).group(1) == \
        str(sum(web_data.surprise(status, p) is not None for _, _, _, status, p in builds))
    assert f"{LATEST_NIGHT:%Y-%m-%d}" in page and "no-surprises" not in page


def test_the_spack_page_says_when_there_is_no_surprise_or_no_scored_night(client, site, mongo_server, models_dir):
    page = get(client, "/spack?package=abyss")       # scored that night, as expected
    assert 'id="no-surprises"' in page and 'id="surprises"' not in page
    assert re.search(r'id="scored" data-value="(\d+)"', page).group(1) == "2"
    assert re.search(r'id="surprise-count" data-value="(\d+)"', page).group(1) == "0"
    empty = MongoStore(mongo_server.uri, f"w_{uuid.uuid4().hex[:12]}", timeout_ms=5000)   # nothing written
    try:
        page = get(create_app(empty, now=NOW, models_dir=str(models_dir)).test_client(), "/spack")
        assert 'id="no-scores"' in page and 'id="surprises"' not in page and "No spack build is held yet" in page
    finally:
        empty.close()


def snapshot(store) -> dict:
    return {name: sorted((json.dumps(d, default=str, sort_keys=True) for d in store.db[name].find()))
            for name in store.db.list_collection_names()}


# One URL per route, each asking the most of its page (charts, suggestions, matrix, ledger).
ROUTES = ["/?days=30", "/explore?" + urlencode({**QUESTION, "by": "site,time:day", "suggest": "exitCode"}, doseq=True),
          "/explore/suggest.json?key=exitCode&from=earliest", "/explore?by=nope", "/errors?from=earliest&by=site",
          "/runs", "/spack?package=petsc", "/static/style.css"]


def test_the_view_never_writes_to_mongodb(client, site):
    store, _ = site
    before = snapshot(store)
    for url in ROUTES:
        assert client.get(url).status_code in (200, 400), url
    assert snapshot(store) == before


def test_mongodb_down_is_a_banner_and_503(models_dir):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]            # nothing listens there once closed
    store = MongoStore(f"mongodb://127.0.0.1:{port}", "jobrollup", timeout_ms=200)
    client = create_app(store, now=NOW, models_dir=str(models_dir)).test_client()
    try:
        for url in ("/", "/explore?by=site", "/errors", "/runs", "/spack"):
            page = get(client, url, 503)
            assert "MongoDB is unreachable" in page and 'class="banner error"' in page
    finally:
        store.close()


def test_bin_serve_listens_on_localhost_unless_told(capsys):
    assert serve.parse_args([]).host == "127.0.0.1"
    assert serve.parse_args(["--host", "0.0.0.0", "--port", "9000"]).port == 9000
    assert serve._loopback("127.0.0.1") and serve._loopback("::1") and not serve._loopback("0.0.0.0")
    with pytest.raises(SystemExit):
        serve.parse_args(["--port", "0"])


# -- end to end: the real pages in headless Chromium -------------------------------------------

def chromium() -> str | None:
    return shutil.which("chromium") or next((p for p in ("/usr/bin/chromium", "/usr/lib/chromium/chromium")
                                            if os.path.exists(p)), None)


@pytest.fixture(scope="module")
def served(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    path = chromium()
    if path is None:
        pytest.skip("Chromium not found (Debian: apt-get install chromium; bin/setup installs it when run as root)")
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    return ROOT / "docs" if os.environ.get("JOBROLLUP_WEB_SCREENSHOTS") == "docs" else tmp_path_factory.mktemp("shots")


def table_of(page, table_id: str = "answer") -> list[dict]:
    return page.eval_on_selector_all(
        f"#{table_id} tbody tr", "rows => rows.map(r => Object.fromEntries(Array.from(r.querySelectorAll('td[data-column]'))"
        ".map(c => [c.dataset.column, c.dataset.value])))")


def test_every_page_in_chromium_follows_a_changed_filter(browser, served, site, shots):
    store, records = site
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        # overview: fewer days, fewer jobs, as the records say
        page.goto(f"{served}/?days=10")
        page.fill("#days", "3")
        page.click("button[type=submit]")
        page.wait_for_url("**/?days=3")
        assert page.inner_text("#fwjr-jobs") == f"{len(in_span(records, T(2026, 3, 8), NOW)):,}"
        page.screenshot(path=str(shots / "web-overview.png"), full_page=True)

        # explore: add a filter; the chart and the table follow, to bin/query's figures
        page.goto(f"{served}/explore?" + urlencode({"from": "2026-03-01", "to": "2026-03-10", "by": "site,time:day",
                                                    "m": "count,failure_rate"}))
        chart_before = page.inner_html("#chart")
        page.fill("input.filter >> nth=-1", "site=T2_CH_CERN,T2_DE_DESY")
        page.click("#ask")
        page.wait_for_selector("#chart")
        want = queries.answer(store, queries.query(start="2026-03-01", end="2026-03-10", by=["site", "time:day"],
                                                   where=["site=T2_CH_CERN,T2_DE_DESY"], metrics=["count,failure_rate"],
                                                   now=NOW))
        shown = table_of(page)
        assert [(r["site"], r["day"][:10], int(float(r["count"])), float(r["failure_rate"])) for r in shown] == \
               [(r["site"], f"{r['day']:%Y-%m-%d}", r["count"], pytest.approx(r["failure_rate"], rel=1e-12))
                for r in want.to_dict("records")]
        chart = page.inner_html("#chart")
        assert chart != chart_before and "where site=T2_CH_CERN,T2_DE_DESY" in chart and "T1_US_FNAL" not in chart
        assert "-w site=T2_CH_CERN,T2_DE_DESY" in page.inner_text("#command")
        page.screenshot(path=str(shots / "web-explore.png"), full_page=True)
        # typing a filter offers the key's values, exit codes described
        page.fill("input.filter >> nth=-1", "exitCode=")
        page.wait_for_function("document.querySelectorAll('#values option[label]').length > 0")
        labels = page.eval_on_selector_all("#values option[label]", "os => os.map(o => [o.value, o.label])")
        assert ["exitCode=8021", f"{len([r for r in in_span(records, T(2026, 3, 1), T(2026, 3, 11)) if r['exitCode'] == 8021 and r['site'] in ('T2_CH_CERN', 'T2_DE_DESY')])} jobs · {EXIT_CODES[8021]}"] in labels

        # error kinds: one site only
        page.goto(f"{served}/errors?from=2026-03-01&to=2026-03-10")
        page.fill("input.filter >> nth=-1", "site=T2_DE_DESY")
        page.click("#ask")
        page.wait_for_selector("#answer")
        want = queries.error_clusters(store, source="fwjr", start="2026-03-01", end="2026-03-10",
                                      where=["site=T2_DE_DESY"], now=NOW)
        assert [(int(r["cluster"]), int(r["errors"])) for r in table_of(page)] == \
               list(zip(want["cluster"].astype(int), want["errors"].astype(int)))
        assert "where site=T2_DE_DESY" in page.inner_html("#chart")
        page.screenshot(path=str(shots / "web-errors.png"), full_page=True)

        # runs: the refused night at a glance
        page.goto(f"{served}/runs")
        assert "refused" in page.inner_text(".banner.trouble")
        page.screenshot(path=str(shots / "web-runs.png"), full_page=True)

        # spack: choose a package, the matrix follows
        page.goto(f"{served}/spack")
        page.fill("#package", "abyss")
        page.click("#ask")
        page.wait_for_selector("#chart")
        assert "package=abyss" in page.inner_html("#chart")
        assert page.is_visible("#no-surprises")          # abyss's builds that night went as predicted
        page.goto(f"{served}/spack?package=petsc")
        assert [r["spec_hash"] for r in table_of(page, "surprises")] == ["a1", "a2", "a3"]   # most confident first
        page.screenshot(path=str(shots / "web-spack.png"), full_page=True)
    finally:
        page.close()
    assert all((shots / f"web-{name}.png").stat().st_size > 10_000 for name in ("overview", "explore", "errors", "runs", "spack"))
