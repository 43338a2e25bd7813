"""GitLab-flavoured markdown shared by the merge request note and the diff's section of it."""

from __future__ import annotations


def escape(text: str) -> str:
    """Text safe inside a markdown table cell: no HTML, no table breaks, no @mentions or
    #references that would notify people or link issues."""
    text = (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("|", "&#124;").replace("@", "&#64;").replace("#", "&#35;")
            .replace("`", "&#96;").replace("\\", "&#92;"))
    return "<br>".join(line.strip() for line in text.splitlines()) or ""
