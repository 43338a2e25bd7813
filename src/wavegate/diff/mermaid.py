"""The sync order of one Application as a Mermaid flowchart, which GitLab draws in notes: one
column per step (phase and wave, in Argo CD's order, then the prune step), hooks as hexagons, the
objects that change coloured (added, changed, removed). Unchanged objects are there for context,
folded into one box where a step has many, so a large Application stays readable."""

from __future__ import annotations

from wavegate.diff.model import ADDED, CHANGED, REMOVED, UNCHANGED, AppDiff, ObjectKey

MAX_UNCHANGED = 5  # per step, before they fold into "N unchanged"
MAX_CHANGED = 30  # per step, before the rest fold into "N more"
_MARK = {ADDED: "+ ", CHANGED: "~ ", REMOVED: "- ", UNCHANGED: ""}
_STYLE = {
    ADDED: "fill:#dafbe1,stroke:#1a7f37,color:#0a3622",
    CHANGED: "fill:#fff8c5,stroke:#9a6700,color:#3b2300",
    REMOVED: "fill:#ffebe9,stroke:#cf222e,color:#5c0011,stroke-dasharray:4 3",
    UNCHANGED: "fill:#f6f8fa,stroke:#8c959f,color:#57606a",
}


def diagram(app: AppDiff) -> str:
    """The flowchart's source ('' when the Application syncs nothing at either revision)."""
    if not app.steps:
        return ""
    lines = ["flowchart LR"]
    classes: dict[str, list[str]] = {}
    for i, step in enumerate(app.steps):
        lines.append(f'  subgraph s{i}["{label(step.title)}"]')
        lines.append("    direction TB")
        for j, (text, status, hook) in enumerate(_boxes(step.members)):
            node = f"s{i}n{j}"
            shape = ('{{"', '"}}') if hook else ('["', '"]')
            lines.append(f"    {node}{shape[0]}{label(text)}{shape[1]}")
            classes.setdefault(status, []).append(node)
        lines.append("  end")
    lines += [f"  s{i} --> s{i + 1}" for i in range(len(app.steps) - 1)]
    for status, style in _STYLE.items():
        if status in classes:
            lines.append(f"  classDef {status} {style}")
            lines.append(f"  class {','.join(classes[status])} {status}")
    return "\n".join(lines) + "\n"


def _boxes(members: list[tuple[ObjectKey, str, bool]]) -> list[tuple[str, str, bool]]:
    """(text, status, hook) of each box of a step, in sync order: every object, or, when a step
    has more than MAX_UNCHANGED unchanged ones, the changed ones (up to MAX_CHANGED) and one box
    for the unchanged and one for the changes past the limit."""
    unchanged = sum(1 for _, status, _ in members if status == UNCHANGED)
    fold = unchanged > MAX_UNCHANGED
    boxes, shown = [], 0
    for key, status, hook in members:
        if status == UNCHANGED and fold:
            continue
        if status != UNCHANGED:
            shown += 1
            if shown > MAX_CHANGED:
                continue
        boxes.append((_MARK[status] + ("hook " if hook else "") + _name(key), status, hook))
    if shown > MAX_CHANGED:
        boxes.append((f"… {shown - MAX_CHANGED} more changes", CHANGED, False))
    if fold:
        boxes.append((f"{unchanged} unchanged", UNCHANGED, False))
    return boxes


def _name(key: ObjectKey) -> str:
    return f"{key.kind} {key.namespace}/{key.name}" if key.namespace else f"{key.kind} {key.name}"


def label(text: str) -> str:
    """Text safe inside a quoted Mermaid label: quotes and markup as Mermaid's entity codes."""
    return (text.replace("#", "#35;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
            .replace("\n", " "))
