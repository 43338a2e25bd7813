"""The tool lookup, as the cluster providers import it (it lives in wavegate.tools)."""

from wavegate.tools import INSTALL_HINT, ToolNotFoundError, find_tool, tool_dirs

__all__ = ["INSTALL_HINT", "ToolNotFoundError", "find_tool", "tool_dirs"]
