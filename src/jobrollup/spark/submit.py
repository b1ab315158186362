"""Submitting a job of jobs/ through spark-submit, with the package shipped along.

The same command runs on `local[*]` and against a cluster master: the library goes to the
driver and executors as a zip (--py-files). The transformations are Spark SQL expressions
(no Python UDFs); the executors' Python writes the documents with pymongo (the cluster's, or
one shipped with --archives: conf [spark] executor_archives). The driver, which writes the
ledger and the journal, runs with this environment's Python.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import sys
import zipfile
from pathlib import Path

import jobrollup

from .. import config
from . import class_archive as _class_archive
from ..config import ENV_MONGO_URI, project_home


def package_zip(dest_dir: str | os.PathLike) -> str:
    """Zip the jobrollup package (its .py files) for --py-files; rebuilt on every submit."""
    package = Path(jobrollup.__file__).resolve().parent
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / "jobrollup.zip"
    # A partial file of this run's own: two runs submitted at once (an hour and a day run
    # from cron) must not write into the same one, and a run never reads a half-written zip.
    handle, partial = tempfile.mkstemp(prefix="jobrollup.zip.", suffix=".partial", dir=dest)
    try:
        with os.fdopen(handle, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(package.rglob("*.py")):
                archive.write(path, Path("jobrollup") / path.relative_to(package))
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return str(target)


def spark_submit_program() -> str:
    beside = Path(sys.executable).with_name("spark-submit")
    if beside.exists():
        return str(beside)
    if os.environ.get("SPARK_HOME"):
        return str(Path(os.environ["SPARK_HOME"]) / "bin" / "spark-submit")
    found = shutil.which("spark-submit")
    if not found:
        raise config.ConfigError("spark-submit not found (install pyspark in this environment or set SPARK_HOME)")
    return found


def job_script(name: str) -> str:
    return str(project_home() / "jobs" / f"{name}.py")


def command(job: str, job_args: list[str], *, master: str, app_name: str, spark_conf: dict[str, str],
            py_files: str, archives: list[str] | None = None) -> list[str]:
    """The spark-submit command line. `archives` ("path#alias") are unpacked in each
    executor's working folder and put on its Python path: the way executor-side Python code
    (bin/cleanup --spark) gets pymongo where the cluster's Python lacks it."""
    cmd = [spark_submit_program(), "--master", master, "--name", app_name, "--py-files", py_files]
    archives = [config.resolve_path(a) for a in archives or []]
    if archives:
        cmd += ["--archives", ",".join(archives)]
        aliases = [a.rsplit("#", 1)[1] for a in archives if "#" in a]
        spark_conf = {"spark.executorEnv.PYTHONPATH": ":".join(aliases), **spark_conf}
    spark_conf = dict(spark_conf)
    # The driver writes the journal: it always runs this environment's Python, whatever Python
    # a profile gives the executors (spark.pyspark.python would otherwise apply to both).
    spark_conf.setdefault("spark.pyspark.driver.python", sys.executable)
    log_conf = project_home() / "conf" / "log4j2.properties"
    java_options = spark_conf.get("spark.driver.extraJavaOptions", "")
    if log_conf.exists() and "log4j2.configurationFile" not in java_options:
        # beside the profile's JVM options (the local profile's JIT and GC choices)
        spark_conf["spark.driver.extraJavaOptions"] = \
            f"{java_options} -Dlog4j2.configurationFile=file:{log_conf}".strip()
    for key, value in spark_conf.items():
        cmd += ["--conf", f"{key}={value}"]
    return cmd + [job_script(job), *job_args]


def environment(mongo_uri: str | None, master: str) -> dict[str, str]:
    """The child's environment: the URI travels here, never on the command line (ps shows argv)."""
    env = dict(os.environ)
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    env.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    env["TZ"] = "UTC"
    if master.startswith("local"):
        env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    if mongo_uri:
        env[ENV_MONGO_URI] = mongo_uri
    return env


def run(cmd: list[str], env: dict[str, str], with_status: bool = True) -> int:
    """Run spark-submit; a failure ends with its one-line reason as the last line of stderr.

    With `with_status` the job gets --status-file and writes its reason there, because the
    JVM's own messages arrive on stderr after the Python driver's."""
    with tempfile.TemporaryDirectory(prefix="jobrollup-") as tmp:
        status = os.path.join(tmp, "status")
        code = subprocess.run([*cmd, "--status-file", status] if with_status else cmd, env=env).returncode
        if code != 0:
            reason = Path(status).read_text().strip() if os.path.exists(status) else \
                f"error: spark-submit exited with code {code}; see the messages above"
            print(reason, file=sys.stderr, flush=True)
        return code


def printable(cmd: list[str]) -> str:
    return " ".join(shlex.quote(part) for part in cmd)


def spark_jars() -> Path:
    """The jars spark-submit puts on the JVM's class path (pip's pyspark, or $SPARK_HOME's)."""
    if os.environ.get("SPARK_HOME"):
        return Path(os.environ["SPARK_HOME"]) / "jars"
    import pyspark
    return Path(pyspark.__file__).resolve().parent / "jars"


def submit(job: str, job_args: list[str], *, master: str, spark_conf: dict[str, str], app_name: str,
           mongo_uri: str, archives: list[str] | None = None, class_archive: str | None = None) -> int:
    """Zip the package, submit jobs/<job>.py and wait: the one way every command runs a job.
    `class_archive`: the folder of the JVM's class archive of local runs (conf [spark]
    class_archive; empty: none; jobrollup.spark.class_archive)."""
    shared = _class_archive.for_run(config.resolve_path(class_archive), spark_jars(), master) \
        if class_archive else None
    if shared is not None:
        if shared.saving:
            print(f"jobrollup: the first local run with this Java and Spark saves the JVM's classes to "
                  f"{shared.path} (about half a minute more, once; later runs start sooner)", file=sys.stderr,
                  flush=True)
        options = spark_conf.get("spark.driver.extraJavaOptions", "")
        spark_conf = {**spark_conf, "spark.driver.extraJavaOptions": f"{options} {shared.java_options}".strip()}
    cmd = command(job, job_args, master=master, spark_conf=spark_conf, app_name=app_name, archives=archives,
                  py_files=package_zip(config.resolve_path("var/dist")))
    code = run(cmd, environment(mongo_uri, master))
    if shared is not None:
        shared.keep(code == 0)
    return code


def dry_run(job: str, job_args: list[str], *, master: str, spark_conf: dict[str, str], app_name: str) -> str:
    """The spark-submit command a run would use, printable; builds and submits nothing."""
    cmd = command(job, job_args, master=master, spark_conf=spark_conf, app_name=app_name,
                  py_files=os.path.join(config.resolve_path("var/dist"), "jobrollup.zip"))
    return "spark-submit command:\n  " + printable(cmd)

