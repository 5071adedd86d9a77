"""docs/params.md, rendered from the settings' models: one table row per key, its meaning the field's description
(``python -m imbalance_lab.settings.reference > docs/params.md``; tests/unit/test_reference.py keeps the two equal).
"""

from __future__ import annotations

import typing
from collections.abc import Iterator

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from imbalance_lab.settings.sections import Params


def _extra(field: FieldInfo) -> dict:
    return field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}


def _shown(field: FieldInfo) -> str:
    """The default column: the shipped value where the class has no default, else the default as YAML writes it."""
    if "shown" in _extra(field):
        return str(_extra(field)["shown"])
    if field.is_required():
        return ""
    value = field.default
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return "`[]`" if value == () else str(value)


def _model(annotation: typing.Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def rows(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, str, str]]:
    """(key, default, meaning) for each key of ``model`` at ``prefix``: a section or a group without a default of
    its own is walked into; a mapping of named entries (``strategies``) is a row and then its entry's keys. A
    placeholder key (``<setting>``: any other key) comes after the keys it is not."""
    fields = sorted(model.model_fields.items(), key=lambda item: str(_extra(item[1]).get("at", "")).startswith("<"))
    for name, field in fields:
        at = _extra(field).get("at", name)
        if not at:  # not a key of the file (a strategy's name)
            continue
        key = f"{prefix}.{at}" if prefix else at
        nested = _model(field.annotation)
        if nested is not None and "shown" not in _extra(field):
            yield from rows(nested, key)
            continue
        yield key, _shown(field), field.description or ""
        if typing.get_origin(field.annotation) is dict:
            entry = _model(typing.get_args(field.annotation)[1])
            if entry is not None:
                yield from rows(entry, key)


def render() -> str:
    """docs/params.md as the models describe it (templates/params.md.j2 holds the prose around the table)."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("imbalance_lab.settings"), autoescape=False,
                             keep_trailing_newline=True, trim_blocks=True, undefined=jinja2.StrictUndefined)
    return env.get_template("params.md.j2").render(rows=list(rows(Params)))


if __name__ == "__main__":
    print(render(), end="")
