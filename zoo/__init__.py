"""zoo: a Gymnasium-compatible agent zoo with a command line.

The library is usable without the CLI::

    from zoo import train, load_agent, open_agent, evaluate_agent

Imports here stay light (no torch) so that `zoo --help` starts fast.
"""

__version__ = "0.2.0"

from zoo.errors import ZooError  # noqa: E402


def __getattr__(name):
    # Lazy re-exports: importing `zoo` must not pull in gymnasium or torch.
    if name == "train":
        from zoo.train import train

        return train
    if name == "load_agent":
        from zoo.build import load_agent

        return load_agent
    if name == "open_agent":
        from zoo.play import open_agent

        return open_agent
    if name == "evaluate_agent":
        from zoo.evaluation import evaluate_agent

        return evaluate_agent
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")


__all__ = ["ZooError", "__version__", "train", "load_agent", "open_agent", "evaluate_agent"]
