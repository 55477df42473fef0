"""Making environments by id, with one clear error when that cannot be done."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from zoo.errors import ZooError, brief, brief_text, did_you_mean

# Packages imported for the envs they register (`--env-package`), in the order given; the
# workers of async vector envs import them again, so an env registered by one is found in
# a subprocess whatever the start method.
_ENV_PACKAGES: list[str] = []


def register_zoo_envs() -> None:
    """Import the `envs` package, whose import registers the zoo's own ids."""
    import envs

    gym.register_envs(envs)


def import_module_for(module: str, what: str) -> None:
    """Import `module`, named by the user's own command line (never by a file). Whatever goes
    wrong (not installed, a syntax error in it, an exception it raises) is one ZooError."""
    if not module.strip() or any(not part.isidentifier() for part in module.split(".")):
        raise ZooError(f"{what}: '{brief_text(module)}' is not a module name (like package or package.module).")
    try:
        importlib.import_module(module)
    except ImportError as error:
        raise ZooError(f"{what}: cannot import '{module}' ({brief_text(str(error), 160)}). Is it installed in this "
                       "environment?") from None
    except Exception as error:  # noqa: BLE001 -- a third-party module may raise anything on import
        raise ZooError(f"{what}: importing '{module}' failed "
                       f"({type(error).__name__}: {brief_text(str(error), 160)}).") from None


def import_env_packages(packages: Iterable[str]) -> None:
    """Import packages that register Gymnasium envs (RL Zoo's --gym-packages)."""
    for package in packages:
        import_module_for(package, f"--env-package {brief_text(package)}")
        if package not in _ENV_PACKAGES:
            _ENV_PACKAGES.append(package)


def check_env_id(env_id: str) -> None:
    """Raise a ZooError naming the closest ids when `env_id` is not registered."""
    register_zoo_envs()
    module, sep, name = env_id.rpartition(":")
    if sep:
        import_module_for(module, f"env id '{brief_text(env_id)}'")
    else:
        name = env_id
    if name not in gym.envs.registry:
        known = _package_registering(name)
        if known is not None:
            raise ZooError(f"Unknown environment '{env_id}': {known}.")
        raise ZooError(
            f"Unknown environment '{env_id}'.{did_you_mean(name, gym.envs.registry)} "
            "See `zoo list` for the registered ids; a package that registers more can be "
            "named as 'package:EnvId' or imported with --env-package PACKAGE."
        )


# Packages that register the envs RL Zoo's files name (Gymnasium registers none of these
# itself): their id patterns, pip name and module, for the error of an id not registered yet
_ENV_PACKAGES_BY_ID: tuple[tuple[tuple[str, ...], tuple[str, ...], str, str, str], ...] = (
    # id prefixes, id suffixes, what, pip name, module
    (("ALE/",), ("NoFrameskip-v4", "NoFrameskip-v0", "Deterministic-v4", "Deterministic-v0"), "Atari", "ale-py",
     "ale_py"),
    (("MiniGrid-", "BabyAI-"), (), "MiniGrid", "minigrid", "minigrid"),
    (("highway-", "merge-", "roundabout-", "parking-", "intersection-", "racetrack-", "exit-", "two-way-",
      "u-turn-", "lane-keeping-"), (), "highway-env", "highway-env", "highway_env"),
    (("Fetch", "HandReach", "HandManipulate", "AdroitHand", "PointMaze_", "AntMaze_", "FrankaKitchen"), (),
     "Gymnasium-Robotics", "gymnasium-robotics", "gymnasium_robotics"),
)


def _package_registering(name: str) -> str | None:
    """Where an unregistered id's envs come from, when it is one of _ENV_PACKAGES_BY_ID's."""
    for prefixes, suffixes, what, pip_name, module in _ENV_PACKAGES_BY_ID:
        if name.startswith(prefixes) or (suffixes and name.endswith(suffixes)):
            how = (f"import it with --env-package {module}" if importlib.util.find_spec(module) is not None
                   else f"pip install {pip_name}, then --env-package {module}")
            return f"{what} envs are registered by {pip_name}: {how} (or name the env {module}:{name})"
    return None


# Wrappers a hyperparameter file may name (`env_wrappers: [clip_action]`): a closed set, so a
# file can never make us import code. Each takes the env alone.
WRAPPERS: dict[str, Callable[[gym.Env], gym.Env]] = {
    "flatten_observation": gym.wrappers.FlattenObservation,
    "clip_action": gym.wrappers.ClipAction,
    "time_aware_observation": gym.wrappers.TimeAwareObservation,
}


class ImageWrapping(Protocol):
    """An image pipeline (zoo.vision.ImagePipeline) as the env builder uses it."""

    pixels: bool

    def wrap(self, env: gym.Env) -> gym.Env: ...


def check_wrappers(names: Iterable[str], source: str) -> tuple[str, ...]:
    names = tuple(names)
    for name in names:
        if name not in WRAPPERS:
            raise ZooError(f"{source}: unknown env wrapper '{name}'.{did_you_mean(str(name), WRAPPERS)} "
                           f"Available: {', '.join(WRAPPERS)}.")
    return names


# gym.make's own keywords, taken before the rest reach the env's constructor
_MAKE_KEYWORDS = ("max_episode_steps", "disable_env_checker", "render_mode")


def check_env_arguments(env_id: str, env_kwargs: dict[str, Any], source: str) -> None:
    """Refuse, naming `source`, an env argument that the env's constructor does not take, or
    whose value is of another kind than the constructor's default (text where it takes a number
    or a bool, a bool where it takes a number): gym.make takes either kind silently, and
    the env then fails in the middle of its first step with its own traceback (`--env-kwargs
    g:abc` for Pendulum), or runs on with a truthy string. Envs whose constructor cannot be
    read here (not registered yet, **kwargs) are left to gym.make."""
    import inspect
    import math

    for key, value in env_kwargs.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise ZooError(f"{source}: env_kwargs '{brief_text(str(key))}' must be a finite number, got "
                           f"{brief(value)} (the env would run on it silently).")
    name = env_id.rpartition(":")[2]
    creator = _env_creator(env_id)
    try:
        parameters = inspect.signature(creator).parameters if creator is not None else None
    except (TypeError, ValueError):
        return
    if parameters is None or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    modes = getattr(creator, "metadata", {}).get("render_modes")
    for key, value in env_kwargs.items():
        if key == "render_mode" and value is not None and not _renders(value, modes):
            raise ZooError(f"{source}: {name}'s render_mode must be one of its render modes "
                           f"({', '.join(map(str, modes or [])) or 'none'}), or null, got {brief(value)}.")
        if key in _MAKE_KEYWORDS and key not in parameters:
            continue
        if key not in parameters:
            names = [p for p in parameters if p != "self"]
            raise ZooError(f"{source}: {name} takes no argument '{brief_text(str(key))}'."
                           f"{did_you_mean(str(key), names)} Its arguments: {', '.join(names) or 'none'} "
                           f"(and gym.make's {', '.join(k for k in _MAKE_KEYWORDS if k not in names)}).")
        default = parameters[key].default
        if value is None or default is None or default is inspect.Parameter.empty:
            continue
        takes = _ARGUMENT_KINDS.get(bool if isinstance(default, bool) else
                                    float if isinstance(default, (int, float)) else type(None))
        if takes is not None and not takes[1](value):
            raise ZooError(f"{source}: {name}'s argument '{key}' takes {takes[0]} (its default is "
                           f"{brief(default)}), got {brief(value)}.")


def refuse_endless_episodes(env_id: str, layers: Iterable[tuple[str, dict[str, Any] | None]], plays: str,
                            instead: str) -> None:
    """Refuse `max_episode_steps: -1` where whole episodes are played (evaluations, `zoo
    enjoy`): Gymnasium reads -1 as "no TimeLimit", so on Pendulum or a solved CartPole an
    episode never ends and the command never returns (it played on until Ctrl-C). `layers`:
    (source, env kwargs) in the order they apply over each other; the error names the last that
    sets max_episode_steps, when it sets -1. `instead`: what to give, "{example}" standing for a
    limit to suggest. Training alone counts env steps, and keeps it."""
    source = None
    for name, kwargs in layers:
        if kwargs and "max_episode_steps" in kwargs:
            source = name if kwargs["max_episode_steps"] == -1 else None
    if source is None:
        return
    try:
        limit = gym.spec(env_id.rpartition(":")[2]).max_episode_steps
    except gym.error.Error:
        limit = None
    its_limit = f"{env_id}'s time limit ({limit} steps)" if limit else "the time limit"
    example = f"max_episode_steps:{max(1000, 5 * (limit or 0))}"
    raise ZooError(f"{source}: max_episode_steps -1 takes away {its_limit}, and {plays} whole episodes: one that "
                   f"never ends (a policy that never fails) would play forever. Give a limit instead "
                   f"{instead.format(example=example)}.")


def _renders(mode: Any, modes: list[str] | None) -> bool:
    """Whether gym.make can make an env whose render modes are `modes` render as `mode`: one of
    them, a '_list' of one (Gymnasium's RenderCollection), or 'human' from 'rgb_array'
    (HumanRendering)."""
    if not isinstance(mode, str):
        return False
    if not isinstance(modes, (list, tuple)):
        return True  # an env that does not list its modes: gym.make's to judge
    return (mode in modes or (mode.endswith("_list") and mode.removesuffix("_list") in modes)
            or (mode == "human" and "rgb_array" in modes))


def _env_creator(env_id: str) -> Callable[..., Any] | None:
    """The class or function gym.make calls for `env_id`, or None when it cannot be found here."""
    register_zoo_envs()
    try:
        entry_point = gym.spec(env_id.rpartition(":")[2]).entry_point
        return gym.envs.registration.load_env_creator(entry_point) if isinstance(entry_point, str) else entry_point
    except (gym.error.Error, ImportError, AttributeError, TypeError, ValueError):
        return None


def takes_argument(env_id: str, name: str) -> bool:
    """Whether `env_id`'s constructor has a parameter `name` (LunarLander's and CarRacing's
    `continuous`, for an error about their actions)."""
    import inspect

    creator = _env_creator(env_id)
    try:
        return creator is not None and name in inspect.signature(creator).parameters
    except (TypeError, ValueError):
        return False


# What an argument whose default is a bool or a number takes: a bool also as 0 or 1 (Python's
# truth), a number never as a bool (`g: true` is no gravity anyone meant). Text defaults are
# not judged: an argument whose default is "auto" or "easy" may well take a number too.
_ARGUMENT_KINDS: dict[type, tuple[str, Callable[[Any], bool]]] = {
    bool: ("a bool", lambda value: isinstance(value, bool) or value in (0, 1)),
    float: ("a number", lambda value: isinstance(value, (int, float)) and not isinstance(value, bool)),
}


def shape_misfit(space: gym.Space, observation: Any) -> str | None:
    """'an observation of shape S, but its observation_space is B' for a Box env's observation
    of another shape than its space (what zoo's buffers and vector envs cannot hold), else None."""
    if isinstance(space, gym.spaces.Box) and np.shape(observation) != space.shape:
        return f"an observation of shape {np.shape(observation)}, but its observation_space is {space}"
    return None


NON_FINITE_OBSERVATION = ("The env returned an observation holding NaN or inf, which the policy cannot act on: "
                          "check the env (and its arguments).")


def array_holds_non_finite(array: np.ndarray) -> bool:
    """Whether an array holds NaN or inf: x.x is finite unless it does (or the sum overflows,
    where the exact check decides), ~0.8 us for an observation against ~2 us for
    np.isfinite(x).all(), paid at every action an agent takes (zoo.agent). Integer arrays
    (images) cannot."""
    if array.dtype.kind != "f":
        return array.dtype.kind == "c" and not bool(np.isfinite(array).all())
    flat = array if array.ndim == 1 else array.reshape(-1)
    return not math.isfinite(flat.dot(flat)) and not bool(np.isfinite(flat).all())


def holds_non_finite(observation: Any) -> bool:
    """Whether an observation (an array, a dict or tuple of them) holds NaN or inf: only floating
    arrays can, so the common check costs one dtype test."""
    if isinstance(observation, np.ndarray):
        return array_holds_non_finite(observation)
    if isinstance(observation, dict):
        return any(holds_non_finite(value) for value in observation.values())
    if isinstance(observation, (tuple, list)):
        return any(holds_non_finite(value) for value in observation)
    if isinstance(observation, float):
        return not np.isfinite(observation)
    return False


@dataclass(frozen=True)
class EnvDescription:
    """Everything that makes the env an agent sees: built once by a job (train, play, benchmark)
    and handed to the loops, which never rebuild it from an agent's attributes.

    Order: gym.make(env_id, **env_kwargs), the named wrappers, Dict/Tuple observations
    flattened to a vector (MLP agents), then the image pipeline (vision agents)."""

    env_id: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    wrappers: tuple[str, ...] = ()
    flatten_observations: bool = False
    image_pipeline: ImageWrapping | None = None

    def make(self, render_mode: str | None = None) -> gym.Env:
        return make_env(self.env_id, self.env_kwargs, render_mode, wrappers=self.wrappers,
                        flatten_observations=self.flatten_observations, image_pipeline=self.image_pipeline)

    def make_for_evaluation(self, n_envs: int) -> list[gym.Env] | gym.vector.VectorEnv:
        """Envs to play `n_envs` evaluation episodes at once (zoo.evaluation.evaluate_in_lockstep).

        The env's own numpy vector version (Gymnasium's `vector_entry_point`, e.g. CartPole's)
        when it is the plain env with the same spaces: it steps all episodes in one call (20
        CartPole episodes of a solved policy: 0.08 s against 0.27 s one at a time, 0.15 s on
        copies). Otherwise `n_envs` copies; one env for an image pipeline, whose copies would
        each render and hold frames."""
        single = self.make()
        if self.image_pipeline is not None or n_envs == 1:
            return [single]
        vector = self._plain_vector_env(n_envs, flattened=isinstance(single, gym.wrappers.FlattenObservation))
        if vector is not None and (vector.single_observation_space == single.observation_space
                                   and vector.single_action_space == single.action_space):
            single.close()
            return vector
        if vector is not None:
            vector.close()
        return [single, *(self.make() for _ in range(n_envs - 1))]

    def _plain_vector_env(self, n_envs: int, *, flattened: bool) -> gym.vector.VectorEnv | None:
        # flatten_observations only matters when it wrapped the env (Dict or Tuple observations):
        # every DQN, DDPG, SAC... description asks for it, and CartPole's Box passes through.
        if self.env_kwargs or self.wrappers or flattened:
            return None
        try:
            spec = gym.spec(self.env_id)  # 'package:EnvId' has no spec under that name: copies do
            if spec.vector_entry_point is None or spec.kwargs:
                return None
            vector = gym.make_vec(self.env_id, num_envs=n_envs, vectorization_mode="vector_entry_point")
        except (ImportError, TypeError, ValueError, gym.error.Error):
            return None  # e.g. a JAX version without JAX installed: copies do
        # evaluate_in_lockstep skips the step after an episode's end as the reset: next-step autoreset
        next_step = gym.vector.AutoresetMode.NEXT_STEP
        if vector.metadata.get("autoreset_mode", next_step) != next_step:
            vector.close()
            return None
        return vector

    def make_vector(self, n_envs: int, vectorization: str = "sync") -> gym.vector.VectorEnv:
        if self.image_pipeline is not None:
            raise ZooError("Vector envs of image pipelines are not supported; use n_envs: 1.")
        return make_vector_env(self.env_id, n_envs, self.env_kwargs, vectorization, wrappers=self.wrappers,
                               flatten_observations=self.flatten_observations)


# What an MLP agent sees flattened to a vector (Gymnasium's FlattenObservation): a Dict's or
# Tuple's parts side by side, a Discrete state one-hot (SB3's preprocess_obs does the same for
# FrozenLake, Taxi, CliffWalking), a MultiDiscrete one one-hot per dimension.
FLATTENED = (gym.spaces.Dict, gym.spaces.Tuple, gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary)


def _wrap(env: gym.Env, wrappers: tuple[str, ...], flatten_observations: bool) -> gym.Env:
    for name in wrappers:
        env = WRAPPERS[name](env)
    if flatten_observations and isinstance(env.observation_space, FLATTENED):
        env = gym.wrappers.FlattenObservation(env)
    return env


# What an env's constructor raises on arguments it cannot take: a KeyError for FrozenLake's
# map_name:9x9, an AssertionError where an env checks its arguments with assert
_CONSTRUCTOR_ERRORS = (TypeError, ValueError, OverflowError, LookupError, AssertionError, gym.error.Error)


def _constructor_error(error: Exception) -> str:
    text = brief_text(str(error), 200)
    return text if isinstance(error, (gym.error.Error, TypeError, ValueError)) else f"{type(error).__name__} {text}"


def make_env(env_id: str, env_kwargs: dict[str, Any] | None = None, render_mode: str | None = None, *,
             wrappers: tuple[str, ...] = (), flatten_observations: bool = False,
             image_pipeline: ImageWrapping | None = None) -> gym.Env:
    """The env as an agent sees it (see EnvDescription). Pixel observations come from the
    rgb_array render; a human window then shows those frames."""
    check_env_id(env_id)
    # SDL (pygame, which Gymnasium's classic-control and Box2D envs render through, rgb_array
    # too) takes over SIGTERM and SIGINT when it starts and turns them into quit events that no
    # Gymnasium renderer reads: `kill` left `zoo enjoy --render` playing on, and `zoo enjoy
    # --video` recording on (measured; the video's frames come from SDL as well). Without its
    # handlers, Python's (zoo.interrupt's while training) stay. Set before any env can start SDL.
    os.environ.setdefault("SDL_NO_SIGNAL_HANDLERS", "1")
    kwargs = dict(env_kwargs or {})
    if image_pipeline is not None and image_pipeline.pixels:
        kwargs["render_mode"] = "rgb_array"
    elif render_mode is not None:
        kwargs["render_mode"] = render_mode
    try:
        env = gym.make(env_id, **kwargs)
    except gym.error.DependencyNotInstalled as error:
        raise ZooError(f"'{env_id}' needs an optional dependency: {error}") from None
    except ImportError as error:  # Gymnasium's JAX envs (phys2d/..., tabular/...) import jax as they are made
        raise ZooError(f"'{env_id}' needs {error.name or 'a package'}, which is not installed here "
                       f"({brief_text(str(error), 120)}).") from None
    except _CONSTRUCTOR_ERRORS as error:
        raise ZooError(f"Cannot create '{env_id}' with {brief(kwargs) if kwargs else 'no arguments'}: "
                       f"{_constructor_error(error)}") from None
    env = _wrap(env, wrappers, flatten_observations)
    if image_pipeline is None:
        return env
    env = image_pipeline.wrap(env)
    return gym.wrappers.HumanRendering(env) if render_mode == "human" and image_pipeline.pixels else env


def render_modes(env_id: str) -> list[str]:
    check_env_id(env_id)
    spec = gym.spec(env_id.rpartition(":")[2])  # 'package:EnvId' is gym.make's form, not gym.spec's
    entry_point = spec.entry_point
    if entry_point is None:
        return []
    env_class = entry_point if callable(entry_point) else gym.envs.registration.load_env_creator(entry_point)
    return list(getattr(env_class, "metadata", {}).get("render_modes", []))


def make_vector_env(env_id: str, n_envs: int, env_kwargs: dict[str, Any] | None = None,
                    vectorization: str = "sync", *, wrappers: tuple[str, ...] = (),
                    flatten_observations: bool = False) -> gym.vector.VectorEnv:
    """`n_envs` copies stepped together. Autoreset happens in the same step (the observation
    returned for a finished env is already the next episode's first one; the last one of the
    finished episode is in info['final_obs']), so every transition a step returns is real."""
    check_env_id(env_id)
    make_one = functools.partial(_make_in_worker, tuple(_ENV_PACKAGES), env_id, dict(env_kwargs or {}),
                                 tuple(wrappers), flatten_observations)
    try:
        if vectorization == "async":
            # spawn, not fork: a forked copy of a process running torch threads can hang; the
            # workers start clean, import the env packages, then make their env.
            return gym.vector.AsyncVectorEnv([make_one] * n_envs, context="spawn",
                                             autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
        return gym.vector.SyncVectorEnv([make_one] * n_envs, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    except gym.error.DependencyNotInstalled as error:
        raise ZooError(f"'{env_id}' needs an optional dependency: {error}") from None
    except _CONSTRUCTOR_ERRORS as error:
        raise ZooError(f"Cannot create {n_envs} x '{env_id}' ({vectorization}): "
                       f"{_constructor_error(error)}") from None


def _make_in_worker(packages: tuple[str, ...], env_id: str, env_kwargs: dict[str, Any], wrappers: tuple[str, ...],
                    flatten_observations: bool) -> gym.Env:
    """One env of a vector env (in an async worker too): the same registrations as the parent,
    then the env and its wrappers. In an async worker, Ctrl-C (sent to the whole process group
    by a terminal) and SIGTERM are ignored: the parent stops between steps, saves, and closes
    its workers itself."""
    import multiprocessing
    import signal

    if multiprocessing.parent_process() is not None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for package in packages:
        importlib.import_module(package)
    register_zoo_envs()
    return _wrap(gym.make(env_id, **env_kwargs), wrappers, flatten_observations)
