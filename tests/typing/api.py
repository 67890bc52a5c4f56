"""The public API as a user writes it; checked by `mypy --strict` (nox -s typecheck), not run."""

from __future__ import annotations

import asyncio
from pathlib import Path

import wan_i2v


def sync_usage() -> Path:
    with wan_i2v.Client(api_key="k", site="mulerun", timeout=30, max_retries=2) as client:
        task: wan_i2v.Task = client.create(
            image=Path("in.png"), prompt="p", resolution="480P", seed=1, extra_body={"a": 1}
        )
        done = client.wait(task, timeout=60, on_status=lambda t: print(t.status))
        assert done.is_success
        assert done.phase is wan_i2v.Phase.SUCCEEDED
        error: wan_i2v.TaskError | None = done.error
        print(error)
        return client.download(done, "out.mp4", overwrite=True)


async def async_usage() -> Path:
    async with wan_i2v.AsyncClient() as client:
        try:
            return await client.generate(
                image=b"...", prompt="p", output="o.mp4", on_created=lambda t: print(t.id)
            )
        except wan_i2v.TaskFailedError as exc:
            print(exc.code, exc.title, exc.detail)
            raise
        except wan_i2v.RateLimitError as exc:
            print(exc.retry_after, exc.status_code, exc.request_id)
            raise


def resolution_is_a_literal(client: wan_i2v.Client) -> None:
    # mypy --strict warns about an unused ignore: if "720P" stopped being an error (the
    # generated Literal lost), this line would fail the type check.
    client.create(image="a.png", prompt="p", resolution="720P")  # type: ignore[arg-type]


if __name__ == "__main__":
    asyncio.run(async_usage())
