"""Argo CD semantics: the model (vocabulary, sync order) and Applications."""
