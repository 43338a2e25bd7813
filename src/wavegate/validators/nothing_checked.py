"""A repository in which wavegate found nothing it could read as a manifest: say so, rather than
"No findings", which reads as "all good"."""

from __future__ import annotations

from collections.abc import Iterable

from wavegate.findings import Finding
from wavegate.load import Repo
from wavegate.rules import declare
from wavegate.validators import Context

NOTHING_CHECKED = declare(
    id="nothing-checked", family="wavegate", severity="warning",
    title="No file could be read as a manifest, so nothing was checked",
    rationale="""A path with no manifest wavegate can read (a typo in the path, an `exclude:` that excludes
    everything, a folder of files in a format wavegate does not read) passes with no findings,
    which looks exactly like a clean repository. The warning tells the two apart.""")


def check(repo: Repo, ctx: Context) -> Iterable[Finding]:
    if repo.manifests or repo.untyped:
        return
    read = len(repo.files)
    yield NOTHING_CHECKED.at_file(
        ".", message=f"nothing was checked: no file here holds a manifest wavegate could read "
                     f"({read} YAML file{'' if read == 1 else 's'} read)",
        hint="Point wavegate at the repository's root, or check `exclude:` in .wavegate.yaml; "
             "it reads manifests from .yaml and .yml files.")
