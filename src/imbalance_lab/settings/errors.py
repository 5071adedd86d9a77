"""The settings' errors, and pydantic's ValidationError said the way the command line says every problem.

pydantic's own messages are not the interface: a :class:`ConfigError` names the dotted key
(``'cv.folds'``), says what is wrong in this project's words and what would fix it, on one line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError, WrapValidator
from pydantic_core import ErrorDetails, PydanticCustomError

# The type of an error whose message a validator below wrote in full (ctx["problem"]).
OURS = "params"


class PipelineError(Exception):
    """A problem the user can fix (bad settings or data); shown without a traceback."""


class ConfigError(PipelineError):
    """A wrong or missing value in params.yaml."""


def config_error(key: str, problem: str) -> ConfigError:
    return ConfigError(f"params.yaml: '{key}' {problem}")


def problem(text: str) -> PydanticCustomError:
    """A validation error whose message is ``text`` as written (braces in it are not a template)."""
    return PydanticCustomError(OURS, "{problem}", {"problem": text})


def says(allowed: str) -> WrapValidator:
    """Any failure of the value (its type, a bound, a check) reads ``must be <allowed>, got <value>``."""
    def check(value: Any, handler: Callable[[Any], Any]) -> Any:
        try:
            return handler(value)
        except ValidationError:
            raise problem(f"must be {allowed}, got {value!r}") from None
    return WrapValidator(check)


def one_of(options: tuple[str, ...]) -> WrapValidator:
    """Text that is one of ``options``, else ``must be one of a, b, got <value>``."""
    def check(value: Any, handler: Callable[[Any], Any]) -> Any:
        try:
            text = handler(value)
        except ValidationError:
            text = None
        if text not in options:
            raise problem(f"must be one of {', '.join(options)}, got {value!r}")
        return text
    return WrapValidator(check)


def between(low: float, high: float) -> WrapValidator:
    """Wraps a float with bounds: ``must be a number`` for another type, else ``must lie strictly between``."""
    def check(value: Any, handler: Callable[[Any], Any]) -> Any:
        try:
            return float(handler(value))
        except ValidationError as err:
            if err.errors()[0]["type"] == "float_type":
                raise problem(f"must be a number, got {value!r}") from None
            raise problem(f"must lie strictly between {low} and {high}, got {value}") from None
    return WrapValidator(check)


# pydantic's error types, said as this project says them: "must be at most 2,000 (memory), got 5,000".
PHRASES: dict[str, Callable[[Any], str]] = {
    "int_type": lambda err: f"must be a whole number, got {err['input']!r}",
    "float_type": lambda err: f"must be a number, got {err['input']!r}",
    "string_type": lambda err: f"must be text, got {err['input']!r}",
    "bool_type": lambda err: f"must be true or false, got {err['input']!r}",
    "greater_than_equal": lambda err: f"must be at least {err['ctx']['ge']}, got {err['input']}",
    # only memory guards set a maximum
    "less_than_equal": lambda err: f"must be at most {err['ctx']['le']:,} (memory), got {err['input']:,}",
    "model_type": lambda err: f"must be a mapping of settings, got {err['input']!r}",
}


def dotted(prefix: str, loc: tuple[int | str, ...]) -> str:
    """``('pocket', 'age', 0)`` under ``data.synthetic`` -> ``data.synthetic.pocket.age[0]``."""
    key = prefix
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else f".{part}"
    return key.lstrip(".")


def first_error(errors: list[ErrorDetails]) -> ErrorDetails:
    """The error the old reader met first: a mapping's unknown keys (sorted) before any value inside it."""
    unknown = [err for err in errors if err["type"] == "extra_forbidden"]
    known = [err for err in errors if err["type"] != "extra_forbidden"]
    if known:
        loc = known[0]["loc"]
        unknown = [err for err in unknown if err["loc"][:-1] == loc[:len(err["loc"]) - 1]]
        if not unknown:
            return known[0]
    return min(unknown, key=lambda err: (len(err["loc"]), str(err["loc"][-1])))


def translate(errors: list[ErrorDetails], prefix: str, keys_of: Callable[[tuple], list[str]]) -> ConfigError:
    """One ConfigError for a ValidationError's ``errors()``, met validating the section at ``prefix``;
    ``keys_of(loc)`` lists the keys the mapping at ``loc`` may hold (for an unknown key's message)."""
    found = first_error(errors)
    kind, loc = found["type"], found["loc"]
    key = dotted(prefix, loc)
    if kind == "extra_forbidden":
        parent = dotted(prefix, loc[:-1])
        return ConfigError(f"params.yaml: unknown key '{key}'; the keys of '{parent}' are: "
                           f"{', '.join(sorted(keys_of(loc[:-1])))}")
    if kind == "missing":
        return ConfigError(f"params.yaml: missing key '{key}'; add it (see docs/params.md)")
    if kind == OURS:
        return config_error(key, found["ctx"]["problem"])
    phrase = PHRASES.get(kind)
    return config_error(key, phrase(found) if phrase else f"is {found['input']!r}: {found['msg']}")
