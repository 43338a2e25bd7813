# The C extension's interface (_native_loader.c), for type checkers; wavegate.load_native calls it.
from collections.abc import Callable

def parse(text: str, resolve_value: Callable[[str], object], resolve_key: Callable[[str], str],
          values: dict, keys: dict, resolved_first: str, max_depth: int,
          max_nodes: int) -> list[tuple[int, dict, bytes]] | None: ...
def libyaml_version() -> tuple[int, int, int]: ...
