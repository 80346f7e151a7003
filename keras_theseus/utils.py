"""Small helpers shared across keras_theseus: argument checks and atomic
JSON writes (no TensorFlow import)."""

import json
import math
import numbers
import os


def is_int(value):
    """True for Python and numpy integers, False for bools."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value):
    """True for finite real numbers (Python or numpy), False for bools."""
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value))


def check_bool(name, value):
    """Return `value` if it is True or False; else a ValueError naming `name`."""
    if not isinstance(value, bool):
        raise ValueError(f"`{name}` must be True or False. Received: {value!r}")
    return value


def deprecated_aliases(module_name, aliases):
    """A module `__getattr__` that serves renamed or moved names, with a warning.

    Removed public names keep working for one release: `aliases` maps the
    old name to the dotted path of the object that replaces it, or to a
    pair `(path of the object served, name the warning recommends)` when the
    two differ (a legacy subclass kept so that saved files load). Use as
    `__getattr__ = deprecated_aliases(__name__, {"Old": "pkg.module.New"})`.
    """
    import importlib
    import warnings

    def __getattr__(name):
        if name not in aliases:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        new_path = aliases[name]
        advice = new_path
        if isinstance(new_path, tuple):
            new_path, advice = new_path
        warnings.warn(
            f"`{module_name}.{name}` is deprecated and will be removed in the next "
            f"release; use `{advice}`.", DeprecationWarning, stacklevel=2)
        module, _, attr = new_path.rpartition(".")
        return getattr(importlib.import_module(module), attr)

    return __getattr__


def write_json_atomically(path, payload, *, indent=1, default=None):
    """Write `payload` as JSON to `path` so that readers never see half a file.

    The JSON goes to a temporary file beside `path` (named with this
    process's id, so two processes writing the same path do not share it),
    which then replaces `path` in one `os.replace`. A run killed mid-write
    leaves the previous file whole; the temporary file is removed when
    serialisation fails. Parent directories are created.

    Args:
        path: the file to write.
        payload: anything `json.dump` accepts with `default`.
        indent: `json.dump`'s indent (None: one line).
        default: `json.dump`'s `default`, for values JSON has no type for
            (e.g. `float` for numpy scalars).

    Example:
    ```python
    write_json_atomically("run/status.json", {"status": "running"})
    ```
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    staging = f"{path}.tmp{os.getpid()}"
    try:
        with open(staging, "w", encoding="utf-8") as f:
            json.dump(payload, f, indent=indent, ensure_ascii=False, default=default)
            f.write("\n")
        os.replace(staging, path)
    except BaseException:
        if os.path.exists(staging):
            os.remove(staging)
        raise
