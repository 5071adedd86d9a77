"""reports/index.html: the report's sections as one self-contained page (template index.html.j2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from imbalance_lab.reporting.sections import Section
from imbalance_lab.reporting.templating import render


def render_html(sections: Sequence[Section], images: Mapping[str, bytes]) -> str:
    """One self-contained page: images (path inside reports/ -> PNG bytes) embedded as data URIs, no scripts,
    no network."""
    return render("index.html.j2", {"sections": sections, "images": images})
