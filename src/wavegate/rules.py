"""The rule catalog: every rule is declared once, here or in the module that checks it.

A declaration carries everything `wavegate rules`, `wavegate explain` and the docs print: an id,
a default severity, a one-line title, why it matters, and a bad and a good example. Checks
create findings through their rule, so a finding can never name a rule that does not exist.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wavegate.findings import Finding, ResourceRef, Severity

if TYPE_CHECKING:
    from wavegate.load import Manifest

REGISTRY: dict[str, "Rule"] = {}


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str
    rationale: str
    bad: str
    good: str
    family: str
    # False for rules a repository must not switch off or soften in its own .wavegate.yaml
    # (the security policies it is held to).
    configurable: bool = True

    def at(self, manifest: "Manifest", path: tuple = (), message: str = "", hint: str = "",
           *, key: bool = True) -> Finding:
        """A finding about `manifest`, at the line of `path` (a tuple of keys and list indexes).

        When `path` does not exist in the document (a missing field), the finding points at the
        nearest ancestor that does, which is where a person would add it. For a rendered object the
        line may be in another file than the object's (a patch, a values file): `location` says.
        """
        file, line, column = manifest.location(path, key=key)
        app = getattr(manifest, "app", None)
        return Finding(
            rule=self.id,
            severity=self.severity,
            message=message or self.title,
            path=file,
            line=line,
            column=column,
            resource=manifest.ref,
            hint=hint,
            field=format_path(path),
            application=app.name if app is not None else None,
        )

    def at_file(self, path: str, line: int = 1, column: int = 1, message: str = "", hint: str = "",
                resource: ResourceRef | None = None, field: str = "") -> Finding:
        return Finding(rule=self.id, severity=self.severity, message=message or self.title, path=path,
                       line=line, column=column, resource=resource, hint=hint, field=field)


def declare(id: str, severity: str, title: str, rationale: str, bad: str, good: str, family: str,
            configurable: bool = True) -> Rule:
    if id in REGISTRY:
        raise RuntimeError(f"rule {id} declared twice")
    rule = Rule(id=id, severity=Severity.parse(severity), title=title, rationale=rationale.strip(),
                bad=bad.strip("\n"), good=good.strip("\n"), family=family, configurable=configurable)
    REGISTRY[id] = rule
    return rule


def format_path(path: tuple) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def all_rules() -> list[Rule]:
    """Every declared rule, with every module that declares rules imported first."""
    import wavegate.argocd.appset  # noqa: F401  (declares the ApplicationSet rules)
    import wavegate.dryrun.run  # noqa: F401  (declares the dry-run rules)
    import wavegate.load  # noqa: F401  (declares the YAML rules)
    import wavegate.render.rules  # noqa: F401  (declares the render rules)
    import wavegate.validators

    for module in pkgutil.iter_modules(wavegate.validators.__path__):
        importlib.import_module(f"wavegate.validators.{module.name}")
    return sorted(REGISTRY.values(), key=lambda r: (r.family, r.id))
