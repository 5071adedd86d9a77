"""Reading params.yaml (as DVC reads it) and one section of it into its model, each problem one ConfigError."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from imbalance_lab.settings.errors import ConfigError, config_error, translate

PARAMS_FILE = "params.yaml"
Model = TypeVar("Model", bound=BaseModel)


def load(path: str | Path = PARAMS_FILE) -> dict:
    """Parse the params file; a missing or malformed file is a ConfigError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found; run from the project folder") from None
    params = parse_yaml(text, path)
    if not isinstance(params, dict):
        raise ConfigError(f"{path}: expected a mapping of sections (data, split, strategies, ...)")
    return params


def parse_yaml(text: str, path: str | Path = PARAMS_FILE) -> Any:
    """YAML 1.2, as DVC reads and writes params.yaml: ``yes``, ``no`` and ``on`` stay text (PyYAML's
    YAML 1.1 would read them as true/false, so `dvc exp run -S data.positive=yes` would lose the label)."""
    from ruamel.yaml import YAML, YAMLError

    try:
        return YAML(typ="safe").load(text)
    except YAMLError as err:
        problem = " ".join(str(err).split("To suppress this check")[0].split())
        raise ConfigError(f"{path}: not valid YAML ({problem})") from None


def section(params: Mapping, key: str) -> Any:
    """The value at a dotted key, or a ConfigError naming the missing key."""
    node: Any = params
    walked = []
    for part in key.split("."):
        walked.append(part)
        if not isinstance(node, Mapping) or part not in node:
            raise ConfigError(f"params.yaml: missing key '{'.'.join(walked)}'; add it (see docs/params.md)")
        node = node[part]
    return node


def mapping(value: Any, key: str, allowed: set[str] | None = None) -> Mapping:
    """``value`` if it is a mapping holding only ``allowed`` keys (any, if None), else a ConfigError."""
    if not isinstance(value, Mapping):
        raise config_error(key, f"must be a mapping of settings, got {value!r}")
    unknown = sorted(set(value) - allowed, key=str) if allowed is not None else []
    if unknown:
        raise ConfigError(f"params.yaml: unknown key '{key}.{unknown[0]}'; "
                          f"the keys of '{key}' are: {', '.join(sorted(allowed or ()))}")
    return value


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel]:
    """The model of the mapping at ``loc`` inside ``model`` (a nested group's)."""
    for part in loc:
        model = model.model_fields[part].annotation  # type: ignore[assignment]  # a group's field is its model
    return model


def _needed(model: type[BaseModel], values: Mapping, errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """``errors`` with a ``missing`` error, in field order, for each key params.yaml must hold although the class
    has a default (``key(needed=True)``: a stage's DVC param)."""
    order = list(model.model_fields)
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra
        if isinstance(extra, dict) and extra.get("needed") and name not in values:
            later = [i for i, err in enumerate(errors) if err["loc"] and err["loc"][0] in order
                     and order.index(err["loc"][0]) > order.index(name)]
            missing = ErrorDetails(type="missing", loc=(name,), msg="Field required", input=values)
            errors.insert(later[0] if later else len(errors), missing)
    return errors


def read(model: type[Model], params: Mapping, key: str, also: tuple[str, ...] = ()) -> Model:
    """The section at ``key`` as ``model``. Keys it does not know are refused (``also``: keys of the section
    that other readers own, left out here)."""
    values = {name: value for name, value in mapping(section(params, key), key).items() if name not in also}
    try:
        settings = model.model_validate(values)
        errors = _needed(model, values, [])
    except ValidationError as err:
        errors = _needed(model, values, err.errors())
    if errors:
        def keys_of(loc: tuple) -> list[str]:
            return [*_model_at(model, loc).model_fields, *(also if not loc else ())]
        raise translate(errors, key, keys_of)
    return settings


_ADAPTERS: dict[int, TypeAdapter] = {}


def check(kind: Any, value: Any, key: str) -> Any:
    """``value`` validated as the type ``kind`` (e.g. sections.Seed), or a ConfigError naming ``key``."""
    adapter = _ADAPTERS.get(id(kind))
    if adapter is None:
        adapter = _ADAPTERS[id(kind)] = TypeAdapter(kind, config=ConfigDict(strict=True))
    try:
        return adapter.validate_python(value)
    except ValidationError as err:
        raise translate(err.errors(), key, lambda loc: []) from None
