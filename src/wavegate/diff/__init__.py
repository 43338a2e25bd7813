"""`wavegate diff`: every Application rendered at two revisions and compared, in Argo CD's sync
order (wavegate.diff.compare), with Secrets' values hidden and each Application's
ignoreDifferences honoured (wavegate.diff.normalize); as text, JSON and the merge-request note's
markdown with a Mermaid diagram of the sync order (wavegate.diff.output, wavegate.diff.mermaid).
Both revisions come through the one pipeline (wavegate.diff.revisions)."""
