"""`zoo check ENV`: does an env keep Gymnasium's contract, and which algorithms take it?

What SB3's `check_env` is to its users, for an env a user wrote or installed: Gymnasium's own
checker (its warnings and failure), then the contract zoo's loops rely on, played for a few
hundred random steps (reset gives (observation, info), step five values, observations of the
space's shape, finite rewards and observations), then the algorithms whose spaces fit. Every
finding is one line; nothing is trained or written.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from zoo.environments import check_env_arguments, check_env_id, make_env, shape_misfit
from zoo.errors import ZooError, brief, brief_text


@dataclass
class EnvCheck:
    env_id: str
    observation_space: str
    action_space: str
    problems: list[str] = field(default_factory=list)  # the contract broken: training would fail or learn garbage
    warnings: list[str] = field(default_factory=list)  # Gymnasium's checker's advice
    steps: int = 0
    episodes: int = 0
    algos: list[str] = field(default_factory=list)  # those that take it: its spaces, and their family's needs
    refused_algos: dict[str, str] = field(default_factory=dict)  # the others, and why

    @property
    def passed(self) -> bool:
        return not self.problems


def check_env(env_id: str, env_kwargs: dict[str, Any] | None = None, *, steps: int = 500, seed: int = 0) -> EnvCheck:
    """Check `env_id` (made with `env_kwargs`) over `steps` random steps from `seed`."""
    from zoo.registry import ALGOS, check_spaces

    if not 1 <= steps <= 1_000_000:
        raise ZooError(f"--steps must be from 1 to 1000000, got {steps}.")
    check_env_id(env_id)
    if env_kwargs:
        check_env_arguments(env_id, env_kwargs, "--env-kwargs")
    env = make_env(env_id, env_kwargs)
    report = EnvCheck(env_id, str(env.observation_space), str(env.action_space))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                # on a fresh env of its own: the checker steps and seeds the env it is given
                from gymnasium.utils.env_checker import check_env as gymnasium_check

                checked = make_env(env_id, env_kwargs)
                try:
                    gymnasium_check(checked.unwrapped, skip_render_check=True)
                finally:
                    checked.close()
            except Exception as error:  # noqa: BLE001  (any failure of the env's is the finding)
                report.problems.append(f"Gymnasium's env checker: {type(error).__name__}: "
                                       f"{brief_text(_plain(str(error)), 300)}")
        report.warnings = sorted({brief_text(_plain(str(warning.message)), 300) for warning in caught})
        _play(env, report, steps, seed)
    finally:
        env.close()
    family_checks = _family_checks(env_id, env_kwargs, seed) if report.passed else {}
    for name, spec in ALGOS.items():
        try:
            check_spaces(spec, env.observation_space, env.action_space, env_id)
            if spec.family in family_checks:
                family_checks[spec.family](name)
            report.algos.append(name)
        except ZooError as error:
            report.refused_algos[name] = str(error)
    return report


def _family_checks(env_id: str, env_kwargs: dict[str, Any] | None, seed: int) -> dict[str, Callable[[str], None]]:
    """What the planners (the env's transition table) and the bandit solvers (regret in the
    reset's info) need beyond the spaces, as train checks it: {family: check(algo)}, each
    raising a ZooError, on a fresh env read once."""
    from zoo.loops.bandit import check_bandit_info
    from zoo.planning import model_of

    env = make_env(env_id, env_kwargs)
    try:
        info = env.reset(seed=seed)[1]
        try:
            model_of(env)
            model_error = None
        except ZooError as error:
            model_error = error
    finally:
        env.close()

    def planning(algo: str) -> None:
        if model_error is not None:
            raise model_error

    return {"planning": planning, "bandit": lambda algo: check_bandit_info(algo, info)}


def _plain(text: str) -> str:
    """A Gymnasium message on one line, without its terminal colours."""
    return " ".join(text.replace("\x1b[33m", "").replace("\x1b[0m", "").replace("WARN: ", "").split())


def _play(env: gym.Env, report: EnvCheck, steps: int, seed: int) -> None:
    """Random actions (the action space seeded), as zoo's loops would step the env."""
    problems = report.problems
    reset = _call(env.reset, problems, "reset", seed=seed)
    if reset is None:
        return
    if not (isinstance(reset, tuple) and len(reset) == 2):
        problems.append(f"reset returned {type(reset).__name__}, not (observation, info): the old Gym API")
        return
    observation = reset[0]
    if not _fits(env.observation_space, observation, problems, "reset"):
        return
    env.action_space.seed(seed)
    for step in range(1, steps + 1):
        result = _call(env.step, problems, f"step {step}", env.action_space.sample())
        if result is None:
            return
        if not (isinstance(result, tuple) and len(result) == 5):
            length = len(result) if isinstance(result, tuple) else type(result).__name__
            problems.append(f"step {step} returned {length} values, not five (observation, reward, terminated, "
                            "truncated, info)")
            return
        observation, reward, terminated, truncated, _ = result
        report.steps = step
        if not _fits(env.observation_space, observation, problems, f"step {step}"):
            return
        try:
            finite = math.isfinite(float(reward))
        except (TypeError, ValueError):
            problems.append(f"step {step} returned the reward {brief(reward)}, not a number")
            return
        if not finite:
            problems.append(f"step {step} returned the reward {reward}: the updates would turn NaN")
            return
        if terminated or truncated:
            report.episodes += 1
            reset = _call(env.reset, problems, f"reset after step {step}")
            if reset is None or not _fits(env.observation_space, reset[0], problems, f"reset after step {step}"):
                return


def _call(method: Any, problems: list[str], what: str, *args: Any, **kwargs: Any) -> Any:
    try:
        return method(*args, **kwargs)
    except Exception as error:  # noqa: BLE001  (the env's own failure is the finding)
        problems.append(f"{what} raised {type(error).__name__}: {brief_text(str(error), 200)}")
        return None


def _fits(space: gym.Space, observation: Any, problems: list[str], what: str) -> bool:
    """The observation has the space's shape and, for a float Box, finite values."""
    misfit = shape_misfit(space, observation)
    if misfit:
        problems.append(f"{what} returned {misfit}")
        return False
    if isinstance(space, gym.spaces.Box):
        values = np.asarray(observation)
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            problems.append(f"{what} returned an observation holding NaN or inf")
            return False
    elif isinstance(space, gym.spaces.Discrete) and not (np.ndim(observation) == 0 and observation in space):
        problems.append(f"{what} returned the observation {brief(observation)}, not a state of {space}")
        return False
    return True
