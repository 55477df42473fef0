import os
import sys
from pathlib import Path

import pytest

# Headless: pygame opens a dummy display and no audio device.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

REPO_ROOT = Path(__file__).resolve().parent.parent


def run_python(code: str, cwd: Path | None = None, env: dict | None = None):
    """Run `code` in a fresh interpreter (nothing imported yet) and return the CompletedProcess."""
    import subprocess

    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=300)


@pytest.fixture
def runs_dir(tmp_path):
    return tmp_path / "runs"
