# The C extension's interface (_native_tree.c), for type checkers; wavegate.cache.tree_state calls it.
from collections.abc import Sequence

def scan(top: str, skipped: str | None,
         not_inputs: Sequence[str]) -> list[tuple[str, bool, list[tuple[str, str, tuple[int, int, int], int]]]] | None: ...
