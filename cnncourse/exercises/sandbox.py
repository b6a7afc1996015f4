"""Grading untrusted notebooks: the student's code only produces data, trusted code judges it.

The grader runs each submission in a bubblewrap sandbox (``bwrap``). Inside it, every
``check(name, candidate)`` is *recorded*: the checker runs as usual, but each call of the
candidate is written down (a digest of its inputs, its result or the exception it raised,
and the new contents of any argument it changed) to a plain file of the sandbox's scratch
folder: a small JSON file and, for arrays, an ``.npz`` read with ``allow_pickle=False``.

The grader (outside, with every checker loaded before any sandbox ran) then *replays*
each record: it runs the same checker on a stand-in candidate that answers each call with
the recorded data, after checking that the inputs are the ones the grader's own checker
gives. The expected answers are computed in the grader; nothing the sandbox did can change
them. A record that does not follow the schema, exceeds a size limit or answers other
inputs makes the submission ``malformed``; it never crashes the grader and never passes.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import inspect
import io
import json
import math
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np

RECORD_ENV = "CNNCOURSE_RECORD_DIR"  # set inside the sandbox: check() records there
SEED_ENV = "CNNCOURSE_GRADING_SEED"  # the grading run's secret seed for checkers' inputs

MAX_JSON_BYTES = 2 * 1024**2  # one record's JSON
MAX_ARRAYS_BYTES = 256 * 1024**2  # one record's arrays, uncompressed
MAX_RECORDS = 500
MAX_CALLS = 5000
MAX_DEPTH = 16
MAX_STR = 10_000
MAX_INT_DIGITS = 400
ARRAY_KINDS = "biufcU"


class MalformedRecord(BaseException):
    """The sandbox's record does not follow the schema or answers other inputs than the grader's checker gives.

    A ``BaseException``, so that no ``except Exception`` of a checker turns it into an ordinary failure.
    """


# ----------------------------------------------------------------------------- inputs' digest


def digest(value) -> str:
    """A SHA-256 over ``value``'s type and contents (arrays by dtype, shape and bytes; functions by name)."""
    hasher = hashlib.sha256()
    _feed(hasher, value, 0)
    return hasher.hexdigest()


def _feed(hasher, value, depth):
    if depth > MAX_DEPTH:
        hasher.update(b"<deep>")
        return
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        hasher.update(f"nd{array.dtype.str}{array.shape}".encode())
        hasher.update(array.tobytes() if array.dtype.kind != "O" else repr(array.tolist()).encode())
    elif isinstance(value, np.generic):
        hasher.update(f"np{value.dtype.str}".encode() + np.asarray(value).tobytes())
    elif isinstance(value, (bool, int, float, complex, str, type(None))):
        hasher.update(f"{type(value).__name__}:{value!r};".encode("utf-8", "backslashreplace"))
    elif isinstance(value, (list, tuple)):
        hasher.update(f"{type(value).__name__}[{len(value)}".encode())
        for item in value:
            _feed(hasher, item, depth + 1)
        hasher.update(b"]")
    elif isinstance(value, dict):
        hasher.update(f"dict{{{len(value)}".encode())
        for key, item in value.items():
            _feed(hasher, key, depth + 1)
            _feed(hasher, item, depth + 1)
        hasher.update(b"}")
    elif callable(value):
        hasher.update(f"callable:{getattr(value, '__qualname__', type(value).__name__)};".encode())
    else:
        hasher.update(f"object:{type(value).__qualname__};".encode())


# ----------------------------------------------------------------------------- values as data


class _Encoder:
    """Turns a candidate's result into JSON nodes and arrays (the sandbox's side; best effort)."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}

    def _array(self, array) -> str:
        key = f"a{len(self.arrays)}"
        self.arrays[key] = np.array(array, copy=True)
        return key

    def encode(self, value, depth=0):
        if depth > MAX_DEPTH:
            return {"t": "opaque", "type": "too deeply nested"}
        if value is None:
            return {"t": "none"}
        if isinstance(value, (bool, np.bool_)) and not isinstance(value, np.ndarray):
            if isinstance(value, np.generic):
                return {"t": "scalar", "k": self._array(np.asarray(value))}
            return {"t": "bool", "v": bool(value)}
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in ARRAY_KINDS:
                return {"t": "opaque", "type": f"array of dtype {value.dtype}"}
            return {"t": "array", "k": self._array(value)}
        if isinstance(value, np.generic):
            if value.dtype.kind not in ARRAY_KINDS:
                return {"t": "opaque", "type": type(value).__name__}
            return {"t": "scalar", "k": self._array(np.asarray(value))}
        if isinstance(value, int):
            text = str(int.__int__(value)) if abs(int.__int__(value)) < 10 ** MAX_INT_DIGITS else None
            return {"t": "int", "v": text} if text else {"t": "opaque", "type": "int too large"}
        if isinstance(value, float):
            return {"t": "float", "v": float.__repr__(value)}
        if isinstance(value, complex):
            return {"t": "complex", "v": [repr(value.real), repr(value.imag)]}
        if isinstance(value, str):
            return {"t": "str", "v": str.__str__(value)[:MAX_STR]}
        if isinstance(value, (list, tuple)):
            return {"t": "list" if isinstance(value, list) else "tuple",
                    "v": [self.encode(item, depth + 1) for item in list(value)[:100_000]]}
        if isinstance(value, dict):
            return {"t": "dict", "v": [[self.encode(key, depth + 1), self.encode(item, depth + 1)]
                                       for key, item in list(value.items())[:10_000]]}
        return {"t": "opaque", "type": type(value).__name__[:100]}


class _Decoder:
    """Rebuilds values from a record's JSON nodes and arrays (the grader's side; strict)."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.arrays = arrays
        self.nodes = 0

    def decode(self, node, depth=0):
        self.nodes += 1
        if depth > MAX_DEPTH + 1 or self.nodes > 1_000_000:
            raise MalformedRecord("a recorded value is nested too deeply or too large")
        if not isinstance(node, dict) or not isinstance(node.get("t"), str):
            raise MalformedRecord(f"a recorded value is not a tagged object: {type(node).__name__}")
        kind = node["t"]
        value = node.get("v")
        if kind == "none":
            return None
        if kind == "bool" and isinstance(value, bool):
            return value
        if kind == "int" and isinstance(value, str) and len(value) <= MAX_INT_DIGITS + 1:
            try:
                return int(value, 10)
            except ValueError:
                raise MalformedRecord("a recorded integer is not a decimal number") from None
        if kind == "float" and isinstance(value, str) and len(value) <= 40:
            try:
                return float(value)
            except ValueError:
                raise MalformedRecord("a recorded float is not a number") from None
        if kind == "complex" and isinstance(value, list) and len(value) == 2 and all(
                isinstance(part, str) and len(part) <= 40 for part in value):
            try:
                return complex(float(value[0]), float(value[1]))
            except ValueError:
                raise MalformedRecord("a recorded complex number is not a number") from None
        if kind == "str" and isinstance(value, str) and len(value) <= MAX_STR:
            return value
        if kind in ("array", "scalar") and node.get("k") in self.arrays:
            array = self.arrays[node["k"]].copy()
            if kind == "scalar":
                if array.ndim != 0:
                    raise MalformedRecord("a recorded scalar is not 0-dimensional")
                return array[()]
            return array
        if kind in ("list", "tuple") and isinstance(value, list):
            items = [self.decode(item, depth + 1) for item in value]
            return items if kind == "list" else tuple(items)
        if kind == "dict" and isinstance(value, list):
            result = {}
            for pair in value:
                if not (isinstance(pair, list) and len(pair) == 2):
                    raise MalformedRecord("a recorded dict entry is not a [key, value] pair")
                key = self.decode(pair[0], depth + 1)
                try:
                    result[key] = self.decode(pair[1], depth + 1)
                except TypeError:
                    raise MalformedRecord("a recorded dict key is not hashable") from None
            return result
        if kind == "opaque" and isinstance(node.get("type"), str):
            return Opaque(node["type"][:100])
        raise MalformedRecord(f"a recorded value of kind {kind[:40]!r} does not follow the schema")


class Opaque:
    """A result the sandbox could not write as data (a model, a generator...): it fails any checker."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self):
        return f"<a {self.type_name} object, which cannot be graded>"


# ----------------------------------------------------------------------------- the sandbox's side: recording


class Recorder:
    """Wraps a student's function: each call is run and written down (inputs' digest, result, changed arguments)."""

    def __init__(self, function, encoder: _Encoder):
        self._function = function
        self._encoder = encoder
        self.calls: list[dict] = []
        self.__name__ = getattr(function, "__name__", type(function).__name__)
        with contextlib.suppress(TypeError, ValueError):
            self.__signature__ = inspect.signature(function)

    def __call__(self, *args, **kwargs):
        entry = {"args": digest((args, kwargs))}
        if len(self.calls) < MAX_CALLS:
            self.calls.append(entry)
        before = {str(index): value.copy() for index, value in enumerate(args) if isinstance(value, np.ndarray)}
        before.update({f"k:{key}": value.copy() for key, value in kwargs.items() if isinstance(value, np.ndarray)})
        try:
            result = self._function(*args, **kwargs)
        except BaseException as error:
            from . import OutOfTime

            if isinstance(error, OutOfTime):
                entry["timeout"] = True
            else:
                base = next((kind.__name__ for kind in type(error).__mro__
                             if getattr(builtins, kind.__name__, None) is kind), "Exception")
                entry["raised"] = {"type": type(error).__name__[:100], "base": base, "message": str(error)[:2000]}
            raise
        finally:
            models = {}
            for key, value in [(str(i), a) for i, a in enumerate(args)] + [(f"k:{k}", a) for k, a in kwargs.items()]:
                if _is_keras_model(value):
                    models[key] = _model_state(value, self._encoder)
            if models:
                entry["models"] = models
            changed = {}
            for key, old in before.items():
                new = args[int(key)] if not key.startswith("k:") else kwargs[key[2:]]
                if not (new.shape == old.shape and np.array_equal(new, old, equal_nan=old.dtype.kind in "fc")):
                    changed[key] = self._encoder.encode(new)
            if changed:
                entry["mutated"] = changed
        same = [str(i) for i, a in enumerate(args) if a is result] + [f"k:{k}" for k, a in kwargs.items() if a is result]
        entry["result"] = {"t": "arg", "k": same[0]} if same and not _plain(result) else self._encoder.encode(result)
        return result


def _plain(value) -> bool:
    return value is None or isinstance(value, (bool, int, float, complex, str, np.generic))


def _is_keras_model(value) -> bool:
    """A Keras model (or layer) given to a candidate: its trainable flags and weights are what a checker observes."""
    return all(hasattr(value, name) for name in ("layers", "get_weights", "set_weights", "trainable_weights"))


def _model_state(model, encoder) -> dict:
    return {"trainable": bool(model.trainable), "layers": [bool(layer.trainable) for layer in model.layers],
            "weights": encoder.encode([np.asarray(weight) for weight in model.get_weights()])}


def _params(function) -> list[list[str]] | None:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    return [[name, parameter.kind.name] for name, parameter in signature.parameters.items()]


def record_check(name: str, candidate, run_check, directory: str | os.PathLike) -> None:
    """Run ``run_check(candidate)`` with ``candidate`` recorded, and write the record into ``directory``.

    ``run_check`` is ``check`` itself; its verdict inside the sandbox is not trusted and not written.
    """
    encoder = _Encoder()
    record = {"exercise": str(name)[:200]}
    recorder = None
    if callable(candidate):
        recorder = Recorder(candidate, encoder)
        record["candidate"] = {"t": "function", "name": recorder.__name__[:200], "params": _params(candidate)}
        target = recorder
    else:
        record["candidate"] = {"t": "value", "v": encoder.encode(candidate)}
        target = candidate
    try:
        run_check(target)
    except BaseException as error:
        from . import OutOfTime

        if isinstance(error, OutOfTime):
            record["stopped"] = "timeout"
        raise
    finally:
        if recorder is not None:
            record["calls"] = recorder.calls
        write_record(Path(directory), record, encoder.arrays)


def record_undefined(name: str, message: str, directory) -> None:
    """Write that the notebook's ``check(name, expression)`` could not even evaluate its candidate."""
    write_record(Path(directory), {"exercise": str(name)[:200], "undefined": str(message)[:2000]}, {})


def write_record(directory: Path, record: dict, arrays: dict) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    number = len(list(directory.glob("check-*.json")))
    stem = directory / f"check-{number:04d}"
    if arrays:
        np.savez_compressed(f"{stem}.npz", **arrays)
    text = json.dumps(record, ensure_ascii=True)
    Path(f"{stem}.json.part").write_text(text, encoding="ascii")
    os.replace(f"{stem}.json.part", f"{stem}.json")


# ----------------------------------------------------------------------------- the grader's side: reading and replaying


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a record's ``.npz``, sizes checked from the zip and the ``.npy`` headers before reading."""
    if not path.exists():
        return {}
    if not path.is_file() or path.is_symlink():
        raise MalformedRecord(f"{path.name} is not a regular file")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > 100_000 or len({member.filename for member in members}) != len(members):
                raise MalformedRecord(f"{path.name} has too many or duplicated members")
            if sum(member.file_size for member in members) > MAX_ARRAYS_BYTES:
                raise MalformedRecord(f"{path.name} holds more than {MAX_ARRAYS_BYTES // 1024**2} MB of arrays")
            arrays = {}
            for member in members:
                if not member.filename.endswith(".npy"):
                    raise MalformedRecord(f"{path.name} holds {member.filename[:60]!r}, not an array")
                with archive.open(member) as handle:
                    version = np.lib.format.read_magic(handle)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
                    elif version == (2, 0):
                        shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
                    else:
                        raise MalformedRecord(f"{path.name}: .npy format version {version} is not allowed")
                    if dtype.kind not in ARRAY_KINDS or dtype.hasobject:
                        raise MalformedRecord(f"{path.name}: an array of dtype {dtype} is not allowed")
                    if math.prod(shape) * dtype.itemsize > MAX_ARRAYS_BYTES:
                        raise MalformedRecord(f"{path.name}: an array of shape {shape} is too large")
                with archive.open(member) as handle:
                    arrays[member.filename[:-4]] = np.lib.format.read_array(handle, allow_pickle=False)
            return arrays
    except MalformedRecord:
        raise
    except Exception as error:  # zipfile.BadZipFile, ValueError from a bad header, OSError, MemoryError...
        raise MalformedRecord(f"{path.name} cannot be read as arrays ({type(error).__name__})") from None


def read_records(directory: Path) -> list[dict]:
    """The records the sandbox wrote, in order, each checked against the schema (``MalformedRecord`` otherwise)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    names = sorted(entry.name for entry in os.scandir(directory) if entry.name.endswith(".json"))
    if len(names) > MAX_RECORDS:
        raise MalformedRecord(f"more than {MAX_RECORDS} records")
    records = []
    for name in names:
        path = directory / name
        if path.is_symlink() or not path.is_file():
            raise MalformedRecord(f"{name} is not a regular file")
        if path.stat().st_size > MAX_JSON_BYTES:
            raise MalformedRecord(f"{name} is larger than {MAX_JSON_BYTES // 1024**2} MB")
        try:
            record = json.loads(path.read_bytes().decode("ascii"))
        except (ValueError, RecursionError, UnicodeDecodeError):
            raise MalformedRecord(f"{name} is not valid JSON") from None
        if not isinstance(record, dict) or not isinstance(record.get("exercise"), str):
            raise MalformedRecord(f"{name} is not a record of one check")
        if "undefined" in record:
            if not isinstance(record["undefined"], str):
                raise MalformedRecord(f"{name}: 'undefined' is not a message")
        else:
            candidate = record.get("candidate")
            if not isinstance(candidate, dict) or candidate.get("t") not in ("function", "value"):
                raise MalformedRecord(f"{name} does not describe the candidate")
            calls = record.get("calls", [])
            if not isinstance(calls, list) or len(calls) > MAX_CALLS or not all(
                    isinstance(call, dict) and isinstance(call.get("args"), str) for call in calls):
                raise MalformedRecord(f"{name}: the calls do not follow the schema")
            record["_arrays"] = _read_arrays(path.with_suffix(".npz"))
        records.append(record)
    return records


def _exception_class(raised) -> type:
    """A stand-in for the exception the candidate raised: the same name, on the same built-in base class."""
    if not isinstance(raised, dict) or not all(isinstance(raised.get(key), str) for key in ("type", "base", "message")):
        raise MalformedRecord("a recorded exception does not follow the schema")
    base = getattr(builtins, raised["base"], None)
    if not (isinstance(base, type) and issubclass(base, BaseException)) or issubclass(base, MalformedRecord):
        raise MalformedRecord(f"a recorded exception's base {raised['base'][:40]!r} is not a built-in exception")
    name = raised["type"] if raised["type"].isidentifier() else "Exception"
    return base if name == base.__name__ else type(name, (base,), {"__module__": "submission"})


class Replay:
    """The grader's stand-in for a student's function: answers each call from the record, inputs checked."""

    def __init__(self, record: dict):
        self._calls = record.get("calls", [])
        self._decoder = _Decoder(record["_arrays"])
        candidate = record["candidate"]
        name = candidate.get("name")
        self.__name__ = name if isinstance(name, str) else "function"
        params = candidate.get("params")
        if isinstance(params, list):
            try:
                self.__signature__ = inspect.Signature(
                    [inspect.Parameter(param, getattr(inspect.Parameter, kind)) for param, kind in params])
            except (TypeError, ValueError, AttributeError):
                raise MalformedRecord("the candidate's recorded signature is not valid") from None
        self._next = 0
        self._stopped = record.get("stopped")

    def __call__(self, *args, **kwargs):
        from . import OutOfTime

        if self._next >= len(self._calls):
            if self._stopped == "timeout":
                raise OutOfTime()
            raise MalformedRecord("the record stops before the checker's last call")
        call = self._calls[self._next]
        self._next += 1
        if call["args"] != digest((args, kwargs)):
            raise MalformedRecord("the record answers other inputs than the checker gives")
        mutated = call.get("mutated", {})
        if not isinstance(mutated, dict):
            raise MalformedRecord("the record's changed arguments do not follow the schema")
        for key, node in mutated.items():
            try:
                target = kwargs[key[2:]] if key.startswith("k:") else args[int(key)]
            except (KeyError, IndexError, ValueError):
                raise MalformedRecord("the record changes an argument that does not exist") from None
            new = self._decoder.decode(node)
            if not isinstance(target, np.ndarray) or not isinstance(new, np.ndarray) or new.shape != target.shape:
                raise MalformedRecord("the record changes an argument to another shape")
            try:
                target[...] = new
            except (TypeError, ValueError):
                raise MalformedRecord("the record changes an argument to values of another type") from None
        models = call.get("models", {})
        if not isinstance(models, dict):
            raise MalformedRecord("the record's model states do not follow the schema")
        for key, state in models.items():
            try:
                target = kwargs[key[2:]] if key.startswith("k:") else args[int(key)]
            except (KeyError, IndexError, ValueError):
                raise MalformedRecord("the record describes a model argument that does not exist") from None
            flags = state.get("layers") if isinstance(state, dict) else None
            if not (_is_keras_model(target) and isinstance(flags, list) and len(flags) == len(target.layers)
                    and all(isinstance(flag, bool) for flag in flags) and isinstance(state.get("trainable"), bool)):
                raise MalformedRecord("the record's model state does not match the model the checker gives")
            weights = self._decoder.decode(state.get("weights"))
            target.trainable = state["trainable"]
            for layer, flag in zip(target.layers, flags):
                layer.trainable = flag
            try:
                target.set_weights(weights)
            except Exception:
                raise MalformedRecord("the record's model weights do not fit the model the checker gives") from None
        if call.get("timeout") is True:
            raise OutOfTime()
        if "raised" in call:
            raised = call["raised"]
            raise _exception_class(raised)(raised["message"])
        if "result" not in call:
            raise MalformedRecord("a recorded call has neither a result nor an exception")
        result = call["result"]
        if isinstance(result, dict) and result.get("t") == "arg":
            key = result.get("k")
            try:
                return kwargs[key[2:]] if key.startswith("k:") else args[int(key)]
            except (KeyError, IndexError, ValueError, AttributeError):
                raise MalformedRecord("the record returns an argument that does not exist") from None
        return self._decoder.decode(result)


def replay_candidate(record: dict):
    """The candidate to give the grader's checker for ``record``: a ``Replay``, or the recorded value."""
    candidate = record["candidate"]
    if candidate["t"] == "function":
        return Replay(record)
    return _Decoder(record["_arrays"]).decode(candidate.get("v"))


# ----------------------------------------------------------------------------- the sandbox itself


def bwrap_path() -> str | None:
    """The ``bwrap`` program, if installed and able to make a sandbox here (None otherwise)."""
    program = shutil.which("bwrap")
    if not program:
        return None
    import subprocess

    try:
        done = subprocess.run([program, *_base_mounts([]), "--", "true"], stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return program if done.returncode == 0 else None


def _base_mounts(hidden: list[Path]) -> list[str]:
    return ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
            "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]


def _under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def sandbox_command(program: str, scratch: Path, command: list[str], hide: list[Path], keep: list[Path]) -> list[str]:
    """The ``bwrap`` command that runs ``command`` with the system read-only, ``hide`` folders emptied (but
    ``keep`` folders under them shown again, read-only) and ``scratch`` writable at ``/tmp/work``."""
    arguments = [program, *_base_mounts(hide)]
    system = [Path(p) for p in ("/usr", "/etc", "/lib", "/bin", "/sbin", "/lib64", "/opt", "/var")]
    hidden = []
    for folder in sorted({Path(os.path.realpath(p)) for p in hide}, key=lambda p: len(p.parts)):
        if folder == Path("/") or any(_under(s, folder) for s in system) or not folder.is_dir():
            continue  # never hide the system itself
        if folder == Path("/tmp") or _under(folder, Path("/tmp")) or any(_under(folder, h) for h in hidden):
            continue  # /tmp is a fresh tmpfs already, or an enclosing folder is hidden
        hidden.append(folder)
        arguments += ["--tmpfs", str(folder)]
    for folder in sorted({Path(os.path.realpath(p)) for p in keep}, key=lambda p: len(p.parts)):
        if folder.exists() and (_under(folder, Path("/tmp")) or any(_under(folder, h) for h in hidden)):
            arguments += ["--ro-bind", str(folder), str(folder)]  # shown again over the fresh /tmp or a hidden folder
    arguments += ["--bind", str(scratch), "/tmp/work", "--chdir", "/tmp/work", "--setenv", "HOME", "/tmp/work", "--"]
    return arguments + command
