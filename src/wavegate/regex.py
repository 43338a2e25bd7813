"""Regular expressions compiled when first used.

Most of wavegate's patterns serve inputs or commands a given run does not have: compiling all 88
of them when their modules were imported took about 12 ms of every run, and a run over 1,000
manifests used 13 of them. A module-level pattern is therefore written

    _NAME = lazy_compile(r"[a-z]+")

and behaves as the compiled pattern (`match`, `fullmatch`, `search`, `sub`, `pattern`, ...); it is
compiled by the first attribute asked for, and each attribute is then found directly (as fast as
on the compiled pattern). Patterns built inside functions use re.compile (re caches them).
"""

from __future__ import annotations

import re
from typing import Any, AnyStr, cast


class _Lazy:
    def __init__(self, pattern: Any, flags: int):
        self._source = (pattern, flags)

    def __getattr__(self, name: str):  # (only for what is not yet held: the first use of each attribute)
        compiled = self.__dict__.get("_compiled")
        if compiled is None:
            compiled = self._compiled = re.compile(*self._source)
        value = getattr(compiled, name)
        setattr(self, name, value)
        return value

    def __repr__(self) -> str:
        return f"lazy_compile({self._source[0]!r})"


def lazy_compile(pattern: AnyStr, flags: int = 0) -> re.Pattern[AnyStr]:
    """re.compile(pattern, flags), done when the pattern is first used."""
    return cast("re.Pattern[AnyStr]", _Lazy(pattern, flags))
