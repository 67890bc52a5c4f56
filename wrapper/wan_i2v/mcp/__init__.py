"""``wan-i2v mcp``: an MCP server, so agents can make videos without paying twice.

Six tools (``check_video_request``, ``create_video_task``, ``get_video_task``,
``wait_for_video_task``, ``download_video``, ``list_video_tasks``) over stdio. Every paid call
is idempotent by the agent's own key, kept in the batch command's journal design (a table of
its own), so a retry, a lost answer or a restart never pays twice. Needs the ``mcp`` extra:
``pip install "wan-i2v[mcp]"``.
"""

from ._server import ServerOptions, build_server, run, serve_stdio

__all__ = ["ServerOptions", "build_server", "run", "serve_stdio"]
