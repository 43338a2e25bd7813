"""The native YAML loader (src/wavegate/_native_loader.c, on libyaml) and the native repository walk
(src/wavegate/_native_tree.c) are built when they can be.

Everything else is in pyproject.toml. Building the extension needs a C compiler and the headers of
Python and libyaml (Debian: gcc python3-dev libyaml-dev; macOS: Xcode's tools and `brew install
libyaml`). When any is missing, the install goes on without it and wavegate reads YAML with its
Python loader (the same results, slower); wavegate says so once when it runs (wavegate.load).
"""

import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

NOT_BUILT = {
    "wavegate._native_loader": "the native YAML loader was not built ({reason}); wavegate will read YAML with its "
                               "Python loader (same results, slower). To build it, install a C compiler and the "
                               "headers of Python and libyaml (Debian: apt-get install gcc python3-dev libyaml-dev) "
                               "and install wavegate again.",
    "wavegate._native_tree": "the native repository walk was not built ({reason}); wavegate's cache will look at "
                             "the repository's files in Python (same results, slower). To build it, install a C "
                             "compiler and Python's headers (Debian: apt-get install gcc python3-dev) and install "
                             "wavegate again.",
}


class OptionalBuildExt(build_ext):
    """build_ext that leaves the native loader out, with one message, when it cannot be compiled."""

    def run(self):
        try:
            super().run()
        except Exception as error:  # noqa: BLE001 - no compiler at all (PlatformError) or anything else
            for name in NOT_BUILT:
                self._not_built(name, error)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as error:  # noqa: BLE001 - missing headers or library: compile or link errors
            self._not_built(ext.name, error)

    @staticmethod
    def _not_built(name: str, error: Exception) -> None:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        print("wavegate: " + NOT_BUILT[name].format(reason=reason), file=sys.stderr)


setup(
    ext_modules=[Extension("wavegate._native_loader", ["src/wavegate/_native_loader.c"], libraries=["yaml"],
                           optional=True),
                 # The repository walk of a run answered from the cache (wavegate.cache.tree_state).
                 Extension("wavegate._native_tree", ["src/wavegate/_native_tree.c"], optional=True)],
    cmdclass={"build_ext": OptionalBuildExt},
)
