"""`zoo benchmark`: runner.py trains, evaluates and times seeds and renders the report, sb3.py
translates our configs for Stable-Baselines3, backbones.py sweeps CNN backbones."""

from zoo.benchmark.backbones import BackboneResult, parse_backbone_spec, run_backbone_benchmark, write_backbone_table
from zoo.benchmark.runner import EVAL_SEED_OFFSET, BenchmarkReport, SeedResult, run_benchmark, write_report

__all__ = ["EVAL_SEED_OFFSET", "BackboneResult", "BenchmarkReport", "SeedResult", "parse_backbone_spec",
           "run_backbone_benchmark", "run_benchmark", "write_backbone_table", "write_report"]
