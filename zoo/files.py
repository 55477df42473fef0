"""Files written so that a crash never leaves half of one, and files from strangers read safely.

Reading: checkpoints, replay buffers, run folders and Hub downloads are untrusted. They are read
only from regular files (a FIFO or a device would hang or never end), within size limits
checked before anything is inflated or allocated, and arrays only of plain numeric dtypes,
parsed from the .npy headers without pickle. The limits, in MiB, can be raised for one run
with the environment variables ZOO_MAX_CHECKPOINT_MB and ZOO_MAX_REPLAY_MB.

Writing: to a temporary file beside the target, synced, renamed over it, with the permissions
the user's umask gives any new file.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import io
import os
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO

import numpy as np
import yaml

from zoo.errors import ZooError, brief, brief_text


def _limit(variable: str, default_mb: int) -> int:
    text = os.environ.get(variable, "").strip()
    if not text:
        return default_mb * 2**20
    try:
        megabytes = int(text)
    except ValueError:
        raise ZooError(f"{variable}={brief_text(text)} must be a whole number of MiB.") from None
    if megabytes < 1:
        raise ZooError(f"{variable} must be at least 1 (MiB), got {megabytes}.")
    return megabytes * 2**20


def max_checkpoint_bytes() -> int:
    """A checkpoint's arrays, inflated: 1 GiB, ~100x the largest agent the zoo ships."""
    return _limit("ZOO_MAX_CHECKPOINT_MB", 1024)


def max_replay_bytes() -> int:
    """A replay buffer file's arrays, inflated: 16 GiB (a million 84x84 frames fit)."""
    return _limit("ZOO_MAX_REPLAY_MB", 16384)


MAX_TEXT_BYTES = 64 * 2**20  # a YAML, JSON or CSV file of a run or of hyperparameters
MAX_ARRAY_MEMBERS = 4096  # arrays in one .npz (an agent has a few dozen)
# Only plain numbers: no objects (pickle), strings, structured records or complex numbers.
ARRAY_KINDS = {"b": "bool", "i": "signed int", "u": "unsigned int", "f": "float"}


def _umask() -> int:
    mask = os.umask(0)  # the only way to read it; set back at once
    os.umask(mask)
    return mask


def _stale_temporaries(path: Path) -> Iterator[Path]:
    """Temporary files of `path` left by a process that was killed mid-save (SIGKILL, power
    loss): their names carry the writer's pid, which no longer runs."""
    prefix = f".{path.name}."
    for candidate in path.parent.glob(f"{glob.escape(prefix)}*"):
        pid_text = candidate.name[len(prefix):].split(".", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            yield candidate
        except (PermissionError, OverflowError):
            continue  # alive under another user, or not a pid at all


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary file beside `path` for the block to fill; when the block ends, it is synced
    and renamed into place: a crash or Ctrl-C mid-save leaves the old file (or none), never
    half of a new one. The temporary name keeps `path`'s suffix, for writers that pick their
    format from it (imageio), and the writer's pid, so the next save cleans what a killed
    writer left. An OS error (disk full, read-only, not a folder) is one ZooError naming
    `path`, and the file already there is kept."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in _stale_temporaries(path):
            stale.unlink(missing_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=path.suffix,
                                             dir=path.parent)
        os.close(handle)
    except OSError as error:
        raise ZooError(f"Cannot write {path}: {_reason(error)}.") from None
    try:
        yield Path(temporary)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; a saved file gets what any new file gets
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        kept = f"; {path} still holds the previous save" if path.exists() else ""
        raise ZooError(f"Cannot write {path}: {_reason(error)}{kept}.") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _reason(error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        return "no space left on the device"
    if error.errno == errno.EROFS:
        return "the file system is read-only"
    return error.strerror or str(error)


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> Path:
    """`write` fills the file at `path` through a binary stream, atomically (`atomic_path`)."""
    with atomic_path(path) as temporary, open(temporary, "wb") as raw:
        write(raw)
    return path


def write_arrays(path: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    """Arrays to an .npz, atomically, e.g. a replay buffer."""
    def write(raw: BinaryIO) -> None:
        named: dict[str, Any] = {name: np.asarray(value) for name, value in arrays.items()}
        np.savez(raw, **named)

    return atomic_write(Path(path), write)


def regular_file(path: str | Path, what: str, limit: int | None = None) -> int:
    """The size of `path`, a regular file (symlinks followed) of at most `limit` bytes, or one
    ZooError saying which of those it is not."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ZooError(f"{path} does not exist.") from None
    except OSError as error:
        raise ZooError(f"Cannot read {path}: {_reason(error)}.") from None
    if stat.S_ISDIR(info.st_mode):
        raise ZooError(f"{path} is a folder, not {what}.")
    if not stat.S_ISREG(info.st_mode):
        raise ZooError(f"{path} is not a regular file (a FIFO, socket or device); zoo reads {what} "
                       "only from regular files.")
    if limit is not None and info.st_size > limit:
        raise ZooError(f"{path} is {info.st_size / 2**20:.1f} MiB, more than the {limit / 2**20:.0f} MiB zoo "
                       f"reads for {what}.")
    return info.st_size


def flag_folder(folder: Path, flag: str, what_goes_in: str, *, make: bool = True) -> Path:
    """The folder a flag names (`--out`, `--reward-log`, ...), checked before any work that
    would write into it: a file there is refused, and with `make` the folder is made, an
    OSError (permissions, a read-only disk) said in one line naming the flag."""
    if folder.exists() and not folder.is_dir():
        raise ZooError(f"{flag} {folder} is a file; name a folder ({what_goes_in}).")
    if make:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ZooError(f"{flag} {folder}: cannot make that folder ({_reason(error)}).") from None
    return folder


def read_text(path: str | Path, what: str, limit: int = MAX_TEXT_BYTES) -> str:
    """A small text file of a user or a stranger: regular, bounded, UTF-8."""
    regular_file(path, what, limit)
    try:
        with open(path, "rb") as file:
            data = file.read(limit + 1)
        return data.decode("utf-8")
    except OSError as error:
        raise ZooError(f"Cannot read {path}: {_reason(error)}.") from None
    except UnicodeDecodeError:
        raise ZooError(f"{path} is not UTF-8 text, so it is not {what}.") from None


def read_npz(source: str | Path | bytes, label: str, limit: int) -> dict[str, np.ndarray]:
    """The arrays of an .npz (a path or its bytes), without pickle and within `limit` bytes.

    Each member's .npy header is parsed first: its dtype must be a plain number and its shape
    must fit the member's size and, with the members before it, `limit`; only then is the data
    read, so a hostile file costs at most `limit` bytes of memory, never what it claims."""
    try:
        handle: Any = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")
    except OSError as error:
        raise ZooError(f"Cannot read {label}: {_reason(error)}.") from None
    arrays: dict[str, np.ndarray] = {}
    try:
        with handle, zipfile.ZipFile(handle) as archive:
            members = archive.infolist()
            if len(members) > MAX_ARRAY_MEMBERS:
                raise ZooError(f"{label} holds {len(members)} arrays, more than the {MAX_ARRAY_MEMBERS} zoo reads.")
            total = 0
            for member in members:
                if not member.filename.endswith(".npy") or member.is_dir():
                    raise ZooError(f"{label} holds '{brief_text(member.filename)}', which is not an array (.npy).")
                total += member.file_size
                if total > limit:
                    raise ZooError(f"{label} inflates to more than {limit / 2**20:.0f} MiB, the limit zoo "
                                   "reads (see ZOO_MAX_CHECKPOINT_MB / ZOO_MAX_REPLAY_MB).")
                with archive.open(member) as stream:
                    arrays[member.filename[:-4]] = _read_npy(stream, member.file_size, label, member.filename)
    except ZooError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError,
            NotImplementedError, zlib.error) as error:
        # RuntimeError: an encrypted member; NotImplementedError: an unknown compression method
        raise ZooError(f"{label} is not a readable array file ({type(error).__name__}: {brief_text(str(error), 120)}); "
                       "it may be corrupt, truncated or from another tool.") from None
    return arrays


def _read_npy(stream: IO[bytes], size: int, label: str, name: str) -> np.ndarray:
    from numpy.lib import format as npy

    version = npy.read_magic(stream)
    if version == (1, 0):
        shape, fortran_order, dtype = npy.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, fortran_order, dtype = npy.read_array_header_2_0(stream)
    else:
        raise ZooError(f"{label}: array '{brief_text(name)}' uses .npy version {version}, which zoo does not read.")
    if dtype.kind not in ARRAY_KINDS or dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise ZooError(f"{label}: array '{brief_text(name)}' has dtype {brief_text(str(dtype))}; zoo reads only "
                       f"{', '.join(ARRAY_KINDS.values())} arrays.")
    count = 1
    for length in shape:
        count *= int(length)
    if count * dtype.itemsize > size:
        raise ZooError(f"{label}: array '{brief_text(name)}' claims shape {brief(shape)}, more than its "
                       f"{size} bytes hold; the file is corrupt.")
    data = stream.read(count * dtype.itemsize)
    if len(data) != count * dtype.itemsize:
        raise ZooError(f"{label}: array '{brief_text(name)}' is truncated; the file is corrupt.")
    array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran_order else "C")
    return array.copy()  # writable, and not a view of the bytes read


def non_finite_array(arrays: dict[str, np.ndarray]) -> str | None:
    """The name of the first float array holding NaN or an infinity, or None."""
    return next((name for name, array in arrays.items()
                 if array.dtype.kind == "f" and not np.isfinite(array).all()), None)


def read_arrays(path: str | Path, what: str = "an array file", limit: int | None = None) -> dict[str, np.ndarray]:
    """The arrays of an .npz file such as a replay buffer (`limit`: ZOO_MAX_REPLAY_MB by default)."""
    limit = max_replay_bytes() if limit is None else limit
    regular_file(path, what, limit)
    return read_npz(Path(path), str(path), limit)


# ---- YAML ----------------------------------------------------------------------------

MAX_YAML_VALUES = 100_000  # values of a document once its aliases are expanded; RL Zoo's largest file has ~3,000


def load_yaml(text: str, label: str) -> Any:
    """A YAML document of plain data (yaml.safe_load: no tags run), refusing what safe_load
    lets through: a key given twice in one mapping (YAML says it is an error; PyYAML keeps the
    last), and aliases that expand past MAX_YAML_VALUES values (a few hundred bytes of nested
    anchors can stand for gigabytes). Anchors and `<<: *anchor` merges within that keep working."""
    loader = None
    try:
        loader = _StrictLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, {}, set(), label)
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        raise ZooError(f"{label} is not valid YAML: {_yaml_problem(error)}.") from None
    except RecursionError:
        raise ZooError(f"{label} nests too deeply to be a hyperparameter or run file.") from None
    except (ValueError, OverflowError) as error:  # e.g. an integer of more digits than Python converts
        raise ZooError(f"{label} holds a value out of range ({brief_text(str(error), 100)}).") from None
    finally:
        if loader is not None:
            loader.dispose()


def _expanded_size(node: Any, sizes: dict[int, int], open_nodes: set[int], label: str) -> int:
    """Values `node` stands for with every alias expanded (each node's size computed once)."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_nodes:
        raise ZooError(f"{label}: an alias refers to the node that contains it (a recursive structure).")
    open_nodes.add(key)
    size = 1
    if isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    elif isinstance(node, yaml.MappingNode):
        children = [item for pair in node.value for item in pair]
    else:
        children = []
    for child in children:
        size += _expanded_size(child, sizes, open_nodes, label)
        if size > MAX_YAML_VALUES:
            raise ZooError(f"{label}: its anchors and aliases expand to more than {MAX_YAML_VALUES:,} values; "
                           "zoo refuses it rather than fill memory.")
    open_nodes.discard(key)
    sizes[key] = size
    return size


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping."""

    def construct_mapping(self, node: Any, deep: bool = False) -> dict:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *base` merges may override keys: that is their job
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    if key in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"the key {brief(key)} is given twice (first on line {seen[key]})",
                            key_node.start_mark)
                    seen[key] = line
                except TypeError:
                    continue  # an unhashable key: SafeLoader's own error follows
        return super().construct_mapping(node, deep=deep)


def _yaml_problem(error: yaml.YAMLError) -> str:
    """One line: what is wrong and where (PyYAML's own text spans several, with the source)."""
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        return f"{brief_text(error.problem or error.context or 'a syntax error', 200)}{where}"
    return brief_text(str(error), 200)
