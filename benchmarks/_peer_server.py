"""One local server for every client in bench_peers.py, run in its own process: each path
answers the shape the SDK that posts there expects (the fields its parser reads), from a
fixed body, after reading the whole request body as a real server must.

    POST <our create path>    202, a wan2.2 task (ours; the same answer as _server.py)
    POST /fal-ai/wan-i2v      200, a fal queue submission (request id and its three URLs)
    POST /v1/predictions      201, a Replicate prediction ("starting")
    POST /v1/chat/completions 200, an OpenAI chat completion
    POST /v1/files            200, an OpenAI file object
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn
from _server import TASK  # the same task as the other benchmarks' server

CREATED = 1764806400  # 2025-12-04, a fixed clock: every answer is the same bytes
FAL = {
    "request_id": "764cabcf-b745-4b3e-ae38-1200304cf45b",
    "response_url": "http://127.0.0.1/fal-ai/wan-i2v/requests/764cabcf",
    "status_url": "http://127.0.0.1/fal-ai/wan-i2v/requests/764cabcf/status",
    "cancel_url": "http://127.0.0.1/fal-ai/wan-i2v/requests/764cabcf/cancel",
}
REPLICATE = {
    "id": "gm3qorzdhgbfurvjtvhg6dckhu",
    "model": "wan-video/wan-2.2-i2v-fast",
    "version": "5be8b80ffe74f3d3a731693ddd98e7ee94100a0f4ae704bd58e93565977670f9",
    "status": "starting",
    "input": {},
    "output": None,
    "logs": "",
    "error": None,
    "metrics": {},
    "created_at": "2025-12-04T00:00:00.000Z",
    "urls": {
        "get": "http://127.0.0.1/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu",
        "cancel": "http://127.0.0.1/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu/cancel",
    },
}
CHAT = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": CREATED,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "ok", "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11},
}
FILE = {
    "id": "file-bench",
    "object": "file",
    "bytes": 9724949,
    "created_at": CREATED,
    "filename": "large.png",
    "purpose": "vision",
    "status": "processed",
}


def _answer(status: int, body: dict[str, Any] | bytes) -> tuple[int, bytes, list[Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    return status, data, headers


def routes(create_path: str) -> dict[str, tuple[int, bytes, list[Any]]]:
    return {
        create_path: _answer(202, TASK),
        "/fal-ai/wan-i2v": _answer(200, FAL),
        "/v1/predictions": _answer(201, REPLICATE),
        "/v1/chat/completions": _answer(200, CHAT),
        "/v1/files": _answer(200, FILE),
    }


def make_app(create_path: str) -> Any:
    table = routes(create_path)
    missing = _answer(404, {"error": "no such path in the benchmark server"})

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
        status, body, headers = table.get(scope["path"], missing)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


if __name__ == "__main__":
    port, create_path = int(sys.argv[1]), sys.argv[2]
    uvicorn.run(
        make_app(create_path),
        host="127.0.0.1",
        port=port,
        log_level="error",
        access_log=False,
        lifespan="off",
    )
