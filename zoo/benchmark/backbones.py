"""The backbone x task table: one benchmark per CNN backbone on the same entry and budget."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.agents.dqn import DQNAgent
from zoo.benchmark.runner import BenchmarkReport, SeedResult, report_paths, run_benchmark
from zoo.build import build_agent, describe_env
from zoo.config import resolve_hyperparams
from zoo.errors import ZooError, brief_text, did_you_mean
from zoo.files import load_yaml
from zoo.registry import get_algo
from zoo.runs import env_dir_name


def parse_backbone_spec(spec: str) -> tuple[str, dict[str, Any] | None]:
    """'resnet' or 'resnet {width: 0.25, blocks: [1, 1, 1, 1]}': a name, then a YAML mapping of
    its options (YAML, because options such as VGG's conv_arch are lists). No mapping: None."""
    name, _, text = spec.strip().partition(" ")
    if not text.strip():
        return name, None
    options = load_yaml(text, f"--backbone '{brief_text(spec)}'")
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
        summary = self.report.summary("zoo") or {}
        return {"backbone": self.backbone, "options": self.options, "parameters": self.parameters,
                "returns": [r.mean_return for r in self.report.of("zoo")], **summary}


def _q_network_parameters(algo: str, env_id: str, overrides: dict[str, Any], hyperparams: str | Path | None) -> int:
    """Builds the agent as training would (which also checks the backbone and its options)."""
    spec = get_algo(algo)
    resolved = resolve_hyperparams(spec, env_id, overrides, hyperparams)
    description = describe_env(spec, env_id, resolved.env_kwargs, resolved.env_wrappers, resolved.config)
    env = description.make()
    try:
        agent = build_agent(spec, env.observation_space, env.action_space, resolved.config, description, seed=0)
    finally:
        env.close()
    if not isinstance(agent, DQNAgent):
        raise ZooError(f"{spec.name} has no Q-network to size; --backbone is for vision_dqn.")
    return agent.n_parameters


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
    entry = resolve_hyperparams(spec, env_id, overrides or {}, hyperparams).config
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
    json_path, markdown_path = report_paths(out_dir, f"{results[0].report.algo}_backbones_{env_dir_name(env_id)}")
    json_path.write_text(json.dumps({"env_id": env_id, "rows": [r.row() for r in results],
                                     "reports": [r.report.to_dict() for r in results]}, indent=2))
    markdown_path.write_text(backbone_table_markdown(env_id, results))
    return json_path, markdown_path


