"""Training keeps freed memory (zoo/allocator.py): an update takes its activations back from the
heap, not page by page from the OS. Counted in minor page faults, in a fresh process (the
setting is process-wide and cannot be undone)."""

import json
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import json, resource, sys
    import torch
    import gymnasium as gym
    from zoo.agents.ddpg import DDPGAgent, DDPGConfig
    from zoo.contracts import Batch
    from zoo.train import train
    import zoo.allocator

    torch.set_num_threads(1)
    torch.manual_seed(0)
    env = gym.make("Pendulum-v1")
    # TD3 on RL Zoo's Pendulum entry: [400, 300] critics, batch 256 (~230 faults per update
    # with glibc's defaults, measured)
    agent = DDPGAgent(env.observation_space, env.action_space,
                      DDPGConfig(net_arch=[400, 300], twin_critics=True, policy_delay=2), seed=0)
    batch = Batch(observations=torch.randn(256, 3), actions=torch.rand(256, 1) * 4 - 2,
                  rewards=torch.randn(256), next_observations=torch.randn(256, 3), terminated=torch.zeros(256))

    def faults_per_update(n=40):
        # the median over n updates: a one-off growth of the heap is not what is measured
        for _ in range(5):
            agent.update(batch)
        counts = []
        for _ in range(n):
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            agent.update(batch)
            counts.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
        return sorted(counts)[n // 2]

    # glibc's default thresholds (128 KiB), pinned: left dynamic, glibc raises them after the
    # first large free, so how often the control faults depended on what the process had freed
    # before (0-49 per update after ClippedAdam's state became flat buffers, ~230 before)
    import ctypes
    libc = ctypes.CDLL(None)
    libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD
    libc.mallopt(-1, 128 * 1024)  # M_TRIM_THRESHOLD
    glibc_defaults = faults_per_update()
    assert zoo.allocator._applied is None
    # any training run sets it up (here a short one of the off-policy loop)
    train("td3", "Pendulum-v1", n_timesteps=120, overrides={"learning_starts": 100, "net_arch": [8]},
          out_dir=sys.argv[1], device="cpu")
    print(json.dumps({"applied": zoo.allocator._applied, "glibc_defaults": glibc_defaults,
                      "kept": faults_per_update()}))
""")


@pytest.mark.slow  # ~7 s (a fresh process importing torch): the default run is near its 3-minute budget
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt only")
def test_training_keeps_freed_memory_so_updates_stop_faulting(tmp_path):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    assert measured["applied"] is True
    assert measured["kept"] < 2, measured
    # the control: without it, the same update faults for its memory every time
    assert measured["glibc_defaults"] > 50, measured
