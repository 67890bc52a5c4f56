"""wan_i2v: the Python client for MuleRouter's Wan2.2 image-to-video API (wan2.2-i2v-plus).

with wan_i2v.Client() as client:          # key from MULEROUTER_API_KEY
    path = client.generate(image="cat.png", prompt="The cat turns its head")
"""

import typing as _typing

from ._client import Client
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    ContentTooLargeError,
    CreateOutcomeUnknownError,
    DownloadError,
    InternalServerError,
    LockedError,
    MethodNotAllowedError,
    NotFoundError,
    OutputExistsError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    TaskFailedError,
    TaskIncompleteError,
    UnavailableForLegalReasonsError,
    UnprocessableEntityError,
    UnsupportedMediaTypeError,
    ValidationError,
    WaitTimeoutError,
    WanI2VError,
)
from ._images import ImageInput
from ._request import CreateFields, Resolution
from ._task import Phase, Task, TaskError
from ._version import __version__

if _typing.TYPE_CHECKING:
    from ._async_client import AsyncClient


def __getattr__(name: str) -> _typing.Any:
    # AsyncClient is loaded on first use: it needs asyncio, which costs ~50 ms of start-up
    # that sync users should not pay (benchmarks/RESULTS.md, start-up).
    if name == "AsyncClient":
        from ._async_client import AsyncClient

        return AsyncClient
    raise AttributeError(f"module 'wan_i2v' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConfigurationError",
    "ConflictError",
    "ContentTooLargeError",
    "CreateFields",
    "CreateOutcomeUnknownError",
    "DownloadError",
    "ImageInput",
    "InternalServerError",
    "LockedError",
    "MethodNotAllowedError",
    "NotFoundError",
    "OutputExistsError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "Phase",
    "RateLimitError",
    "Resolution",
    "Task",
    "TaskError",
    "TaskFailedError",
    "TaskIncompleteError",
    "UnavailableForLegalReasonsError",
    "UnprocessableEntityError",
    "UnsupportedMediaTypeError",
    "ValidationError",
    "WaitTimeoutError",
    "WanI2VError",
    "__version__",
]
