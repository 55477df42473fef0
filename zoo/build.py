"""The one place agents and their envs are built: for training, resuming, loading a checkpoint,
benchmarking and playing alike.

    description = describe_env(spec, env_id, env_kwargs, env_wrappers, config)
    env = description.make()
    agent = build_agent(spec, env.observation_space, env.action_space, config, description, seed=0)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zoo.agent import BaseAgent
from zoo.checkpoint import check_compatible, checkpoint_file, read_checkpoint, space_from_dict
from zoo.config import config_with_flags
from zoo.environments import EnvDescription, check_wrappers
from zoo.errors import ZooError
from zoo.registry import AlgoSpec, check_spaces, get_algo


def describe_env(spec: AlgoSpec, env_id: str, env_kwargs: dict[str, Any] | None,
                 env_wrappers: list[str] | tuple[str, ...], config: Any) -> EnvDescription:
    """The env `spec`'s agents see: a vision config's image pipeline, Dict observations
    flattened for the MLP agents."""
    pipeline = getattr(config, "image_pipeline", None)  # only the vision configs have one
    return EnvDescription(env_id, dict(env_kwargs or {}), tuple(env_wrappers),
                          flatten_observations=spec.flattens_observations, image_pipeline=pipeline)


def build_agent(spec: AlgoSpec, observation_space: Any, action_space: Any, config: Any, env: EnvDescription, *,
                seed: int | None, device: str = "cpu") -> BaseAgent:
    """A fresh agent of `spec` for spaces it supports (else one clear error naming them)."""
    check_spaces(spec, observation_space, action_space, env.env_id)
    agent: BaseAgent = spec.load_agent_class()(
        observation_space, action_space, config, algo=spec.name, env_id=env.env_id, env_kwargs=env.env_kwargs,
        env_wrappers=env.wrappers, seed=seed, device=device)
    return agent


def agent_from_checkpoint(metadata: dict[str, Any], arrays: dict[str, Any], path: str | Path, *,
                          config: Any = None, seed: int | None = None, device: str = "cpu") -> BaseAgent:
    """Rebuild the agent a checkpoint holds, from its metadata alone; `config` replaces the
    saved one (a resumed run's), `seed` the saved seed."""
    spec = get_algo(str(metadata.get("algo")))
    try:
        observation_space = space_from_dict(metadata["observation_space"])
        action_space = space_from_dict(metadata["action_space"])
    except (KeyError, ValueError, TypeError) as error:
        raise ZooError(f"{path} has unreadable spaces ({error}); it is corrupt.") from None
    if config is None:
        saved = metadata.get("config")
        if not isinstance(saved, dict):
            raise ZooError(f"{path} holds no readable config; it is corrupt or not a zoo checkpoint.")
        config = config_with_flags(spec, saved, source=f"{path} (config)")
    env_kwargs = metadata.get("env_kwargs") or {}
    if not isinstance(env_kwargs, dict):
        raise ZooError(f"{path} has unreadable env_kwargs; it is corrupt.")
    wrappers = check_wrappers(metadata.get("env_wrappers") or [], f"{path} (env_wrappers)")
    env = describe_env(spec, str(metadata.get("env_id")), env_kwargs, wrappers, config)
    agent = build_agent(spec, observation_space, action_space, config, env,
                        seed=metadata.get("seed") if seed is None else seed, device=device)
    agent.restore(metadata, arrays, path)
    return agent


def load_agent(path: str | Path, *, algo: str | None = None, env_id: str | None = None,
               device: str = "cpu") -> BaseAgent:
    """Rebuild an agent from a checkpoint alone (its config and spaces are in the metadata), its
    networks on `device` (zoo.devices; the checkpoint itself holds no device)."""
    path = checkpoint_file(path)
    metadata, arrays = read_checkpoint(path)
    check_compatible(metadata, path, algo=algo, env_id=env_id)
    return agent_from_checkpoint(metadata, arrays, path, device=device)


def env_of(agent: BaseAgent) -> EnvDescription:
    """The env description an agent was trained on (what evaluation and enjoy must rebuild)."""
    return describe_env(get_algo(agent.algo), str(agent.env_id), agent.env_kwargs, agent.env_wrappers, agent.config)
