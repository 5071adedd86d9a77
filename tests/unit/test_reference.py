"""docs/params.md's table is rendered from the settings' models (imbalance_lab.settings.reference)."""

from __future__ import annotations

from helpers import ROOT
from imbalance_lab.settings.params import STRATEGY_KEYS, load
from imbalance_lab.settings.reference import render, rows
from imbalance_lab.settings.sections import Params


def test_docs_params_md_is_the_rendered_reference():
    """A description, a default or the prose changed without `python -m imbalance_lab.settings.reference >
    docs/params.md` fails here."""
    assert (ROOT / "docs/params.md").read_text(encoding="utf-8") == render()


def test_every_key_has_one_row_with_a_meaning():
    keys = [key for key, _, _ in rows(Params)]
    assert len(keys) == len(set(keys))
    assert all(meaning.strip() for _, _, meaning in rows(Params))


def _documented_as(path: tuple[str, ...]) -> str:
    """The table's key for a key of params.yaml: a named entry's name and its free settings as placeholders."""
    head, *rest = path
    if head in ("strategies", "classifiers") and rest:
        own = {"strategies": STRATEGY_KEYS, "classifiers": ("classifier",)}[head]
        inner = [] if len(rest) == 1 else [rest[1] if rest[1] in own else "<setting>"]
        return ".".join([head, "<name>", *inner])
    if head == "goals" and rest:
        return "goals.<metric>"
    if path[:2] == ("benchmark", "datasets") and len(path) > 2:  # a named data set and its keys
        return ".".join(["benchmark", "datasets", "<name>", *path[3:4]])
    if path[:2] in (("benchmark", "strategies"), ("benchmark", "classifiers")) and len(path) > 2:  # an entry, as
        return ".".join([*path[:2], "<name>"])  # the grid's (its keys are those of strategies.<name>)
    return ".".join(path)


def _keys(node, path=()):
    """Every key of a params mapping that is a row of the table: the values, and the named entries; a section
    is walked into, a group of data.article or a strategy's basis is one value."""
    for name, value in node.items():
        here = (*path, str(name))
        named = (("benchmark", "datasets"), ("benchmark", "strategies"), ("benchmark", "classifiers"))
        entry = (here[0] in ("strategies", "classifiers") and len(here) == 2) or (here[:2] in named and len(here) == 3)
        section = (len(here) == 1 or here in (("data", "article"), ("benchmark", "cv"), *named)
                   or (here[:2] == ("data", "synthetic") and len(here) < 4))
        if isinstance(value, dict) and (entry or section):
            if entry:
                yield here
            yield from _keys(value, here)
        else:
            yield here


def test_every_key_of_the_shipped_params_yaml_is_in_the_table():
    """A key added to params.yaml without a described field of its section fails here."""
    table = {key for key, _, _ in rows(Params)}
    shipped = {_documented_as(path) for path in _keys(load(ROOT / "params.yaml"))}
    assert shipped - table == set()
    assert {"data.synthetic.pocket.purity", "strategies.<name>.<setting>", "goals.<metric>", "score.cell"} <= table
