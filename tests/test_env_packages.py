"""Third-party envs: `package:EnvId` and `--env-package`, in-process and in async workers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from conftest import REPO_ROOT

PACKAGE = textwrap.dedent('''
    import gymnasium as gym
    import numpy as np
    from gymnasium.envs.registration import register


    class CorridorEnv(gym.Env):
        """Walk right to the end of a 5-cell corridor: -1 per step."""

        metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

        def __init__(self, render_mode=None):
            self.observation_space = gym.spaces.Box(0.0, 4.0, (1,), np.float32)
            self.action_space = gym.spaces.Discrete(2)
            self.render_mode = render_mode

        def render(self):
            if self.render_mode == "ansi":
                return "".join("A" if cell == self.position else "." for cell in range(5)) + "\\n"
            frame = np.zeros((8, 40, 3), np.uint8)
            frame[:, 8 * self.position:8 * self.position + 8] = 255
            return frame

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            self.position = 0
            return np.array([0.0], np.float32), {}

        def step(self, action):
            self.position = min(4, max(0, self.position + (1 if action == 1 else -1)))
            return np.array([self.position], np.float32), -1.0, self.position == 4, False, {}


    register(id="Corridor-v0", entry_point=CorridorEnv, max_episode_steps=50)
''')


@pytest.fixture
def package_path(tmp_path):
    (tmp_path / "corridor_envs").mkdir()
    (tmp_path / "corridor_envs" / "__init__.py").write_text(PACKAGE)
    return tmp_path


def zoo(package_path, *args):
    """The CLI in a fresh interpreter: nothing registered but what the command imports."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(package_path), str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.run([sys.executable, "-m", "zoo", *args], capture_output=True, text=True,
                          cwd=package_path, env=environment, timeout=300)


@pytest.mark.slow  # ~11 s: async workers and a subprocess; runs in .ci/run's slow pass
def test_env_package_registers_envs_for_every_process_of_a_run(package_path):
    # async: two spawned workers, whose fresh interpreters must import the package themselves
    result = zoo(package_path, "train", "actor_critic", "Corridor-v0", "--env-package", "corridor_envs",
                 "--steps", "200", "--hp", "n_envs=2", "--hp", "vectorization=async", "--hp", "eval_freq=0")
    assert result.returncode == 0, result.stderr
    result = zoo(package_path, "evaluate", "actor_critic", "Corridor-v0", "--env-package", "corridor_envs",
                 "--episodes", "2", "--json")
    assert result.returncode == 0, result.stderr
    assert '"episodes": 2' in result.stdout


@pytest.mark.slow  # ~9 s: three subprocesses; runs in .ci/run's slow pass
def test_package_colon_env_id_needs_no_flag(package_path):
    result = zoo(package_path, "train", "dqn", "corridor_envs:Corridor-v0", "--steps", "300",
                 "--hp", "learning_starts=100", "--hp", "eval_freq=0")
    assert result.returncode == 0, result.stderr
    # shown and recorded under the same id (render_modes asked gym.spec, which has no 'package:' form: traceback)
    shown = zoo(package_path, "enjoy", "dqn", "corridor_envs:Corridor-v0", "--render", "--episodes", "1")
    assert shown.returncode == 0 and "A...." in shown.stdout, shown.stderr
    recorded = zoo(package_path, "enjoy", "dqn", "corridor_envs:Corridor-v0", "--video", "c.gif", "--episodes", "1")
    assert recorded.returncode == 0 and (package_path / "c.gif").is_file(), recorded.stderr


@pytest.mark.slow  # two subprocesses; the same errors in-process: tests/test_hostile.py, tests/test_cli.py
def test_without_the_package_the_error_says_how_to_bring_it(package_path):
    result = zoo(package_path, "train", "dqn", "Corridor-v0", "--steps", "100")
    assert result.returncode == 1
    assert "Unknown environment 'Corridor-v0'" in result.stderr and "--env-package" in result.stderr
    result = zoo(package_path, "train", "dqn", "Corridor-v0", "--env-package", "no_such_envs")
    assert result.returncode == 1 and "cannot import 'no_such_envs'" in result.stderr
