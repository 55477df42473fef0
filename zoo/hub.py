"""Sharing agents on the Hugging Face Hub: package, push, download, verify.

A packaged agent is a folder:
  model.zip      the checkpoint (no pickle)
  config.yml     algo, env id and kwargs, seed and the resolved hyperparameters
  results.json   its evaluation (deterministic episodes unless asked otherwise), the env it
                 ran on, and the command to repeat it
  replay.mp4     one episode (or the env steps asked for, RL Zoo's video length), when the env
                 renders rgb_array and the `video` extra is installed
  README.md      the model card: Hub metadata (library, tags, model-index with mean_reward
                 as "mean +/- std"), then how to use it
`zoo upload --out DIR` writes exactly that folder; without it the folder is pushed with
huggingface_hub (`hub` extra), the token coming from HF_TOKEN or a saved `hf auth login`.
A download goes through the same check as any local folder (`open_folder`): the checkpoint
must load and match the algo and env asked for.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from zoo.build import load_agent
from zoo.checkpoint import CHECKPOINT_NAME
from zoo.errors import ZooError, brief_text
from zoo.evaluation import EvaluationResult
from zoo.files import flag_folder

CONFIG_FILE, RESULTS_FILE, CARD_FILE, VIDEO_FILE = "config.yml", "results.json", "README.md", "replay.mp4"
LIBRARY_NAME = "zoo"


# A Hub name: letters, digits, '-', '_', '.', not starting or ending with '-' or '.', no '--'
# or '..' (the Hub's own rule). Checked here, not left to huggingface_hub: the id becomes a
# folder (runs/hub/ORG/NAME) that a download replaces, so '../..' must never reach it.
_HUB_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?")


def repo_id_of(repo_id: str | None, organization: str | None, repo_name: str | None, algo: str,
               env_id: str) -> str:
    """The Hub repo an upload goes to: `--repo-id ORG/NAME`, or RL Zoo's push_to_hub names,
    `-orga ORG` and `-name NAME` (by default ALGO-ENV, as RL Zoo names its models)."""
    if repo_id is not None and (organization is not None or repo_name is not None):
        raise ZooError("Name the Hub repo once: --repo-id ORG/NAME, or RL Zoo's -orga ORG (with -name NAME); "
                       "not both.")
    if repo_id is None:
        if organization is None:
            raise ZooError("Name the Hub repo: --repo-id ORG/NAME, or RL Zoo's -orga ORG (-name NAME, default "
                           f"{algo}-{env_id.replace('/', '-')}).")
        repo_id = f"{organization}/{repo_name or algo + '-' + env_id.replace('/', '-')}"
    _check_repo_id(repo_id)
    return repo_id


def _check_repo_id(repo_id: str) -> None:
    parts = repo_id.split("/")
    if len(parts) != 2 or not all(_HUB_NAME.fullmatch(part) and ".." not in part and "--" not in part
                                  for part in parts):
        raise ZooError(f"The Hub repo id must look like ORG/NAME (or USER/NAME: letters, digits, '-', '_', '.'), "
                       f"got '{brief_text(repo_id)}'.")


def model_card(agent: Any, env_id: str, repo_id: str, evaluation: EvaluationResult, has_video: bool, *,
               deterministic: bool = True) -> str:
    mean_reward = f"{evaluation.mean:.2f} +/- {evaluation.std:.2f}"
    metadata = {
        "library_name": LIBRARY_NAME,
        "tags": [env_id, "reinforcement-learning", "deep-reinforcement-learning", LIBRARY_NAME, agent.algo],
        "model-index": [{
            "name": agent.algo,
            "results": [{
                "task": {"type": "reinforcement-learning", "name": "reinforcement-learning"},
                "dataset": {"name": env_id, "type": env_id},
                "metrics": [{"type": "mean_reward", "value": mean_reward, "name": "mean_reward",
                             "verified": False}],
            }],
        }],
    }
    front_matter = yaml.safe_dump(metadata, sort_keys=False)
    video = f"\n![A replay]({VIDEO_FILE})\n" if has_video else ""
    kind = "deterministic" if deterministic else "stochastic"
    return f"""---
{front_matter}---

# {agent.algo} on {env_id}

A **{agent.algo}** agent trained on **{env_id}** with [zoo]. Mean return over
{len(evaluation.returns)} {kind} episodes: **{mean_reward}**.
{video}
## Use it

```bash
zoo download {repo_id}
zoo enjoy {agent.algo} {env_id} --from-hub {repo_id} --render
zoo evaluate {agent.algo} {env_id} --from-hub {repo_id}
```

The hyperparameters are in `{CONFIG_FILE}`, the evaluation in `{RESULTS_FILE}`, the
checkpoint in `{CHECKPOINT_NAME}` (JSON metadata and numpy arrays: loading runs no code).
"""


@dataclasses.dataclass(frozen=True)
class Showing:
    """How a packaged agent is evaluated and filmed (RL Zoo's push_to_hub flags): `episodes`
    evaluation episodes, deterministic unless not, from `seed` (None: the agent's training
    seed, else 0); the video one episode, or `video_steps` env steps over as many episodes as
    fit; `description` the env both play (None: the agent's own; --env-kwargs change it); with
    `n_envs` > 1 the evaluation's episodes are dealt to that many envs played in lockstep, env i
    seeded seed + i (deterministic only), as `zoo evaluate --n-envs`. `between_steps` is called
    between two env steps (and after the evaluation): zoo.interrupt.sigterm_raises's check, so
    that a SIGTERM ends the packaging as Ctrl-C does, its folder removed."""

    episodes: int = 10
    video: bool = True
    deterministic: bool = True
    seed: int | None = None
    video_steps: int | None = None
    description: Any = None  # zoo.environments.EnvDescription
    n_envs: int = 1
    between_steps: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        if self.n_envs > 1 and not self.deterministic:  # lockstep play is greedy (evaluate_in_lockstep)
            raise ZooError(f"An evaluation on {self.n_envs} envs in lockstep is deterministic; ask for one env or "
                           "deterministic episodes.")


def package(agent: Any, env_id: str, repo_id: str, out_dir: str | Path, showing: Showing = Showing()) -> Path:
    """Write the folder described above for `agent`; returns it."""

    _check_repo_id(repo_id)
    out_dir = Path(out_dir)
    if out_dir.is_dir() and any(out_dir.iterdir()):
        raise ZooError(f"--out {out_dir} is not empty; choose a new folder for the packaged agent.")
    created = not out_dir.exists()
    flag_folder(out_dir, "--out", "a new one, for the packaged agent")
    try:
        return _fill_package(agent, env_id, repo_id, out_dir, showing)
    except BaseException:
        if created:  # a refused or interrupted packaging leaves nothing behind
            shutil.rmtree(out_dir, ignore_errors=True)
        raise


def _fill_package(agent: Any, env_id: str, repo_id: str, out_dir: Path, showing: Showing) -> Path:
    from zoo.build import env_of
    from zoo.environments import render_modes
    from zoo.evaluation import evaluate_agent, evaluate_in_lockstep

    seed = showing.seed if showing.seed is not None else agent.seed if agent.seed is not None else 0
    description = showing.description or dataclasses.replace(env_of(agent), env_id=env_id)
    envs = [description.make() for _ in range(min(showing.n_envs, showing.episodes))]
    try:
        if len(envs) > 1:
            evaluation = evaluate_in_lockstep(agent, envs, showing.episodes, seed=seed)
        else:
            evaluation = evaluate_agent(agent, envs[0], showing.episodes, deterministic=showing.deterministic,
                                        seed=seed, on_env_step=showing.between_steps)
    finally:
        for env in envs:
            env.close()
    if showing.between_steps is not None:  # the lockstep evaluation calls nothing between its steps
        showing.between_steps()
    agent.save(out_dir / CHECKPOINT_NAME)
    (out_dir / CONFIG_FILE).write_text(yaml.safe_dump({
        "algo": agent.algo, "env_id": env_id, "env_kwargs": agent.env_kwargs, "env_wrappers": agent.env_wrappers,
        "seed": agent.seed,
        "hyperparams": dataclasses.asdict(agent.config),
    }, sort_keys=False))
    (out_dir / RESULTS_FILE).write_text(json.dumps({
        "algo": agent.algo, "env_id": env_id, "deterministic": showing.deterministic, "seed": seed,
        "env_kwargs": description.env_kwargs,
        "command": _evaluate_command(agent, env_id, showing, seed, description.env_kwargs),
        **evaluation.to_dict(),
    }, indent=2))
    has_video = False
    if showing.video and "rgb_array" in render_modes(env_id) and _can_write_mp4():
        from zoo.video import record_agent

        env = description.make(render_mode="rgb_array")
        try:
            record_agent(agent, env, out_dir / VIDEO_FILE, 1 if showing.video_steps is None else sys.maxsize,
                         deterministic=showing.deterministic, seed=seed, max_steps=showing.video_steps,
                         on_env_step=showing.between_steps)
            has_video = True
        finally:
            env.close()
    (out_dir / CARD_FILE).write_text(model_card(agent, env_id, repo_id, evaluation, has_video,
                                                deterministic=showing.deterministic))
    return out_dir


def _evaluate_command(agent: Any, env_id: str, showing: Showing, seed: int, env_kwargs: dict[str, Any]) -> str:
    """The `zoo evaluate` that plays the packaged evaluation again (the env's arguments beyond
    the agent's own as --env-kwargs, their values as JSON, which the flag reads as YAML)."""
    words = ["zoo", "evaluate", agent.algo, env_id, "--episodes", str(showing.episodes), "--seed", str(seed)]
    if not showing.deterministic:
        words.append("--stochastic")
    if showing.n_envs > 1:
        words += ["--n-envs", str(showing.n_envs)]
    for key, value in env_kwargs.items():
        if key not in agent.env_kwargs or agent.env_kwargs[key] != value:
            words += ["--env-kwargs", f"{key}:{json.dumps(value)}"]
    return shlex.join(words)


def _can_write_mp4() -> bool:
    try:
        import imageio  # noqa: F401
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


def _hub():
    try:
        import huggingface_hub
    except ImportError:
        raise ZooError("The Hub needs huggingface_hub: pip install 'zoo[hub]'.") from None
    return huggingface_hub


def push(folder: str | Path, repo_id: str, *, private: bool = False, commit_message: str | None = None) -> str:
    """Create the model repo if needed and upload the folder; returns the repo's URL."""
    _check_repo_id(repo_id)
    hub = _hub()
    api = hub.HfApi()  # token: HF_TOKEN, else the saved login; never printed
    try:
        api.create_repo(repo_id, repo_type="model", exist_ok=True, private=private)
        api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="model",
                          commit_message=commit_message or f"Upload {Path(folder).name} with zoo")
    except Exception as error:  # the Hub's errors (auth, network) are many types; say what happened
        hint = "" if _unreachable(error) else " Log in with `hf auth login` or set HF_TOKEN."
        raise ZooError(f"Could not push to {repo_id}: {_hub_error(error)}.{hint}") from None
    return f"https://huggingface.co/{repo_id}"


# How the Hub's client fails to reach it (httpx, requests, the socket), and its error when offline
# with nothing cached (a paragraph about snapshot folders that buries "no network")
_UNREACHABLE = {"ConnectError", "ConnectTimeout", "ConnectionError", "gaierror", "LocalEntryNotFoundError",
                "OfflineModeIsEnabled"}


def _unreachable(error: BaseException) -> bool:
    seen: BaseException | None = error
    for _ in range(10):  # the exception's chain of causes, bounded
        if seen is None:
            return False
        if type(seen).__name__ in _UNREACHABLE:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _hub_error(error: BaseException) -> str:
    """The Hub's error in one line, without the token: its type and first line, or that the Hub
    could not be reached."""
    if _unreachable(error):
        return "the Hub could not be reached (no network here, or the Hub is down)"
    lines = _without_token(str(error)).strip().splitlines()
    return f"{type(error).__name__}: {brief_text(lines[0] if lines else '', 200).rstrip('.')}"


def _without_token(message: str) -> str:
    import os

    token = os.environ.get("HF_TOKEN")
    return message.replace(token, "***") if token else message


def open_folder(folder: str | Path, *, algo: str | None = None, env_id: str | None = None) -> Any:
    """Load the agent of a packaged (or downloaded) folder, refusing another algo or env."""
    folder = Path(folder)
    if not (folder / CHECKPOINT_NAME).exists():
        raise ZooError(f"{folder} holds no {CHECKPOINT_NAME}: it is not a zoo agent.")
    return load_agent(folder / CHECKPOINT_NAME, algo=algo, env_id=env_id)


def download(repo_id: str, dest: str | Path, *, algo: str | None = None, env_id: str | None = None) -> Path:
    """Fetch a repo's files into `dest` (replacing an earlier download) and check them."""
    _check_repo_id(repo_id)
    hub = _hub()
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".download-", dir=dest.parent))
    try:
        try:
            hub.snapshot_download(repo_id=repo_id, repo_type="model", local_dir=str(staging))
        except Exception as error:
            raise ZooError(f"Could not download {repo_id}: {_hub_error(error)}.") from None
        open_folder(staging, algo=algo, env_id=env_id)
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return dest


def hub_dir(runs_dir: str | Path, repo_id: str) -> Path:
    """Where downloads go: runs/hub/<org>/<name>."""
    return Path(runs_dir) / "hub" / repo_id
