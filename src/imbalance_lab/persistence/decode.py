"""JSON-ready data back to a prediction path, refusing what is not trusted before anything is built.

First the whole file is audited (trust.untrusted_names): one class, type, dtype or record layout outside the
trusted lists and nothing is built. Then each entry is built from the inside out, and each object only
after its state has passed its checks: its attributes are data attributes its class knows
(trust.known_attributes), its values hold no callable and no non-finite fitted number (checks.check_values),
its parts agree (checks.CHECKS), and a tree's arrays cannot make prediction read outside them
(trees.check_tree). An array is sized from its items before it is allocated.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable

import numpy as np

from imbalance_lab.persistence.checks import CHECKS, check_values
from imbalance_lab.persistence.trees import check_tree
from imbalance_lab.persistence.trust import (
    CONSTRUCTOR_ARGUMENTS,
    REFUSED_ATTRIBUTES,
    TREE,
    TRUSTED_TYPES,
    UntrustedModelError,
    known_attributes,
    record_dtype,
    trusted_class,
    untrusted_names,
)


def decode_state(data):
    """The inverse of :func:`encode.encode_state`. Refuses (UntrustedModelError) any file naming a class,
    type, dtype or record layout outside the trusted lists, before building anything, and any tree
    whose arrays would make prediction read outside them, before building that tree."""
    try:
        refused = untrusted_names(data)
        if refused:
            raise UntrustedModelError(f"refusing to load {refused[0]!r}: not one of the classes a model file may hold")
        return _decode(data)
    except UntrustedModelError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError, RecursionError) as err:
        raise UntrustedModelError(f"not a saved model state ({type(err).__name__}: {err})") from None


def _decode(data):
    if isinstance(data, list):
        return [_decode(item) for item in data]
    if not isinstance(data, dict):
        return data
    tag = next((tag for tag in DECODERS if tag in data), None)  # the first in DECODERS' order
    if tag is None:
        raise ValueError(f"unknown entry with keys {sorted(data)}")
    return DECODERS[tag](data)


# --- numbers and arrays ------------------------------------------------------------------------------


def _float(data) -> float:
    text = data["__float__"]
    if text not in ("nan", "inf", "-inf"):
        raise ValueError(f"bad float {text!r}")
    return float(text)


def _shape(data) -> tuple[int, ...]:
    shape = data["shape"]
    if not isinstance(shape, list) or not all(isinstance(size, int) and not isinstance(size, bool) and size >= 0
                                              for size in shape):
        raise ValueError(f"bad array shape {shape!r}")
    return tuple(shape)


def _check_array_size(items, shape: tuple[int, ...], dtype: np.dtype) -> None:
    """Refuses an inline array out of proportion to its items in the file, before it is allocated: a shape
    other than the items' count, or strings stored wider than the longest of them (a 2 KB file of a few
    short strings as '<U999999' would take gigabytes)."""
    if not isinstance(items, list):
        raise ValueError("an array's items must be a list")
    if math.prod(shape) != len(items):
        raise UntrustedModelError(f"refusing to load an array of shape {list(shape)} from {len(items)} items: "
                                  "an array's shape must hold exactly its items")
    if dtype.kind == "U":
        longest = max((len(item) for item in items if isinstance(item, str)), default=0)
        if dtype.itemsize // 4 > max(longest, 1):
            raise UntrustedModelError(f"refusing to load strings of dtype {dtype.str} whose longest is {longest} "
                                      "characters: an array out of proportion to the file")


def _array(data) -> np.ndarray:
    items, shape, dtype = data["__array__"], _shape(data), np.dtype(data["dtype"])
    _check_array_size(items, shape, dtype)  # before anything is allocated
    items = [_decode(item) for item in items]
    if data["dtype"] == "|O":
        array = np.empty(len(items), dtype=object)
        array[:] = items
        return array.reshape(shape)
    return np.asarray(items, dtype=dtype).reshape(shape)


def _binary(data) -> np.ndarray:
    dtype, shape = np.dtype(data["dtype"]), _shape(data)
    raw = base64.b64decode(data["__base64__"], validate=True)
    if len(raw) != math.prod(shape) * dtype.itemsize:
        raise ValueError(f"{len(raw)} bytes cannot hold an array of shape {list(shape)} and dtype {dtype}")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def _records(data) -> np.ndarray:
    """A structured array of one of the known layouts, from one plain array per field."""
    name = data["__records__"]
    dtype, fields = record_dtype(name), data["fields"]
    names = dtype.names or ()
    if not isinstance(fields, dict) or sorted(fields) != sorted(names):
        found = sorted(fields) if isinstance(fields, dict) else type(fields).__name__
        raise UntrustedModelError(f"refusing to load records of {name}: the fields must be exactly "
                                  f"{', '.join(names)}, got {found}")
    columns = {field: _decode(fields[field]) for field in names}
    for field, column in columns.items():
        expected = dtype[field]
        if not isinstance(column, np.ndarray) or column.dtype != expected or column.ndim != 1:
            found = f"{column.dtype} of {column.ndim} dimensions" if isinstance(column, np.ndarray) else "no array"
            raise UntrustedModelError(f"refusing to load records of {name}: field {field!r} must be a 1-dimensional "
                                      f"array of {expected.str}, got {found}")
    sizes = {len(column) for column in columns.values()}
    if len(sizes) != 1:
        raise UntrustedModelError(f"refusing to load records of {name}: the fields differ in length")
    records = np.zeros(sizes.pop(), dtype=dtype)
    for field, column in columns.items():
        records[field] = column
    return records


def _slice(data) -> slice:
    start, stop, step = (None if v is None else int(v) for v in data["__slice__"])
    return slice(start, stop, step)


# --- objects ------------------------------------------------------------------------------------------


def _check_attributes(name: str, cls: type, state: dict) -> None:
    """Data attributes only, none shadowing a method or property of the class, each one its class knows."""
    for key in state:
        if not isinstance(key, str) or not key.isidentifier() or hasattr(cls, key) or \
                key in REFUSED_ATTRIBUTES.get(name, ()):
            raise UntrustedModelError(f"refusing to load {name} with the attribute {key!r}: "
                                      "not a data attribute of that class")
    unknown = sorted(set(state) - known_attributes(name))
    if unknown:
        raise UntrustedModelError(f"refusing to load {name} with the attribute {unknown[0]!r}: not one of the "
                                  "attributes that class is built or fitted with")


def _tree(data, cls: type, state: dict):
    arguments = _decode(data["args"])
    check_tree(arguments, state)
    tree = cls(*arguments)
    tree.__setstate__(state)
    return tree


def _from_arguments(name: str, cls: type, state: dict):
    if set(state) != set(CONSTRUCTOR_ARGUMENTS[name]):
        raise ValueError(f"{name} needs exactly the arguments {', '.join(CONSTRUCTOR_ARGUMENTS[name]) or '(none)'}")
    check_values(name, state)
    return cls(**state)


def _object(data):
    name = data["__object__"]
    cls = trusted_class(name)
    extra = set(data) - {"__object__", "state"} - ({"args"} if name == TREE else set())
    if extra:
        raise ValueError(f"unknown keys {sorted(extra)} in the entry of {name}")
    state = _decode(data["state"])
    if not isinstance(state, dict):
        raise ValueError(f"the state of {name} is not a mapping of attribute names")
    if name == TREE:
        return _tree(data, cls, state)
    if name in CONSTRUCTOR_ARGUMENTS:
        return _from_arguments(name, cls, state)
    _check_attributes(name, cls, state)
    check_values(name, state)
    check = CHECKS.get(name)
    problem = check(state) if check is not None else None
    if problem:
        raise UntrustedModelError(f"refusing to load {name}: {problem}")
    value = cls.__new__(cls)
    if hasattr(value, "__setstate__"):  # the class's own restore (reviewed: tests/unit/test_modelfile.py)
        value.__setstate__(state)
    else:
        vars(value).update(state)
    return value


# Each tagged entry's builder, in the order the tags are looked for.
DECODERS: dict[str, Callable] = {
    "__float__": _float,
    "__array__": _array,
    "__base64__": _binary,
    "__records__": _records,
    "__tuple__": lambda data: tuple(_decode(item) for item in data["__tuple__"]),
    "__map__": lambda data: {_decode(key): _decode(item) for key, item in data["__map__"]},
    "__slice__": _slice,
    "__dtype__": lambda data: np.dtype(data["__dtype__"]),
    "__type__": lambda data: TRUSTED_TYPES[data["__type__"]],
    "__object__": _object,
}
