"""Opening a trained agent to play it: find its checkpoint (a path, the latest run, a Hub
repo, or the agent shipped in trained/), load it, and build the env it was trained on, checked
against the agent's spaces. What `zoo evaluate`, `zoo enjoy` and `zoo upload` do first, and
what a Python user needs too:

    from zoo.play import open_agent
    opened = open_agent("dqn", "CartPole-v1")
    evaluate_agent(opened.agent, opened.env, 10)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym

from zoo.agent import BaseAgent
from zoo.build import env_of, load_agent
from zoo.checkpoint import check_compatible
from zoo.environments import EnvDescription, check_env_arguments, check_env_id, refuse_endless_episodes, render_modes
from zoo.errors import ZooError, brief
from zoo.registry import get_algo
from zoo.runs import CheckpointChoice, choice_flag, find_checkpoint


@dataclass
class OpenedAgent:
    checkpoint: Path
    agent: BaseAgent
    env: gym.Env  # made for the agent, with the render mode asked for; the caller closes it
    description: EnvDescription  # what made it (without the render mode): copies for --n-envs

    def copies(self, n_envs: int) -> list[gym.Env]:
        """The env and `n_envs` - 1 more like it (not rendered), to play episodes in lockstep."""
        return [self.env, *(self.description.make() for _ in range(n_envs - 1))]


def render_mode_for(env_id: str, agent: BaseAgent, video: bool = False) -> str:
    """How to show an env: text envs as ansi in the terminal, others in a window; an agent
    that learns from pixels shows the frames it sees. A video needs rgb_array."""
    if video:
        if "rgb_array" not in render_modes(env_id):
            raise ZooError(f"{env_id} cannot render rgb_array frames, so it cannot be recorded.")
        return "rgb_array"
    pipeline = env_of(agent).image_pipeline
    if pipeline is not None and pipeline.pixels:
        return "human"
    modes = render_modes(env_id)
    # Text envs (Gymnasium's toy_text, ours) read best in the terminal they run in.
    render_mode = "ansi" if "ansi" in modes else "human" if "human" in modes else None
    if render_mode is None:
        raise ZooError(f"{env_id} can render only {modes or 'nothing'}; try `zoo enjoy` without --render.")
    return render_mode


def open_agent(algo: str, env_id: str, path: str | Path | None = None, *, runs_dir: str | Path = "runs",
               shipped: bool = True, from_hub: str | None = None, render: bool = False, video: bool = False,
               device: str = "cpu", which: CheckpointChoice = None,
               env_kwargs: dict[str, Any] | None = None, plays: tuple[str, str] | None = None) -> OpenedAgent:
    """`path`: a run directory or checkpoint; else `from_hub` (ORG/NAME, downloaded into
    RUNS_DIR/hub); else the latest run under `runs_dir`; else (`shipped`) the shipped agent.
    `which` picks among a run's checkpoints: "best" (best_model.zip), "last" (its latest
    periodic one) or the periodic one of an env step (zoo.runs.find_checkpoint). `render` makes
    the env for showing (render_mode_for), `video` for recording. `env_kwargs` (RL Zoo's enjoy
    --env-kwargs) go to gym.make over the agent's own: the same agent on a changed env, whose
    spaces must still be the agent's. `plays`: the caller plays whole episodes, so an env without
    a time limit is refused: (who plays, what to give instead), as refuse_endless_episodes."""
    algo = get_algo(algo).name
    check_env_id(env_id)
    if from_hub is not None:
        from zoo.hub import download, hub_dir

        if path is not None:
            raise ZooError("Give either --path or --from-hub, not both.")
        if which is not None:
            raise ZooError(f"{choice_flag(which)} picks among a local run's checkpoints; a Hub repo holds one agent "
                           "(drop --from-hub or the flag).")
        path = download(from_hub, hub_dir(runs_dir, from_hub), algo=algo, env_id=env_id)
    checkpoint = find_checkpoint(algo, env_id, path, runs_dir, which, shipped=shipped)
    if env_kwargs:
        check_env_arguments(env_id, env_kwargs, "--env-kwargs")
    agent = load_agent(checkpoint, algo=algo, env_id=env_id, device=device)
    render_mode = render_mode_for(env_id, agent, video) if render or video else None
    # The env as the user named it ('package:EnvId' imports the package), with the agent's settings.
    trained_on = env_of(agent)
    description = dataclasses.replace(trained_on, env_id=env_id,
                                      env_kwargs={**trained_on.env_kwargs, **(env_kwargs or {})})
    if plays is not None:
        refuse_endless_episodes(env_id, [(f"{checkpoint}'s env_kwargs (its training env)", trained_on.env_kwargs),
                                         ("--env-kwargs", env_kwargs)], *plays)
    env = description.make(render_mode)
    try:
        check_compatible(agent.checkpoint_metadata(), checkpoint, observation_space=env.observation_space,
                         action_space=env.action_space)
    except ZooError as error:
        env.close()
        if env_kwargs:  # the agent is fine; the env it was asked to play is not its own
            raise ZooError(f"{str(error).rstrip('.')}: the env as --env-kwargs {brief(env_kwargs)} makes "
                           "it.") from None
        raise
    except BaseException:
        env.close()
        raise
    return OpenedAgent(checkpoint, agent, env, description)
