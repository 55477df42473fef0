"""Custom Gymnasium environments of the zoo.

Importing this package registers the ids, the way Gymnasium 1.x plugins do it::

    import gymnasium as gym
    import envs

    gym.register_envs(envs)  # a no-op that tells linters the import is used
    env = gym.make("CliffWalking4x12-v0")

``gym.make("envs:CliffWalking4x12-v0")`` works with no prior import: Gymnasium imports the
module named before the colon, which runs the registrations below.
"""

from gymnasium.envs.registration import register, registry

from envs.bernoulli_bandit import BernoulliBanditEnv
from envs.cliff_walking import CliffWalking4x12Env
from envs.minatar import GAMES as MINATAR_GAMES
from envs.minatar import MAX_EPISODE_STEPS as MINATAR_MAX_EPISODE_STEPS
from envs.minatar import game_id

__all__ = ["BernoulliBanditEnv", "CliffWalking4x12Env", "ENV_IDS", "MINATAR_IDS"]

ENV_IDS = ("BernoulliBandit-v0", "CliffWalking4x12-v0")
# MinAtar's ids, through our adapter; making one needs the `minatar` extra.
MINATAR_IDS = tuple(game_id(game, version) for game in MINATAR_GAMES for version in (0, 1))

# Registering twice (a reload, or `import envs` after `envs:` made the module load) would make
# Gymnasium warn about overriding an id, so each id is registered once per process.
if "BernoulliBandit-v0" not in registry:
    # No TimeLimit wrapper: the env truncates itself after `max_steps`, so the horizon
    # follows the constructor argument (gym.make("BernoulliBandit-v0", max_steps=100)).
    register(id="BernoulliBandit-v0", entry_point="envs.bernoulli_bandit:BernoulliBanditEnv")

if "CliffWalking4x12-v0" not in registry:
    # A time limit, so that a policy walking in circles cannot hang a training run.
    register(
        id="CliffWalking4x12-v0",
        entry_point="envs.cliff_walking:CliffWalking4x12Env",
        max_episode_steps=200,
    )

for _game in MINATAR_GAMES:
    for _version in (0, 1):
        if game_id(_game, _version) not in registry:
            register(
                id=game_id(_game, _version),
                entry_point="envs.minatar:MinAtarEnv",
                kwargs={"game": _game, "minimal_action_set": _version == 1},
                max_episode_steps=MINATAR_MAX_EPISODE_STEPS,
            )
