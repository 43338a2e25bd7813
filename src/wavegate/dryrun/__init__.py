"""`wavegate dry-run`: the repository applied to a real API server in Argo CD's sync order."""
