"""`zoo benchmark`: train several seeds, evaluate the final policies, and time it all, with
Stable-Baselines3 run on the same hyperparameters and budget when it is installed.

Ours and SB3's runs alternate seed by seed, so that a noisy machine slows both alike. Wall
time is the whole training call (building the agent included) for both; evaluation is
outside the timing: 20 deterministic episodes on a fresh env seeded 10_000 + seed.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import yaml

from zoo.config import resolve_hyperparams
from zoo.environments import make_env
from zoo.errors import ZooError, did_you_mean
from zoo.evaluation import evaluate_agent
from zoo.registry import get_algo

EVAL_SEED_OFFSET = 10_000


@dataclass
class SeedResult:
    library: str  # "zoo" or "sb3"
    seed: int
    mean_return: float
    std_return: float
    seconds: float
    steps: int
    threads: int
    episodes: int | None = None  # training episodes (zoo only)

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds


@dataclass
class BenchmarkReport:
    algo: str
    env_id: str
    n_timesteps: int
    eval_episodes: int
    hyperparams: dict[str, Any]
    results: list[SeedResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def of(self, library: str) -> list[SeedResult]:
        return [r for r in self.results if r.library == library]

    def summary(self, library: str) -> dict[str, float] | None:
        rows = self.of(library)
        if not rows:
            return None
        returns = np.array([r.mean_return for r in rows])
        seconds = np.array([r.seconds for r in rows])
        return {
            "seeds": len(rows),
            "mean_return": float(returns.mean()),
            "std_return": float(returns.std()),
            "min_return": float(returns.min()),
            "mean_seconds": float(seconds.mean()),
            "steps_per_second": float(np.mean([r.steps_per_second for r in rows])),
        }

    def time_ratio(self) -> float | None:
        """Our mean wall time over SB3's: below 1 means faster."""
        ours, theirs = self.summary("zoo"), self.summary("sb3")
        if not ours or not theirs:
            return None
        return ours["mean_seconds"] / theirs["mean_seconds"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "algo": self.algo, "env_id": self.env_id, "n_timesteps": self.n_timesteps,
            "eval_episodes": self.eval_episodes, "hyperparams": self.hyperparams,
            "results": [dataclasses.asdict(r) | {"steps_per_second": r.steps_per_second} for r in self.results],
            "summary": {lib: self.summary(lib) for lib in ("zoo", "sb3") if self.summary(lib)},
            "time_ratio_zoo_over_sb3": self.time_ratio(), "notes": self.notes,
        }

    def to_markdown(self) -> str:
        lines = [
            f"### {self.algo} on {self.env_id}, {self.n_timesteps} steps, "
            f"{len(self.of('zoo'))} seeds",
            "",
            "| library | final return per seed | mean ± std | wall time per seed | env steps/s | threads |",
            "|---|---|---|---|---|---|",
        ]
        for library in ("zoo", "sb3"):
            rows, summary = self.of(library), self.summary(library)
            if not rows:
                continue
            per_seed = ", ".join(f"{r.mean_return:.0f}" for r in rows)
            lines.append(
                f"| {library} | {per_seed} | {summary['mean_return']:.1f} ± {summary['std_return']:.1f} | "
                f"{summary['mean_seconds']:.1f} s | {summary['steps_per_second']:.0f} | {rows[0].threads} |"
            )
        if self.time_ratio() is not None:
            lines += ["", f"zoo wall time / SB3 wall time: **{self.time_ratio():.2f}**"]
        lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


# ---- SB3 equivalents ------------------------------------------------------------------

_SB3_ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "elu": "ELU", "leaky_relu": "LeakyReLU", "gelu": "GELU",
                    "silu": "SiLU"}


def _sb3_dqn(config: Any, action_space: Any) -> tuple[Callable, dict[str, Any], list[str]] | None:
    from stable_baselines3 import DQN
    from torch import nn

    notes = []
    if config.double or config.dueling:
        notes.append("SB3 has no Double or Dueling DQN: SB3's side is its plain DQN.")
    if config.loss != "huber":
        notes.append("SB3's DQN always uses the Huber loss.")
    if config.init != "default":
        notes.append("SB3 keeps PyTorch's default init.")
    kwargs = {
        "learning_rate": config.learning_rate, "buffer_size": config.buffer_size,
        "learning_starts": config.learning_starts, "batch_size": config.batch_size, "tau": config.tau,
        "gamma": config.gamma, "train_freq": config.train_freq, "gradient_steps": config.gradient_steps,
        "target_update_interval": config.target_update_interval,
        "exploration_fraction": config.exploration_fraction,
        "exploration_initial_eps": config.exploration_initial_eps,
        "exploration_final_eps": config.exploration_final_eps,
        "max_grad_norm": config.max_grad_norm if config.max_grad_norm > 0 else float("inf"),
        "policy_kwargs": {"net_arch": list(config.net_arch),
                          "activation_fn": getattr(nn, _SB3_ACTIVATIONS[config.activation])},
    }
    return DQN, kwargs, notes


def _sb3_a2c(config: Any, action_space: Any) -> tuple[Callable, dict[str, Any], list[str]] | None:
    from stable_baselines3 import A2C
    from torch import nn

    notes = ["SB3's A2C uses RMSprop (its default, as in RL Zoo); ours uses Adam."]
    kwargs = {
        "learning_rate": config.learning_rate, "n_steps": config.n_steps, "gamma": config.gamma,
        "gae_lambda": config.gae_lambda, "ent_coef": config.ent_coef, "vf_coef": config.vf_coef,
        "max_grad_norm": config.max_grad_norm if config.max_grad_norm > 0 else float("inf"),
        "normalize_advantage": config.normalize_advantage,
        "policy_kwargs": {"net_arch": {"pi": list(config.net_arch), "vf": list(config.net_arch)},
                          "activation_fn": getattr(nn, _SB3_ACTIVATIONS[config.activation]),
                          "ortho_init": config.init == "orthogonal", "log_std_init": config.log_std_init},
    }
    return A2C, kwargs, notes


def _off_policy_kwargs(config: Any) -> dict[str, Any]:
    from torch import nn

    return {
        "learning_rate": config.learning_rate, "buffer_size": config.buffer_size,
        "learning_starts": config.learning_starts, "batch_size": config.batch_size, "tau": config.tau,
        "gamma": config.gamma, "train_freq": config.train_freq, "gradient_steps": config.gradient_steps,
        "policy_kwargs": {"net_arch": list(config.net_arch),
                          "activation_fn": getattr(nn, _SB3_ACTIVATIONS[config.activation])},
    }


def _sb3_sac(config: Any, action_space: Any) -> tuple[Callable, dict[str, Any], list[str]] | None:
    from gymnasium.spaces import Discrete
    from stable_baselines3 import SAC

    if isinstance(action_space, Discrete):
        return None  # SB3's SAC has no discrete form

    kwargs = _off_policy_kwargs(config)
    kwargs["ent_coef"] = config.ent_coef if config.ent_coef is not None else f"auto_{config.initial_alpha}"
    kwargs["target_entropy"] = "auto" if config.target_entropy is None else config.target_entropy
    return SAC, kwargs, []


def _sb3_ddpg(config: Any, action_space: Any) -> tuple[Callable, dict[str, Any], list[str]] | None:
    from stable_baselines3 import DDPG
    from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise

    kwargs = _off_policy_kwargs(config)
    n = int(np.prod(action_space.shape))
    sigma = np.full(n, config.noise_std)
    if config.noise == "normal":
        kwargs["action_noise"] = NormalActionNoise(np.zeros(n), sigma)
    elif config.noise == "ornstein_uhlenbeck":
        kwargs["action_noise"] = OrnsteinUhlenbeckActionNoise(np.zeros(n), sigma, theta=config.noise_theta)
    return DDPG, kwargs, []


SB3_EQUIVALENTS: dict[str, Callable] = {"dqn": _sb3_dqn, "double_dqn": _sb3_dqn, "dueling_dqn": _sb3_dqn,
                                        "actor_critic": _sb3_a2c, "sac": _sb3_sac, "ddpg": _sb3_ddpg}


def sb3_available() -> bool:
    return importlib.util.find_spec("stable_baselines3") is not None


class _SB3Player:
    """Gives an SB3 model the zoo protocol's take_action, so both are evaluated by one function."""

    def __init__(self, model):
        self.model = model

    def take_action(self, observation, deterministic=False):
        action, _ = self.model.predict(observation, deterministic=deterministic)
        return action.item() if np.ndim(action) == 0 else action


# ---- running ---------------------------------------------------------------------------


def _sb3_env(env_id: str, env_kwargs: dict, n_envs: int, seed: int):
    if n_envs == 1:
        return make_env(env_id, env_kwargs)
    from stable_baselines3.common.env_util import make_vec_env

    return make_vec_env(env_id, n_envs=n_envs, seed=seed, env_kwargs=env_kwargs)


def _evaluate(agent: Any, env_id: str, env_kwargs: dict, episodes: int, seed: int,
              config: Any = None) -> tuple[float, float]:
    env = make_env(env_id, env_kwargs, config=config)
    try:
        result = evaluate_agent(agent, env, episodes, deterministic=True, seed=EVAL_SEED_OFFSET + seed)
    finally:
        env.close()
    return result.mean, result.std


def run_benchmark(
    algo: str,
    env_id: str,
    seeds: list[int],
    *,
    n_timesteps: int | None = None,
    overrides: dict[str, Any] | None = None,
    hyperparams: str | Path | None = None,
    eval_episodes: int = 20,
    compare_sb3: bool | None = None,
    sb3_threads: int | None = None,
    out_dir: str | Path = "runs",
    on_result: Callable[[SeedResult], None] | None = None,
    device: str = "auto",
) -> BenchmarkReport:
    """`compare_sb3=None` runs SB3 when it is installed; True insists on it. SB3 trains on the
    device our agent resolved `device` to, so that both sides run on the same hardware."""
    import torch

    from zoo.train import train

    spec = get_algo(algo)
    if not spec.has_setting("n_timesteps"):
        raise ZooError(f"{spec.name} has no training budget to benchmark.")
    overrides = dict(overrides or {})
    if n_timesteps is not None:
        overrides["n_timesteps"] = n_timesteps
    resolved = resolve_hyperparams(spec.name, spec.load_config_class(), env_id, overrides, hyperparams)
    config = resolved.config
    default_threads = torch.get_num_threads()
    report = BenchmarkReport(spec.name, env_id, config.n_timesteps, eval_episodes, dataclasses.asdict(config))

    sb3 = None
    if compare_sb3 is not False:
        if spec.name not in SB3_EQUIVALENTS:
            report.notes.append(f"SB3 has no counterpart for {spec.name} in this benchmark.")
        elif not sb3_available():
            if compare_sb3:
                raise ZooError("Stable-Baselines3 is not installed: pip install 'zoo[benchmark]'.")
            report.notes.append("Stable-Baselines3 is not installed (pip install 'zoo[benchmark]'): zoo only.")
        else:
            probe = make_env(env_id, resolved.env_kwargs, config=config)
            equivalent = SB3_EQUIVALENTS[spec.name](config, probe.action_space)
            probe.close()
            if equivalent is None:
                report.notes.append(f"SB3 has no counterpart for {spec.name} on {probe.action_space}.")
            else:
                sb3_class, sb3_kwargs, sb3_notes = equivalent
                sb3 = (sb3_class, sb3_kwargs)
                report.notes += sb3_notes

    def record(result: SeedResult) -> None:
        report.results.append(result)
        if on_result:
            on_result(result)

    for seed in seeds:
        started = time.perf_counter()
        trained = train(spec.name, env_id, seed=seed, overrides=overrides, hyperparams=hyperparams,
                        out_dir=Path(out_dir) / "benchmarks", device=device)
        trained_on = trained.agent.device_name
        if trained_on != "cpu" and seed == seeds[0]:
            report.notes.append(f"trained on {trained_on}")
        seconds = time.perf_counter() - started
        trained.env.close()
        mean, std = _evaluate(trained.agent, env_id, resolved.env_kwargs, eval_episodes, seed, config)
        record(SeedResult("zoo", seed, mean, std, seconds, trained.summary.get("steps", config.n_timesteps),
                          getattr(config, "n_threads", default_threads) or default_threads,
                          trained.summary.get("episodes")))
        if trained.interrupted:
            report.notes.append("Interrupted: the last zoo run stopped early.")
            break

        if sb3 is not None:
            sb3_class, sb3_kwargs = sb3
            torch.set_num_threads(sb3_threads or default_threads)
            started = time.perf_counter()
            model = sb3_class("MlpPolicy", _sb3_env(env_id, resolved.env_kwargs, getattr(config, "n_envs", 1), seed),
                              seed=seed, verbose=0, device=trained_on, **sb3_kwargs)
            model.learn(config.n_timesteps)
            seconds = time.perf_counter() - started
            mean, std = _evaluate(_SB3Player(model), env_id, resolved.env_kwargs, eval_episodes, seed)
            record(SeedResult("sb3", seed, mean, std, seconds, config.n_timesteps, torch.get_num_threads()))
    return report


# ---- backbone sweeps (vision agents) --------------------------------------------------


def parse_backbone_spec(spec: str) -> tuple[str, dict[str, Any] | None]:
    """'resnet' or 'resnet {width: 0.25, blocks: [1, 1, 1, 1]}': a name, then a YAML mapping of
    its options (YAML, because options such as VGG's conv_arch are lists). No mapping: None."""
    name, _, text = spec.strip().partition(" ")
    if not text.strip():
        return name, None
    try:
        options = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ZooError(f"--backbone '{spec}': the options are not valid YAML ({error}).") from None
    if not isinstance(options, dict):
        raise ZooError(f"--backbone '{spec}': write the options as a mapping, e.g. '{name} {{width: 0.5}}'.")
    return name, options


@dataclass
class BackboneResult:
    backbone: str
    options: dict[str, Any]
    parameters: int  # of the whole Q-network: backbone and head
    report: BenchmarkReport

    def row(self) -> dict[str, Any]:
        summary = self.report.summary("zoo")
        return {"backbone": self.backbone, "options": self.options, "parameters": self.parameters,
                "returns": [r.mean_return for r in self.report.of("zoo")], **summary}


def _q_network_parameters(algo: str, env_id: str, overrides: dict[str, Any], hyperparams: str | Path | None) -> int:
    """Builds the agent as training would (which also checks the backbone and its options)."""
    spec = get_algo(algo)
    resolved = resolve_hyperparams(spec.name, spec.load_config_class(), env_id, overrides, hyperparams)
    env = make_env(env_id, resolved.env_kwargs, config=resolved.config)
    try:
        agent = spec.load_agent_class()(env.observation_space, env.action_space, resolved.config, env_id=env_id,
                                        env_kwargs=resolved.env_kwargs, seed=0)
    finally:
        env.close()
    return sum(parameter.numel() for parameter in agent.q_network.parameters())


def run_backbone_benchmark(
    algo: str,
    env_id: str,
    backbones: list[tuple[str, dict[str, Any] | None]],
    seeds: list[int],
    *,
    n_timesteps: int | None = None,
    overrides: dict[str, Any] | None = None,
    hyperparams: str | Path | None = None,
    eval_episodes: int = 20,
    out_dir: str | Path = "runs",
    on_result: Callable[[str, SeedResult], None] | None = None,
    device: str = "auto",
) -> list[BackboneResult]:
    """One benchmark per backbone on the same entry and budget: the backbone × task table.
    A backbone given without options (None) runs with the entry's options when it is the
    entry's own backbone, else with its defaults."""
    from zoo.backbones import BACKBONES

    spec = get_algo(algo)
    if not spec.has_setting("backbone"):
        raise ZooError(f"{spec.name} has no CNN backbone to sweep; --backbone is for vision_dqn.")
    entry = resolve_hyperparams(spec.name, spec.load_config_class(), env_id, overrides or {}, hyperparams).config
    planned = []  # every backbone is checked (and sized) before the first one trains
    for name, options in backbones:
        if name not in BACKBONES:
            raise ZooError(f"--backbone: unknown backbone '{name}'.{did_you_mean(name, BACKBONES)} "
                           f"Available: {', '.join(BACKBONES)}.")
        if options is None:
            options = dict(entry.backbone_options) if name == entry.backbone else {}
        backbone_overrides = {**(overrides or {}), "backbone": name, "backbone_options": options}
        if n_timesteps is not None:
            backbone_overrides["n_timesteps"] = n_timesteps
        planned.append((name, options, backbone_overrides,
                        _q_network_parameters(spec.name, env_id, backbone_overrides, hyperparams)))
    results = []
    for name, options, backbone_overrides, parameters in planned:
        report = run_benchmark(spec.name, env_id, seeds, overrides=backbone_overrides, hyperparams=hyperparams,
                               eval_episodes=eval_episodes, compare_sb3=False, out_dir=out_dir, device=device,
                               on_result=None if on_result is None else functools.partial(on_result, name))
        results.append(BackboneResult(name, options, parameters, report))
        if any("Interrupted" in note for note in report.notes):
            break
    return results


def backbone_table_markdown(env_id: str, results: list[BackboneResult]) -> str:
    first = results[0].report
    lines = [f"### {first.algo} backbones on {env_id}, {first.n_timesteps} steps, {len(first.of('zoo'))} seeds", "",
             "| backbone | options | parameters | env steps/s | final return per seed | mean ± std |",
             "|---|---|---|---|---|---|"]
    for result in results:
        row = result.row()
        options = ", ".join(f"{k}: {v}" for k, v in result.options.items()) or "defaults"
        lines.append(f"| {result.backbone} | {options} | {result.parameters:,} | {row['steps_per_second']:.0f} | "
                     f"{', '.join(f'{r:.1f}' for r in row['returns'])} | "
                     f"{row['mean_return']:.1f} ± {row['std_return']:.1f} |")
    return "\n".join(lines) + "\n"


def write_backbone_table(env_id: str, results: list[BackboneResult], out_dir: str | Path) -> tuple[Path, Path]:
    from zoo.runs import env_dir_name

    folder = Path(out_dir) / "benchmarks"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{results[0].report.algo}_backbones_{env_dir_name(env_id)}_{time.strftime('%Y%m%d-%H%M%S')}"
    json_path, markdown_path = folder / f"{stem}.json", folder / f"{stem}.md"
    json_path.write_text(json.dumps({"env_id": env_id, "rows": [r.row() for r in results],
                                     "reports": [r.report.to_dict() for r in results]}, indent=2))
    markdown_path.write_text(backbone_table_markdown(env_id, results))
    return json_path, markdown_path


def write_report(report: BenchmarkReport, out_dir: str | Path) -> tuple[Path, Path]:
    from zoo.runs import env_dir_name

    folder = Path(out_dir) / "benchmarks"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{report.algo}_{env_dir_name(report.env_id)}_{time.strftime('%Y%m%d-%H%M%S')}"
    json_path, markdown_path = folder / f"{stem}.json", folder / f"{stem}.md"
    json_path.write_text(json.dumps(report.to_dict(), indent=2))
    markdown_path.write_text(report.to_markdown())
    return json_path, markdown_path
