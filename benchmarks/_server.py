"""A minimal, fast stand-in for the API, run in its own process: 202 with a task for the
create, 200 with a task for the get. Both clients under test talk to the same one."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

TASK = json.dumps(
    {
        "task_info": {
            "id": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
            "status": "pending",
            "created_at": "2023-11-07T05:31:56Z",
            "updated_at": "2023-11-07T05:31:56Z",
        }
    }
).encode()
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(TASK)).encode())]


async def app(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
    send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:  # read the whole body, as a real server must
        message = await receive()
        more = message.get("more_body", False)
    status = 202 if scope["method"] == "POST" else 200
    await send({"type": "http.response.start", "status": status, "headers": HEADERS})
    await send({"type": "http.response.body", "body": TASK})


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="error",
        access_log=False,
        lifespan="off",
    )
