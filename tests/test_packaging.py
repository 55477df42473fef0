"""The wheel carries hyperparams/ and trained/, and an installed zoo finds them."""

import subprocess
import sys
import zipfile

import pytest
from conftest import REPO_ROOT, run_python


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    # Offline: no build isolation, so hatchling comes from this environment, not the network.
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", str(out), str(REPO_ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (path,) = out.glob("zoo-*.whl")
    return path


def test_wheel_contains_packages_hyperparams_and_trained_agents(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "zoo/cli.py" in names and "envs/__init__.py" in names
    assert "zoo/hyperparams/value_iteration.yml" in names
    assert "zoo/trained/value_iteration/CliffWalking4x12-v0/model.zip" in names
    assert any(name.endswith("entry_points.txt") for name in names)
    assert not any(name.startswith(("tests/", "hyperparams/", "trained/")) for name in names)


def test_installed_wheel_finds_its_data_outside_the_source_tree(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    # Run from a folder with no checkout around it, importing zoo from the unpacked wheel only.
    result = run_python(
        "import sys, zoo, zoo.paths\n"
        f"assert zoo.__file__.startswith({str(site)!r}), zoo.__file__\n"
        f"assert str(zoo.paths.hyperparams_dir()).startswith({str(site)!r})\n"
        f"assert str(zoo.paths.trained_dir()).startswith({str(site)!r})\n"
        "from typer.testing import CliRunner\n"
        "from zoo.cli import app\n"
        "result = CliRunner().invoke(app, ['evaluate', 'value_iteration', 'CliffWalking4x12-v0', '--json'])\n"
        "assert result.exit_code == 0, result.output\n"
        "assert '/zoo/trained/value_iteration/' in result.output\n",
        cwd=tmp_path,
        env={"PYTHONPATH": str(site)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
