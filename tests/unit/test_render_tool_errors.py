"""A tool's error, as a finding says it: the same text in every run of the same files."""

from __future__ import annotations

import pytest

from wavegate.render.stage import _first_lines

KUSTOMIZE_MERGE = ('Error: merging from generator &{0x1f94d4b5c4e0 0x1f94d4390a80}: id resid.ResId{Gvk:resid.Gvk'
                   '{Group:"", Version:"v1", Kind:"ConfigMap", isClusterScoped:false}, Name:"settings", '
                   'Namespace:""} does not exist; cannot merge or replace')


def test_the_addresses_of_go_pointers_are_left_out():
    shown = _first_lines(KUSTOMIZE_MERGE)
    assert shown.startswith("Error: merging from generator: id resid.ResId{")
    assert "0x" not in shown
    assert _first_lines(KUSTOMIZE_MERGE.replace("0x1f94d4b5c4e0 0x1f94d4390a80", "0x3027d51ed110 0x3027d5290500")) \
        == shown


@pytest.mark.parametrize("text", [
    "values.yaml: port 0x1F is not valid",  # a value someone wrote: short, kept
    "image digest sha256:0123456789abcdef0123 not found",  # no 0x: kept
])
def test_other_hexadecimal_text_is_kept(text):
    assert _first_lines(text) == text


def test_a_bare_pointer_address_is_left_out():
    assert _first_lines("panic in walker 0xc000123456ab: nil map") == "panic in walker: nil map"


def test_the_first_three_lines_are_shown():
    assert _first_lines("a\n\n b \nc\nd\n") == "a; b; c ..."
