"""The render stage: a repository read as Argo CD reads it (DESIGN.md invariant 1b).

Each Application renders its sources with the tool Argo CD would pick (wavegate.render.sourcetype)
into a sync set of objects that know the file and line a person edits (wavegate.render.provenance).
Whatever no Application here renders is read as Argo CD would read it if one pointed there: each
kustomization that no other uses, each chart, else each directory of manifests. In a repository
with Applications those roots are checked object by object but never ordered against anything; in
one without, each root is a sync of its own.

Only this package runs kustomize, helm and jsonnet. It never writes in the repository: tools run
in a hard-link mirror of it (wavegate.render.workspace). `wavegate.render.stage.render` is the
entry point; the pipeline (wavegate.pipeline) calls it.
"""
