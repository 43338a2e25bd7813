"""wavegate.regex.lazy_compile, and that no module compiles a pattern when it is imported."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import wavegate
from wavegate import regex
from wavegate.regex import lazy_compile


def test_a_lazy_pattern_is_compiled_by_its_first_use_and_acts_as_the_compiled_one(monkeypatch):
    compiled = []
    real = re.compile
    monkeypatch.setattr(regex.re, "compile", lambda *args: compiled.append(args) or real(*args))
    words = lazy_compile(r"(?P<word>[a-z]+)-(\d+)", re.IGNORECASE)
    assert compiled == []
    match = words.fullmatch("Web-12")
    assert match is not None and match.group("word") == "Web" and match.group(2) == "12"
    assert words.search("x web-1 y").span() == (2, 7)
    assert words.sub(r"\2", "a-1 b-2") == "1 2"
    assert words.findall("a-1 b-2") == [("a", "1"), ("b", "2")]
    assert [m.group(0) for m in words.finditer("a-1 b-2")] == ["a-1", "b-2"]
    assert words.pattern == r"(?P<word>[a-z]+)-(\d+)" and words.flags & re.IGNORECASE
    assert words.groupindex == {"word": 1}
    assert words.match("nothing") is None
    assert compiled == [(r"(?P<word>[a-z]+)-(\d+)", re.IGNORECASE)]
    assert "lazy_compile" in repr(words)


def test_bytes_patterns_too():
    entry = lazy_compile(rb"^- (\S+)$", re.MULTILINE)
    assert entry.findall(b"- a\n- b\n") == [b"a", b"b"]


def test_no_module_compiles_a_pattern_at_import():
    """A module-level re.compile costs every run that imports the module (wavegate.regex)."""
    found = []
    for path in Path(wavegate.__file__).parent.rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            for call in ast.walk(node) if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) else ():
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "compile"
                        and isinstance(call.func.value, ast.Name) and call.func.value.id == "re"):
                    found.append(f"{path.name}:{call.lineno}")
    assert found == [], "use wavegate.regex.lazy_compile for module-level patterns"
