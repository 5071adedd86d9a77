"""The Jinja2 templates of the reports (reporting/templates/, installed with the package) and the filters
that escape names for them: Markdown for reports/summary.md and pull-request comments, HTML for
reports/index.html (where autoescape catches whatever no filter escaped)."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping
from functools import cache

import jinja2
from markupsafe import Markup

from imbalance_lab.reporting.formatting import CODE_SPAN, code, code_text
from imbalance_lab.settings.text import printable

# Characters that can start Markdown syntax inside inline HTML: emphasis, links and images, code, HTML and
# entities, escapes, and the autolinks of URLs (scheme:), www. names and e-mail addresses.
MARKDOWN_SYNTAX = frozenset("\\`*_{}[]()<>#+!|~&:.@")
BOLD, ITALICS = re.compile(r"\*\*([^*]+)\*\*"), re.compile(r"\*([^*]+)\*")


def _entities(text: str) -> str:
    """``text`` with every character of MARKDOWN_SYNTAX as a numeric character reference: text, never syntax."""
    return "".join(f"&#{ord(ch)};" if ch in MARKDOWN_SYNTAX else ch for ch in text)


def markdown_text(text: str, cell: bool = False) -> str:
    """Text for reports/summary.md, names as written: <, > and & as HTML entities; a code span holding one
    becomes <code>, where entities work (and Markdown would too: every punctuation character in it is a
    character reference there); | as \\| in a table cell. Control characters become escapes."""
    text = html.escape(printable(text), quote=False)
    parts, start = [], 0
    for span in CODE_SPAN.finditer(text):
        parts.append(text[start:span.start()])
        inner = html.unescape(code_text(span))
        parts.append(f"<code>{_entities(inner)}</code>" if "&" in span[2] else span[0])
        start = span.end()
    text = "".join(parts) + text[start:]
    return text.replace("|", r"\|") if cell else text


def markdown_cell(text: str) -> str:
    """markdown_text for a table cell."""
    return markdown_text(text, cell=True)


def html_inline(text: str) -> Markup:
    """Markdown's `code` and **bold** and *italics* of the report's text as HTML (no emphasis inside code),
    everything else escaped."""
    def emphasis(part: str) -> str:
        return ITALICS.sub(r"<em>\1</em>", BOLD.sub(r"<strong>\1</strong>", part))

    text = html.escape(printable(text))
    parts, start = [], 0
    for span in CODE_SPAN.finditer(text):
        parts += [emphasis(text[start:span.start()]), f"<code>{code_text(span)}</code>"]
        start = span.end()
    return Markup("".join(parts) + emphasis(text[start:]))


def list_items(paragraph: str) -> list[str] | None:
    """The items of a paragraph that is a Markdown list (lines starting '- '), else None."""
    items = paragraph.split("\n")
    return [item[2:] for item in items] if len(items) > 1 and all(item.startswith("- ") for item in items) else None


def base64_text(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@cache
def environment() -> jinja2.Environment:
    """The templates from the package (never the working directory), autoescaped when they write HTML;
    an undefined name is an error, not an empty string."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("imbalance_lab.reporting", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters |= {"md": markdown_text, "md_cell": markdown_cell, "code": code, "inline": html_inline,
                    "list_items": list_items, "base64": base64_text}
    return env


def render(template: str, data: Mapping) -> str:
    """``template`` (a file of reporting/templates/) filled in from ``data``."""
    return environment().get_template(template).render(data)
