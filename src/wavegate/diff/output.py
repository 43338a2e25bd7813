"""`wavegate diff` as text (a terminal), JSON (the contract, README) and markdown (the merge-request
note's section; also `--format markdown`). Markdown is built to a size budget: past it, the
Applications that do not fit say so and point at the full diff (the CI job's artifact)."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

from wavegate.diff.mermaid import diagram
from wavegate.diff.model import ADDED, CHANGED, REMOVED, UNCHANGED, AppDiff, Diff, FieldChange, ObjectChange

MARKS = {ADDED: "+", CHANGED: "~", REMOVED: "-"}
VALUE_WIDTH = 80


def text(diff: Diff) -> str:
    lines = [f"wavegate diff: {_side(diff.base, diff.base_commit)} -> {_side(diff.head, diff.head_commit)}"]
    for app in diff.changed:
        counts = app.counts()
        lines.append(f"\nApplication {app.name}: {app.status} ({_counts(counts)})")
        for note in app.notes:
            lines.append(f"  note: {note}")
        for title, objects in _by_step(app.objects):
            lines.append(f"  {title}")
            for obj in objects:
                where = f"  {obj.path}:{obj.line}" if obj.path else ""
                hook = " (hook)" if obj.hook else ""
                lines.append(f"    {MARKS[obj.status]} {obj.key.display()}{hook}{where}")
                for change in obj.fields:
                    lines.append(f"        {_field_text(change)}")
                if obj.secret and obj.status != CHANGED:
                    lines.append("        (a Secret: values not shown)")
    lines.append("")
    lines.append(summary_line(diff))
    return "\n".join(lines) + "\n"


def summary_line(diff: Diff) -> str:
    summary = diff.summary()
    apps, objects = summary["applications"], summary["objects"]
    if not diff.has_changes:
        return f"No changes in {_plural(len(diff.applications), 'Application')}."
    parts = [f"{apps[s]} {s}" for s in (ADDED, CHANGED, REMOVED, UNCHANGED) if apps[s]]
    return (f"{_plural(len(diff.applications), 'Application')} compared: {', '.join(parts)}; objects: "
            f"{_counts(objects)}.")


def to_json(diff: Diff) -> str:
    return json.dumps(diff.to_json(), indent=2, default=str) + "\n"


# ---------------------------------------------------------------------------------------------
# Markdown

def markdown(diff: Diff, *, budget: int | None = None, project_url: str | None = None,
             artifact_url: str | None = None) -> str:
    """The diff section of the note. Within `budget` characters (None: no limit): each changed
    Application gets a collapsible block (sync-order diagram, changed fields, rendered diff);
    blocks that do not fit are cut, and the section says which and where the full diff is."""
    head = [f"### wavegate diff: {_md_summary(diff)}", "",
            f"base {_md_side(diff.base, diff.base_commit)} → head {_md_side(diff.head, diff.head_commit)}"]
    if not diff.has_changes:
        return "\n".join(head) + "\n"
    head += ["", "| Application | Status | Added | Changed | Removed |", "|---|---|---|---|---|"]
    for app in diff.changed:
        counts = app.counts()
        head.append(f"| {_cell(app.name)} | {app.status} | {counts[ADDED]} | {counts[CHANGED]} | {counts[REMOVED]} |")
    section = "\n".join(head) + "\n"
    tail_reserve = 600
    cut: list[str] = []
    for app in diff.changed:
        full = _app_block(app, project_url, diff.head_commit, rendered=True)
        if budget is None or len(section) + len(full) + tail_reserve <= budget:
            section += full
            continue
        short = _app_block(app, project_url, diff.head_commit, rendered=False)
        if len(section) + len(short) + tail_reserve <= budget:
            section += short
            cut.append(f"the rendered diff of {app.name}")
        else:
            cut.append(app.name)
    if cut:
        where = f"[the full diff]({artifact_url})" if artifact_url else "the full diff (the job's artifact wavegate-diff.md)"
        shown = ", ".join(_cell(c) for c in cut[:20]) + (f" and {len(cut) - 20} more" if len(cut) > 20 else "")
        section += (f"\n**Cut to stay under GitLab's note size limit:** {shown}. See {where}, or run "
                    f"`wavegate diff --base {_code_text(diff.base)}` locally.\n")
    return section


def _app_block(app: AppDiff, project_url: str | None, commit: str, rendered: bool) -> str:
    lines = ["", f"<details><summary><b>{_html(app.name)}</b> ({app.status}: {_counts(app.counts())})</summary>", ""]
    chart = diagram(app)
    if chart:
        lines += ["Sync order (＋ added, ~ changed, − removed; hexagons are hooks):", "", "```mermaid",
                  chart.rstrip("\n"), "```", ""]
    for note in app.notes:
        lines.append(f"> {_cell(note)}")
    if app.notes:
        lines.append("")
    for title, objects in _by_step(app.objects):
        lines.append(f"**{_cell(title)}**")
        lines.append("")
        for obj in objects:
            where = _link(obj.path, obj.line, project_url, commit)
            hook = " (hook)" if obj.hook else ""
            secret = " (a Secret: values not shown)" if obj.secret else ""
            lines.append(f"- {MARKS[obj.status]} `{_code_text(obj.key.display())}`{hook}{secret} {where}")
            for change in obj.fields:
                lines.append(f"  - {_field_markdown(change, project_url, commit)}")
        lines.append("")
    if rendered:
        body = "\n".join(o.diff for o in app.objects if o.diff)
        if body:
            fence = "`" * max(3, _longest_backticks(body) + 1)
            lines += [f"{fence}diff", body, fence, ""]
    else:
        lines += ["*Rendered diff cut to keep the note under GitLab's size limit.*", ""]
    lines.append("</details>")
    return "\n".join(lines) + "\n"


def _field_markdown(change: FieldChange, project_url: str | None, commit: str) -> str:
    where = _link(change.path, change.line, project_url, commit) if change.path else ""
    pointer = f"`{_code_text(change.pointer)}`"
    if change.hidden:
        what = {"add": "added", "remove": "removed"}.get(change.op, "changed") + " (value hidden)"
    elif change.op == "add":
        what = f"added: {_md_value(change.new)}"
    elif change.op == "remove":
        what = f"removed (was {_md_value(change.old)})"
    else:
        what = f"{_md_value(change.old)} → {_md_value(change.new)}"
    return f"{pointer} {what} {where}".rstrip()


def _link(path: str, line: int, project_url: str | None, commit: str) -> str:
    text = _cell(f"{path}:{line}")
    if project_url and commit:
        return f"([{text}]({project_url.rstrip('/')}/-/blob/{commit}/{quote(path)}#L{line}))"
    return f"({text})"


def _md_value(value) -> str:
    return f"`{_code_text(_short(value))}`"


def _code_text(text: str) -> str:
    """Text inside a one-backtick code span: backticks and line breaks cannot appear there."""
    return text.replace("`", "'").replace("\n", " ").replace("|", "\\|")


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell(text: str) -> str:
    from wavegate.report.markdown import escape

    return escape(text)


def _longest_backticks(text: str) -> int:
    return max((len(m) for m in re.findall(r"`+", text)), default=0)


def _md_summary(diff: Diff) -> str:
    summary = diff.summary()
    if not diff.has_changes:
        return f"nothing changes in {_plural(len(diff.applications), 'Application')}"
    apps = summary["applications"]
    changing = apps[ADDED] + apps[CHANGED] + apps[REMOVED]
    return f"{_plural(changing, 'Application')} change ({_counts(summary['objects'])})"


def _md_side(name: str, commit: str) -> str:
    return f"`{_code_text(name)}`" + (f" (`{commit[:8]}`)" if commit and not commit.startswith(name) else "")


# ---------------------------------------------------------------------------------------------

def _by_step(objects: list[ObjectChange]) -> list[tuple[str, list[ObjectChange]]]:
    groups: list[tuple[str, list[ObjectChange]]] = []
    for obj in objects:
        title = "Prune" if obj.status == REMOVED else f"{obj.phase} · wave {obj.wave}"
        if groups and groups[-1][0] == title:
            groups[-1][1].append(obj)
        else:
            groups.append((title, [obj]))
    return groups


def _field_text(change: FieldChange) -> str:
    where = f"  ({change.path}:{change.line})" if change.path else ""
    if change.hidden:
        verb = {"add": "added", "remove": "removed"}.get(change.op, "changed")
        return f"{change.pointer}: {verb} (value hidden){where}"
    if change.op == "add":
        return f"{change.pointer}: added {_short(change.new)}{where}"
    if change.op == "remove":
        return f"{change.pointer}: removed (was {_short(change.old)}){where}"
    return f"{change.pointer}: {_short(change.old)} -> {_short(change.new)}{where}"


def _short(value) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= VALUE_WIDTH else text[:VALUE_WIDTH - 1] + "…"


def _counts(counts: dict) -> str:
    return f"{counts[ADDED]} added, {counts[CHANGED]} changed, {counts[REMOVED]} removed"


def _side(name: str, commit: str) -> str:
    return f"{name} ({commit[:8]})" if commit and not commit.startswith(name) else name


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
