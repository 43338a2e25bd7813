import pytest


@pytest.fixture(params=["native", "python"])
def both_loaders(request, monkeypatch):
    """Runs a test once with the native loader (wavegate._native_loader) reading what it can, and
    once with the Python path reading everything: the two must give the same answers. The native
    loader must be built (setup.py: a C compiler and libyaml's headers); a test never skips it."""
    from wavegate import load_native

    if request.param == "native":
        assert load_native.BUILT, ("the native loader is not built: install gcc, python3-dev and libyaml-dev, "
                                   "then `pip install -e .` again")
    monkeypatch.setattr(load_native, "AVAILABLE", request.param == "native")
    return request.param
