"""n_threads sets torch's threads and numpy's BLAS threads (zoo/threads.py): two trainings at
once on two cores were 10-40x slower with OpenBLAS's own default."""

import pytest
import torch

from zoo.threads import numpy_blas_threads, set_training_threads
from zoo.train import train


def test_training_sets_torch_and_numpy_blas_threads(tmp_path):
    if numpy_blas_threads() is None:
        pytest.skip("numpy's BLAS here is not an OpenBLAS zoo can find")
    torch_threads, blas_threads = torch.get_num_threads(), numpy_blas_threads()
    try:
        set_training_threads(2)
        assert (torch.get_num_threads(), numpy_blas_threads()) == (2, 2)
        train("dqn", "CartPole-v1", seed=0, n_timesteps=200, out_dir=tmp_path,
              overrides={"learning_starts": 100, "eval_freq": 0, "stop_at_return": None, "n_threads": 1})
        assert (torch.get_num_threads(), numpy_blas_threads()) == (1, 1)
        set_training_threads(0)  # 0: leave them
        assert (torch.get_num_threads(), numpy_blas_threads()) == (1, 1)
    finally:
        set_training_threads(blas_threads or 1)
        torch.set_num_threads(torch_threads)
