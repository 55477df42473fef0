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

__all__ = ["BernoulliBanditEnv", "CliffWalking4x12Env", "ENV_IDS"]

ENV_IDS = ("BernoulliBandit-v0", "CliffWalking4x12-v0")

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
