import pytest

from tests.helpers import require_native_loader


@pytest.fixture(params=["native", "python"])
def both_loaders(request, monkeypatch):
    """Runs a test once with the native loader (wavegate._native_loader) reading what it can, and
    once with the Python path reading everything: the two must give the same answers
    (tests.helpers.require_native_loader: without a built native loader its half is skipped with
    the reason, except in CI, where it fails)."""
    from wavegate import load_native

    if request.param == "native":
        require_native_loader()
    monkeypatch.setattr(load_native, "AVAILABLE", request.param == "native")
    return request.param
