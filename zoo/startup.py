"""Import PyTorch the way a one-shot `zoo` command wants it: quicker in, quicker out.

What a user of `zoo train` waits for includes the interpreter's start and end, and with torch
loaded both pay for Python's cyclic garbage collector walking the ~250k objects torch's import
makes: while they are created (collections triggered by the import's own allocations) and once
more at exit (the interpreter's final collection). Measured here (median of 6 interleaved
processes, `import torch` alone): import 2.65 s -> 2.27 s with the collector off during the
import; the process's whole wall 3.66 s -> 2.63 s with that and the imported objects frozen
(`gc.freeze`: moved to a generation the collector never walks again). Those objects live until
the process ends anyway. What is kept that a collection would have freed: the import's own
cyclic garbage, ~7k small objects (~0.7 MB) here; collecting it first would cost most of the
gain. The training loop's garbage is collected as before (and faster: full collections no
longer walk torch's objects).

The CLI calls this before a command that needs torch: the command owns its process. A
library user's process (a notebook, a test) is not frozen behind their back: the library
never calls it, and it does nothing once torch is imported.
"""

from __future__ import annotations

import gc
import pickle
import sys
from typing import Any


def import_torch() -> None:
    """Import torch (and gymnasium) with the collector off, then freeze what they made."""
    if "torch" in sys.modules:
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        import gymnasium  # noqa: F401
        import torch  # noqa: F401
    finally:
        if enabled:
            gc.enable()
    gc.freeze()


def call_in_own_process(pickled_call: bytes, **shared: Any) -> Any:
    """The target of a process zoo spawns for itself (`zoo tune --workers N`): torch imported as
    above first, then `function(*args, **shared)`, the function and its arguments unpickled from
    `pickled_call` (made by our own parent process) only then. Given to the process as its
    target and arguments, they would import their modules, and torch with them, as the child
    unpickles them, before this could run. `shared`: what multiprocessing passes only by
    inheritance (a shared Value)."""
    import_torch()
    function, args = pickle.loads(pickled_call)
    return function(*args, **shared)
