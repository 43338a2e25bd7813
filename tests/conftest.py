import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def pytest_configure(config):
    """wavegate's cache (.wavegate_cache in the repository checked) goes to a folder of the test
    session instead, so no test writes into the fixtures or the examples."""
    import os
    import tempfile

    os.environ.setdefault("WAVEGATE_CACHE_DIR", tempfile.mkdtemp(prefix="wavegate-test-cache-"))
