"""What an adoption produces and what stops it: shared by reading, deriving, writing and publishing."""

from __future__ import annotations

from pathlib import Path

from wavegate.record import field, record


class AdoptError(Exception):
    """Problems that stop an adoption; each line of `problems` is one thing to fix."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@record
class Adopted:
    """One adopted instance: where its repository went and what the first sync will change."""

    namespace: str
    name: str
    target: Path
    values: dict[str, str]
    files: list[Path] = field(default_factory=list)
    stripped: list[str] = field(default_factory=list)       # what was removed as server-owned
    added: list[str] = field(default_factory=list)          # metadata the first sync adds
    notes: list[str] = field(default_factory=list)          # kept live values that differ from the golden path


def describe(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind', '?')} {meta.get('namespace', '')}/{meta.get('name', '?')}".replace(" /", " ")


def summary(result: Adopted) -> str:
    lines = [f"adopted {result.namespace}/{result.name} -> {result.target} ({len(result.files)} files)"]
    lines += [f"  first sync adds {a}" for a in result.added]
    lines += [f"  note: {n}" for n in result.notes]
    return "\n".join(lines)
