"""RL Zoo's hyperparameters read as zoo's: `zoo train ppo CartPole-v1 --hyperparams
path/to/rl-baselines3-zoo/hyperparams/ppo.yml` takes its entry for CartPole-v1, and RL Zoo's
spellings work in zoo's files and `--hp` too (`--hp policy_kwargs="dict(net_arch=[64, 64])"`).

Every entry is translated key by key (`translate_entry`): RL Zoo's keys that zoo spells
otherwise become zoo's, and anything zoo has no equivalent for is refused naming the key, never
dropped silently. These are keys zoo does not know otherwise, so zoo's own entries read the
same. RL Zoo evaluates strings such as `policy_kwargs: "dict(net_arch=[64, 64],
activation_fn=nn.Tanh)"` as Python; here they are parsed (`ast`) as a literal call of `dict`
whose values are numbers, strings, booleans, lists, nested `dict(...)` calls and the names of
torch's activation classes: nothing is imported or run. Keys RL Zoo resolves by importing a
Python path (env_wrapper, callback, replay_buffer_class, ...) are refused: zoo never imports
code named by a file.
"""

from __future__ import annotations

import ast
from typing import Any

from zoo.errors import ZooError, brief, brief_text

POLICY_KEY = "policy"
# Where zoo's config defaults are not SB3's: an RL Zoo entry leaves out what it takes from SB3's
# defaults (and RL Zoo's n_envs of 1), so its file starts from these (by base algo). zoo's A2C
# defaults to Adam and TD(0) advantages (the seed notes), and to 8 envs.
SB3_DEFAULTS = {"actor_critic": {"use_rms_prop": True, "gae_lambda": 1.0, "n_envs": 1}}
POLICIES = ("MlpPolicy", "MultiInputPolicy", "CnnPolicy")  # SB3's own names: zoo builds from the spaces
# torch's activation classes as RL Zoo's policy_kwargs name them (nn.Tanh, th.nn.Tanh, ...)
ACTIVATION_CLASSES = {"ReLU": "relu", "Tanh": "tanh", "ELU": "elu", "LeakyReLU": "leaky_relu", "GELU": "gelu",
                      "SiLU": "silu"}
# RL Zoo's keys that name Python objects to import
IMPORTED = ("env_wrapper", "callback", "vec_env_wrapper", "replay_buffer_class", "replay_buffer_kwargs",
            "policy_class", "features_extractor_class")
MAX_TEXT = 2000  # a policy_kwargs string longer than this is not a hyperparameter


def is_rl_zoo_file(entries: dict[str, Any]) -> bool:
    """RL Zoo's own file: its entries name a `policy` (RL Zoo requires one; zoo's entries never do)."""
    return any(isinstance(entry, dict) and POLICY_KEY in entry for entry in entries.values())


def translate_entry(entry: dict[str, Any], source: str, fields: set[str]) -> dict[str, Any]:
    """One entry of an RL Zoo file as zoo's hyperparameters of a config with `fields`."""
    translated: dict[str, Any] = {}
    for key, value in entry.items():
        where = f"{source}: {brief_text(key)}"
        if key == POLICY_KEY:
            if value not in POLICIES:
                raise ZooError(f"{where}: {brief(value)} is not one of SB3's policies ({', '.join(POLICIES)}); "
                               "zoo builds its networks from the spaces and takes no policy class.")
            if value == "CnnPolicy":  # an MLP on the flattened frames instead would be another agent, silently
                raise ZooError(f"{where}: CnnPolicy asks for a CNN on frames, and zoo's MLP agents have none (they "
                               "would take the frames flattened); vision_dqn learns from frames through a CNN "
                               "backbone. Write MlpPolicy to train an MLP on them knowingly.")
        elif key == "policy_kwargs":
            translated.update(_policy_kwargs(_parsed(value, where), where, fields))
        elif key in ("normalize", "normalize_kwargs"):
            translated.update(_normalize(value, where, fields))
        elif key == "noise_type":
            noises = {"normal": "normal", "ornstein-uhlenbeck": "ornstein_uhlenbeck"}
            if value not in noises:
                raise ZooError(f"{where}: {brief(value)} is not one of RL Zoo's noise types (normal, "
                               "ornstein-uhlenbeck).")
            translated["noise"] = noises[value]
        elif key == "ent_coef" and isinstance(value, str) and value.startswith("auto"):
            # SAC's tuned temperature, 'auto' from 1.0 or 'auto_0.1' from 0.1: ent_coef None here
            translated["ent_coef"] = None
            if value != "auto":
                translated["initial_alpha"] = _number(value.removeprefix("auto_"), where)
        elif key == "target_entropy" and value == "auto":
            translated["target_entropy"] = None
        elif key == "n_envs" and "n_envs" not in fields:  # zoo's off-policy loop steps one env
            if value != 1:
                raise ZooError(f"{where}: {brief(value)} envs; zoo's off-policy loop steps one env (n_envs: 1).")
        elif key == "optimize_memory_usage":  # SB3's replay buffer without next observations: memory only
            continue
        elif key in IMPORTED:
            raise ZooError(f"{where}: RL Zoo imports Python objects from there; zoo never imports what a file "
                           "names. Drop it (zoo's own env wrappers are named by env_wrappers).")
        else:
            translated[key] = value
    return translated


def _parsed(value: Any, where: str) -> dict[str, Any]:
    """policy_kwargs as RL Zoo writes it: a mapping, or a string "dict(...)" read without running it."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ZooError(f"{where}: expected a mapping or a \"dict(...)\" string, got {brief(value)}.")
    try:
        parsed = _literal(ast.parse(value.strip(), mode="eval").body)
    except (SyntaxError, ValueError, RecursionError) as error:
        raise ZooError(f"{where}: {brief(value)} is not a dict(...) of literals and torch activation names "
                       f"({error}).") from None
    if not isinstance(parsed, dict):
        raise ZooError(f"{where}: expected dict(...), got {brief(value)}.")
    return parsed


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
        if any(keyword.arg is None for keyword in node.keywords):
            raise ValueError("no ** in dict(...)")
        return {keyword.arg: _literal(keyword.value) for keyword in node.keywords}
    if isinstance(node, ast.Dict):
        return {_literal(key): _literal(value) for key, value in zip(node.keys, node.values) if key is not None}
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(item) for item in node.elts]
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool, type(None))):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return -_literal(node.operand)
    if isinstance(node, ast.Attribute) and node.attr in ACTIVATION_CLASSES:  # nn.Tanh, th.nn.Tanh
        return _ActivationName(node.attr)
    raise ValueError(f"{ast.dump(node)[:60]} is not a literal")


class _ActivationName(str):
    """A torch activation class named in policy_kwargs (nn.Tanh), as the class name."""


def _policy_kwargs(kwargs: dict[str, Any], where: str, fields: set[str]) -> dict[str, Any]:
    translated: dict[str, Any] = {}
    for key, value in kwargs.items():
        at = f"{where}: {brief_text(key)}"
        if key == "net_arch":
            translated["net_arch"] = _net_arch(value, at)
        elif key == "activation_fn":
            if not isinstance(value, _ActivationName):
                raise ZooError(f"{at}: expected one of nn.{', nn.'.join(ACTIVATION_CLASSES)}, got {brief(value)}.")
            translated["activation"] = ACTIVATION_CLASSES[value]
        elif key == "ortho_init":
            translated["init"] = "orthogonal" if value else "default"
        elif key == "log_std_init":
            translated["log_std_init"] = value
        elif key == "n_critics" and value in (1, 2) and "twin_critics" in fields:  # DDPG, TD3
            translated["twin_critics"] = value == 2
        elif key == "n_critics" and value == 2 and "target_entropy" in fields:
            continue  # SAC's two critics, as zoo's
        elif (key, value) in (("full_std", True), ("use_expln", False), ("squash_output", False),
                              ("share_features_extractor", False), ("normalize_images", True)):
            continue  # SB3's defaults, which are zoo's
        else:
            raise ZooError(f"{at}: zoo has no equivalent of {brief_text(key)}={brief(value)}.")
    missing = [key for key in translated if key not in fields]
    if missing:
        raise ZooError(f"{where}: this algorithm has no {', '.join(missing)} (from policy_kwargs).")
    return translated


def _net_arch(value: Any, where: str) -> list[int]:
    """A list of widths; SB3's dict(pi=..., vf=...) or dict(pi=..., qf=...) (or the older
    [dict(...)]) when actor and critic are alike: zoo gives them one net_arch."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
        value = value[0]
    if isinstance(value, dict):
        arches = [value[name] for name in ("pi", "vf", "qf") if name in value]
        if not arches or set(value) - {"pi", "vf", "qf"} or any(arch != arches[0] for arch in arches):
            raise ZooError(f"{where}: {brief(value)}; zoo's actor and critic have one net_arch: "
                           "use the same widths for both.")
        value = arches[0]
    if not isinstance(value, list) or not all(isinstance(width, int) and not isinstance(width, bool)
                                              for width in value):
        raise ZooError(f"{where}: expected a list of widths, got {brief(value)}.")
    return value


def _normalize(value: Any, where: str, fields: set[str]) -> dict[str, Any]:
    """RL Zoo's VecNormalize: true (observations and rewards), false, or dict(norm_obs=...,
    norm_reward=...)."""
    if isinstance(value, bool):
        chosen = {"norm_obs": value, "norm_reward": value}
    else:
        chosen = {"norm_obs": True, "norm_reward": True, **_parsed(value, where)}
    unknown = set(chosen) - {"norm_obs", "norm_reward", "gamma"}
    if unknown:
        raise ZooError(f"{where}: zoo normalizes observations and rewards (norm_obs, norm_reward); no "
                       f"{', '.join(sorted(unknown))}.")
    translated: dict[str, Any] = {}
    for theirs, ours in (("norm_obs", "normalize_observations"), ("norm_reward", "normalize_rewards")):
        if chosen[theirs] and ours not in fields:
            raise ZooError(f"{where}: this algorithm has no {ours} in zoo ({theirs} asks for it).")
        if ours in fields:
            translated[ours] = bool(chosen[theirs])
    return translated


def _number(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ZooError(f"{where}: 'auto_{brief_text(text)}' needs a number after auto_.") from None
