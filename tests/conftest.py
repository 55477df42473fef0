import os
import sys
from pathlib import Path

import pytest

# Headless: pygame opens a dummy display and no audio device.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

REPO_ROOT = Path(__file__).resolve().parent.parent
MAX_TEST_PROCESSES = 4  # each imports torch, gymnasium and optuna (~0.5 GB); beyond 4 the long tests dominate


def pytest_xdist_auto_num_workers(config):
    """`-n auto` (pyproject's addopts): one test process per core this process may run on, at
    most MAX_TEST_PROCESSES; xdist's own PYTEST_XDIST_AUTO_NUM_WORKERS still decides when set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's hook reads it
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, MAX_TEST_PROCESSES))


def run_python(code: str, cwd: Path | None = None, env: dict | None = None):
    """Run `code` in a fresh interpreter (nothing imported yet) and return the CompletedProcess."""
    import subprocess

    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=300)


@pytest.fixture
def runs_dir(tmp_path):
    return tmp_path / "runs"


def _postgres_bindir():
    import shutil
    import subprocess

    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = Path(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip())
        if (bindir / "initdb").exists():
            return bindir
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL server on a unix socket, for the session: initdb into a fresh
    folder, pg_ctl start, a database `zoo`; stopped and removed at the end. initdb refuses root,
    so as root the server runs as the `postgres` user (runuser), in a folder it owns outside
    pytest's root-only tmp. Without PostgreSQL the tests skip, unless ZOO_REQUIRE_POSTGRES is
    set (.ci/run sets it), where that is a failure."""
    import os
    import shutil
    import subprocess
    import tempfile

    bindir = _postgres_bindir()
    as_root = os.geteuid() == 0
    problem = None
    if bindir is None:
        problem = "PostgreSQL is not installed (no initdb)"
    elif as_root and (shutil.which("runuser") is None or subprocess.run(["id", "postgres"],
                                                                        capture_output=True).returncode):
        problem = "running as root without a postgres user to run the server as"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        problem = problem or "psycopg is not installed (pip install 'zoo[tune]')"
    if problem:
        if os.environ.get("ZOO_REQUIRE_POSTGRES"):
            pytest.fail(f"ZOO_REQUIRE_POSTGRES is set but {problem}")
        pytest.skip(problem)

    folder = Path(tempfile.mkdtemp(prefix="zoo-pg-"))
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir()
    if as_root:
        shutil.chown(folder, "postgres", "postgres")
        shutil.chown(sockets, "postgres", "postgres")
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    user = "postgres" if as_root else os.environ.get("USER", "postgres")

    def run(*command):
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    run(str(bindir / "initdb"), "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8")
    # no TCP at all: only the unix socket in our folder
    run(str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(folder / "server.log"), "-o",
        f"-c listen_addresses='' -k {sockets} -p 5432", "start")
    try:
        run(str(bindir / "createdb"), "-h", str(sockets), "-p", "5432", "-U", user, "zoo")
        yield f"postgresql+psycopg://{user}@/zoo?host={sockets}&port=5432"
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-m", "immediate", "stop"],
                       capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)
