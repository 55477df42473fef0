"""The one place agents and their envs are built: for training, resuming, loading a checkpoint,
benchmarking and playing alike.

    description = describe_env(spec, env_id, env_kwargs, env_wrappers, config)
    env = description.make()
    agent = build_agent(spec, env.observation_space, env.action_space, config, description, seed=0)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from zoo.agent import BaseAgent
from zoo.checkpoint import check_compatible, checkpoint_file, read_checkpoint, space_from_dict
from zoo.config import config_with_flags
from zoo.environments import EnvDescription
from zoo.errors import ZooError
from zoo.registry import AlgoSpec, check_spaces, get_algo


def describe_env(spec: AlgoSpec, env_id: str, env_kwargs: dict[str, Any] | None,
                 env_wrappers: list[str] | tuple[str, ...], config: Any) -> EnvDescription:
    """The env `spec`'s agents see: a vision config's image pipeline, Dict observations
    flattened for the MLP agents."""
    pipeline = getattr(config, "image_pipeline", None)  # only the vision configs have one
    return EnvDescription(env_id, dict(env_kwargs or {}), tuple(env_wrappers),
                          flatten_observations=spec.flattens_observations, image_pipeline=pipeline)


# Networks larger than this are refused before any memory is taken: 2**28 float32 parameters
# are 1 GiB, with Adam's moments and a target copy ~4 GiB; the largest shipped agent has 0.2M.
MAX_PARAMETERS = 2**28


def build_agent(spec: AlgoSpec, observation_space: Any, action_space: Any, config: Any, env: EnvDescription, *,
                seed: int | None, device: str = "cpu", checkpoint_values: int | None = None,
                source: str | None = None) -> BaseAgent:
    """A fresh agent of `spec` for spaces it supports (else one clear error naming them). Its
    networks are first built on torch's meta device, where they take no memory, and counted:
    more than MAX_PARAMETERS, or (rebuilding a checkpoint) more than the `checkpoint_values`
    its arrays hold, is refused naming `source`, before any allocation."""
    import torch

    check_spaces(spec, observation_space, action_space, env.env_id)
    agent_class: type[BaseAgent] = spec.load_agent_class()
    if agent_class.uses_torch:
        meta = torch.device("meta")
        with meta:  # built on "the CPU" and moved, as agents do, without a byte of memory
            needed = count_parameters(agent_class(observation_space, action_space, config, algo=spec.name,
                                                  env_id=env.env_id, seed=None, device=meta))
        if checkpoint_values is not None and needed > checkpoint_values:
            raise ZooError(f"{source}: it describes networks of {needed:,} parameters but its arrays hold "
                           f"{checkpoint_values:,} values; it is corrupt or forged.")
        if needed > MAX_PARAMETERS:
            raise ZooError(f"{source + ': ' if source else ''}these hyperparameters make networks of {needed:,} "
                           f"parameters, more than the {MAX_PARAMETERS:,} zoo builds; check net_arch and the "
                           "backbone's width.")
    try:
        agent: BaseAgent = agent_class(
            observation_space, action_space, config, algo=spec.name, env_id=env.env_id, env_kwargs=env.env_kwargs,
            env_wrappers=env.wrappers, seed=seed, device=device)
    except MemoryError:
        raise ZooError(f"{source + ': ' if source else ''}not enough memory for a {spec.name} agent of these "
                       "sizes.") from None
    return agent


def count_parameters(agent: Any) -> int:
    """Parameters and buffers of every network an agent holds (each counted once)."""
    from torch import nn

    seen: set[int] = set()
    total = 0
    for value in vars(agent).values():
        if isinstance(value, nn.Module):
            for tensor in [*value.parameters(), *value.buffers()]:
                if id(tensor) not in seen:
                    seen.add(id(tensor))
                    total += tensor.numel()
    return total


def agent_from_checkpoint(metadata: dict[str, Any], arrays: dict[str, Any], path: str | Path, *,
                          config: Any = None, seed: int | None = None, device: str = "cpu") -> BaseAgent:
    """Rebuild the agent a checkpoint holds, from its metadata alone (as `read_checkpoint`
    returns it: every field already validated, zoo.checkpoint.validate_metadata); `config`
    replaces the saved one (a resumed run's), `seed` the saved seed."""
    spec = get_algo(metadata["algo"])
    observation_space = space_from_dict(metadata["observation_space"])
    action_space = space_from_dict(metadata["action_space"])
    if config is None:
        config = config_with_flags(spec, metadata["config"], source=f"{path} (config)")
    env = describe_env(spec, metadata["env_id"], metadata["env_kwargs"], metadata["env_wrappers"], config)
    # What the metadata implies must fit in the arrays the file holds: every network weight
    # is stored (at least once), every table has an entry per state or arm.
    held = sum(int(array.size) for array in arrays.values())
    agent_class: type[BaseAgent] = spec.load_agent_class()
    if not agent_class.uses_torch:
        sizes = [int(space.n) for space in (observation_space, action_space) if hasattr(space, "n")
                 and isinstance(space.n, (int, np.integer))]
        if max(sizes, default=0) > held:
            raise ZooError(f"{path}: its spaces have {max(sizes):,} states or arms, its arrays hold {held:,} values; "
                           "it is corrupt or forged.")
    agent = build_agent(spec, observation_space, action_space, config, env,
                        seed=metadata.get("seed") if seed is None else seed, device=device, checkpoint_values=held,
                        source=f"{path} (metadata)")
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
