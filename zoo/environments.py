"""Making environments by id, with one clear error when that cannot be done."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable
from typing import Any

import gymnasium as gym

from zoo.errors import ZooError, did_you_mean


# Packages imported for the envs they register (`--env-package`), in the order given; the
# workers of async vector envs import them again, so an env registered by one is found in
# a subprocess whatever the start method.
_ENV_PACKAGES: list[str] = []


def register_zoo_envs() -> None:
    """Import the `envs` package, whose import registers the zoo's own ids."""
    import envs

    gym.register_envs(envs)


def import_env_packages(packages: Iterable[str]) -> None:
    """Import packages that register Gymnasium envs (RL Zoo's --gym-packages)."""
    for package in packages:
        try:
            importlib.import_module(package)
        except ImportError as error:
            raise ZooError(f"Cannot import env package '{package}': {error}. Is it installed in this environment?") \
                from None
        if package not in _ENV_PACKAGES:
            _ENV_PACKAGES.append(package)


def check_env_id(env_id: str) -> None:
    """Raise a ZooError naming the closest ids when `env_id` is not registered."""
    register_zoo_envs()
    module, sep, name = env_id.rpartition(":")
    if sep:
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise ZooError(f"Cannot import '{module}' (from env id '{env_id}'): {error}.") from None
    else:
        name = env_id
    if name not in gym.envs.registry:
        raise ZooError(
            f"Unknown environment '{env_id}'.{did_you_mean(name, gym.envs.registry)} "
            "See `zoo list` for the registered ids; a package that registers more can be "
            "named as 'package:EnvId' or imported with --env-package PACKAGE."
        )


def make_env(env_id: str, env_kwargs: dict[str, Any] | None = None, render_mode: str | None = None,
             config: Any = None) -> gym.Env:
    """The env as an agent sees it: `config` (the agent's hyperparameters) may carry an
    `image_pipeline` (vision agents) whose wrappers are applied here, so training, evaluation
    and enjoy all see the same observations. Pixel observations come from the rgb_array
    render; a human window then shows those frames."""
    check_env_id(env_id)
    pipeline = getattr(config, "image_pipeline", None)
    kwargs = dict(env_kwargs or {})
    if pipeline is not None and pipeline.pixels:
        kwargs["render_mode"] = "rgb_array"
    elif render_mode is not None:
        kwargs["render_mode"] = render_mode
    try:
        env = gym.make(env_id, **kwargs)
    except gym.error.DependencyNotInstalled as error:
        raise ZooError(f"'{env_id}' needs an optional dependency: {error}") from None
    except (TypeError, ValueError, gym.error.Error) as error:
        raise ZooError(f"Cannot create '{env_id}' with {kwargs or 'no arguments'}: {error}") from None
    if pipeline is None:
        return env
    env = pipeline.wrap(env)
    return gym.wrappers.HumanRendering(env) if render_mode == "human" and pipeline.pixels else env


def render_modes(env_id: str) -> list[str]:
    check_env_id(env_id)
    spec = gym.spec(env_id)
    entry_point = spec.entry_point
    env_class = entry_point if callable(entry_point) else gym.envs.registration.load_env_creator(entry_point)
    return list(getattr(env_class, "metadata", {}).get("render_modes", []))


def make_vector_env(env_id: str, n_envs: int, env_kwargs: dict[str, Any] | None = None,
                    vectorization: str = "sync") -> gym.vector.VectorEnv:
    """`n_envs` copies stepped together. Autoreset happens in the same step (the observation
    returned for a finished env is already the next episode's first one; the last one of the
    finished episode is in info['final_obs']), so every transition a step returns is real."""
    check_env_id(env_id)
    try:
        if vectorization == "async":
            # spawn, not fork: a forked copy of a process running torch threads can hang; the
            # workers start clean, import the env packages, then make their env.
            make_one = functools.partial(_make_in_worker, tuple(_ENV_PACKAGES), env_id, dict(env_kwargs or {}))
            return gym.vector.AsyncVectorEnv([make_one] * n_envs, context="spawn",
                                             autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
        return gym.make_vec(
            env_id, num_envs=n_envs, vectorization_mode=vectorization,
            vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}, **dict(env_kwargs or {}),
        )
    except gym.error.DependencyNotInstalled as error:
        raise ZooError(f"'{env_id}' needs an optional dependency: {error}") from None
    except (TypeError, ValueError, gym.error.Error) as error:
        raise ZooError(f"Cannot create {n_envs} x '{env_id}' ({vectorization}): {error}") from None


def _make_in_worker(packages: tuple[str, ...], env_id: str, env_kwargs: dict[str, Any]) -> gym.Env:
    """An async vector env's worker: the same registrations as the parent, then the env."""
    for package in packages:
        importlib.import_module(package)
    register_zoo_envs()
    return gym.make(env_id, **env_kwargs)
