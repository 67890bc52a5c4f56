"""One client under test in bench_peers.py, run by the interpreter of its own venv (ours, or
a peer SDK's with httpx 0.28.1 beside it for the baseline). Standard library, httpx and the
SDK only: it must run where wan_i2v is not installed.

    python _peer_worker.py SDK URL CREATE_PATH overhead CALLS
        reads "round N" lines; for each, times CALLS creates with the SDK and CALLS raw
        httpx.Client.post calls of the same request (which side first alternates with N)
        over kept-alive connections, and prints {"sdk": s_per_call, "raw": s_per_call}.
    python _peer_worker.py SDK URL CREATE_PATH memory IMAGE WAY
        one create sending IMAGE inline the SDK's way (WAY), after a warm-up one; prints
        the tracemalloc peak in bytes.

fal-client has no base-URL setting: its hosts are module constants (``QUEUE_URL_FORMAT`` and
the rest, all https://), so they are pointed at the local server here, in fal's own venv.
"""

from __future__ import annotations

import base64
import json
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

KEY = "bench-key"
IMAGE = "https://example.com/flower.jpg"
PROMPT = "Flowers swaying in the wind"
FAL_APP = "fal-ai/wan-i2v"
REPLICATE_VERSION = "5be8b80ffe74f3d3a731693ddd98e7ee94100a0f4ae704bd58e93565977670f9"
OPENAI_MODEL = "gpt-4o-mini"

# What each client's create is, and what raw httpx sends in its place: the same path, the
# same JSON, read back as JSON (a caller needs the id). `file` ways send the image inline.
Side = Callable[[], Any]


def _chat(image_url: str) -> list[dict[str, Any]]:
    return [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": PROMPT},
                {"type": "image_url", "image_url": {"url": image_url}},
            ],
        }
    ]


def _data_uri(path: str) -> str:
    # What a caller of an SDK without a file helper writes (OpenAI's own vision examples).
    with open(path, "rb") as f:
        return "data:image/png;base64," + base64.b64encode(f.read()).decode()


def setup(
    sdk: str, url: str, create_path: str
) -> tuple[Side, Side, dict[str, Callable[[str], Any]]]:
    """The SDK's create with a URL image, raw httpx's same request, and the file ways."""
    if sdk == "wan_i2v":
        import wan_i2v

        client = wan_i2v.Client(base_url=url, api_key=KEY)
        body: dict[str, Any] = {
            "prompt": PROMPT,
            "image": IMAGE,
            "resolution": "1080P",
            "duration": 5,
            "prompt_extend": True,
        }
        raw = _raw(url, {"Authorization": f"Bearer {KEY}"}, create_path, body)
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"})

        def naive(path: str) -> Any:
            # bench_large_image's baseline, line for line: read, base64, json.dumps, post.
            with open(path, "rb") as f:
                data = f.read()
            image = "data:image/png;base64," + base64.b64encode(data).decode()
            headers = {"content-type": "application/json"}
            text = json.dumps({"prompt": "p", "image": image})
            return http.post(create_path, content=text, headers=headers).json()

        return (
            lambda: client.create(image=IMAGE, prompt=PROMPT),
            raw,
            {
                "path": lambda path: client.create(image=path, prompt="p"),
                "naive": naive,
            },
        )
    if sdk == "fal_client":
        import fal_client
        import fal_client.client as fal_module

        # Its hosts are constants read at call time: the local server takes their place.
        fal_module.RUN_URL_FORMAT = fal_module.QUEUE_URL_FORMAT = url + "/"
        fal_module.REST_URL = fal_module.CDN_URL = url
        client = fal_client.SyncClient(key=KEY)
        arguments = {"prompt": PROMPT, "image_url": IMAGE, "resolution": "1080p"}
        raw = _raw(url, {"Authorization": f"Key {KEY}"}, "/" + FAL_APP, arguments)
        return (
            lambda: client.submit(FAL_APP, arguments),
            raw,
            {
                "encode_file": lambda path: client.submit(
                    FAL_APP, {"prompt": "p", "image_url": fal_client.encode_file(path)}
                )
            },
        )
    if sdk == "replicate":
        import replicate

        client = replicate.Client(api_token=KEY, base_url=url)
        inputs = {"prompt": PROMPT, "image": IMAGE}
        raw = _raw(
            url,
            {"Authorization": f"Bearer {KEY}"},
            "/v1/predictions",
            {"version": REPLICATE_VERSION, "input": inputs},
        )
        return (
            lambda: client.predictions.create(version=REPLICATE_VERSION, input=inputs),
            raw,
            {
                # A file in the input, sent as a data URI instead of uploaded first.
                "base64": lambda path: client.predictions.create(
                    version=REPLICATE_VERSION,
                    input={"prompt": "p", "image": Path(path)},
                    file_encoding_strategy="base64",
                )
            },
        )
    if sdk == "openai":
        import openai

        client = openai.OpenAI(api_key=KEY, base_url=url + "/v1")
        messages = _chat(IMAGE)
        raw = _raw(
            url,
            {"Authorization": f"Bearer {KEY}"},
            "/v1/chat/completions",
            {"model": OPENAI_MODEL, "messages": messages},
        )
        return (
            lambda: client.chat.completions.create(model=OPENAI_MODEL, messages=messages),
            raw,
            {
                "chat_base64": lambda path: client.chat.completions.create(
                    model=OPENAI_MODEL, messages=_chat(_data_uri(path))
                ),
                "file_upload": lambda path: client.files.create(file=Path(path), purpose="vision"),
            },
        )
    raise SystemExit(f"unknown SDK {sdk!r}")


def _raw(url: str, headers: dict[str, str], path: str, body: dict[str, Any]) -> Side:
    http = httpx.Client(base_url=url, headers=headers)
    return lambda: http.post(path, json=body).json()


def _per_call(side: Side, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        side()
    return (time.perf_counter() - started) / calls


def overhead(sdk: str, url: str, create_path: str, calls: int) -> None:
    create, raw, _ = setup(sdk, url, create_path)
    _per_call(create, calls), _per_call(raw, calls)  # warm both connections and code paths
    print("ready", flush=True)
    for line in sys.stdin:
        command, _, number = line.partition(" ")
        if command != "round":
            break
        pair = [("sdk", create), ("raw", raw)]
        result = {name: _per_call(side, calls) for name, side in pair[:: 1 - 2 * (int(number) % 2)]}
        print(json.dumps(result), flush=True)


def memory(sdk: str, url: str, create_path: str, image: str, way: str) -> None:
    _, _, ways = setup(sdk, url, create_path)
    send = ways[way]
    send(image)  # warm: imports and connections are not what is measured
    tracemalloc.start()
    send(image)
    print(tracemalloc.get_traced_memory()[1], flush=True)


def main() -> None:
    warnings.simplefilter("ignore")  # a peer's deprecation notice is not a result
    sdk, url, create_path, mode, *rest = sys.argv[1:]
    if mode == "overhead":
        overhead(sdk, url, create_path, int(rest[0]))
    else:
        memory(sdk, url, create_path, rest[0], rest[1])


if __name__ == "__main__":
    main()
