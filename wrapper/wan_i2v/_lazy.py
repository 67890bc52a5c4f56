"""The generated client, loaded on the first request rather than at ``import wan_i2v``.

The generated package imports attrs and its own client module: about a third of the
package's start-up, which a program that only builds a ``Client`` (or reads ``--help``) need
not pay. Each accessor imports once and is then a cached call (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from wan_i2v._generated.models.create_generation_task_request import (
        CreateGenerationTaskRequest,
    )
    from wan_i2v._generated.models.task_response import TaskResponse


class Endpoints(NamedTuple):
    """The generated request builders we use (``_get_kwargs`` of each endpoint, D14)."""

    create: Callable[..., dict[str, Any]]
    get: Callable[..., dict[str, Any]]


@functools.cache
def generated_endpoints() -> Endpoints:
    from wan_i2v._generated.api.generation import create_generation_task, get_generation_task

    return Endpoints(create_generation_task._get_kwargs, get_generation_task._get_kwargs)


@functools.cache
def generated_request_model() -> type[CreateGenerationTaskRequest]:
    from wan_i2v._generated.models.create_generation_task_request import (
        CreateGenerationTaskRequest,
    )

    return CreateGenerationTaskRequest


@functools.cache
def generated_task_model() -> type[TaskResponse]:
    from wan_i2v._generated.models.task_response import TaskResponse

    return TaskResponse
