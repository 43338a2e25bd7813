"""The machine report: the `--format json` contract of DESIGN.md.

    {"version": 1, "findings": [...], "summary": {"errors", "warnings", "infos", "files",
     "resources", "seconds"}}

Findings are sorted by path, line, column and rule; each is `Finding.as_json()`.
"""

from __future__ import annotations

import json

from wavegate.findings import Result

VERSION = 1


def document(result: Result) -> dict:
    """The report as a JSON-ready object."""
    counts = result.counts()
    return {
        "version": VERSION,
        "findings": [finding.as_json() for finding in result.sorted_findings()],
        "summary": {
            "errors": counts["error"],
            "warnings": counts["warning"],
            "infos": counts["info"],
            "files": len(result.files),
            "resources": result.resources,
            "seconds": round(float(result.seconds), 3),
        },
    }


def render(result: Result, *, color: bool = False) -> str:  # no colour in JSON
    return json.dumps(document(result), indent=2, ensure_ascii=False) + "\n"
