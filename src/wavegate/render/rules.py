"""The rules of the render stage."""

from wavegate.rules import declare

_F = "render"

FAILED = declare(
    id="render-failed", family=_F, severity="error",
    title="A source fails to render",
    rationale="""Argo CD renders every source of an Application (kustomize build, helm template, jsonnet, or
    the files of a directory) before it compares or syncs anything. When that fails, the
    Application shows ComparisonError and nothing in it syncs, not even the parts that are fine.
    wavegate runs the same tools with the same arguments, so the error here is the one Argo CD
    would show, at the file the tool names.""")
NOT_RENDERED = declare(
    id="render-not-rendered", family=_F, severity="info",
    title="A source could not be rendered here",
    rationale="""Some sources need something this run cannot reach: a chart repository or OCI registry,
    another Git repository, or a config management plugin that runs only inside Argo CD. wavegate
    says so instead of guessing; everything else in the repository is still checked.""")
SKIPPED = declare(
    id="render-file-skipped", family=_F, severity="warning",
    title="Argo CD silently skips a file that was probably meant as a manifest",
    rationale="""In a directory source, a YAML file whose first document has no `kind` (or is not a mapping)
    cannot be decoded. Argo CD then fails the render only when the file contains all of
    `apiVersion:`, `kind:` and `metadata:`; otherwise it skips the whole file without a word, so the
    object it was meant to hold is never applied. A file with some of those fields was most likely
    meant as a manifest.""")
VALUE_UNKNOWN = declare(
    id="backstage-value-unknown", family="backstage", severity="info",
    title="A skeleton placeholder reads a value only Backstage knows",
    rationale="""wavegate renders a Backstage Template's skeleton with the parameters' defaults (else their
    first example or enum value) and validates what it becomes. A value that is not known before
    the template runs (a parameter without a default, another step's output, the user) is left
    out: the lines that use it are not judged, and this finding says which value and where it is
    first used. Give the parameter a default or an example to have those lines checked too.""")
