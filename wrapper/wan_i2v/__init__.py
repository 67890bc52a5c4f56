"""wan_i2v: the Python client for MuleRouter's Wan2.2 image-to-video API (wan2.2-i2v-plus).

with wan_i2v.Client() as client:          # key from MULEROUTER_API_KEY
    path = client.generate(image="cat.png", prompt="The cat turns its head")
"""

import typing as _typing

from ._version import __version__

if _typing.TYPE_CHECKING:
    from ._async_client import AsyncClient
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

# Where each public name lives. Nothing but this table loads at `import wan_i2v`: a module
# loads on the first use of a name from it, so a program that imports the package without
# making a client (the pytest plugin, loaded by every pytest run where the testing extra is
# installed; `wan-i2v --help`) pays neither our modules nor httpx (benchmarks/README.md,
# start-up). `Client()` still loads what a client needs; AsyncClient adds asyncio.
_HOMES: dict[str, str] = {
    "AsyncClient": "_async_client",
    "Client": "_client",
    **dict.fromkeys(
        (
            "APIConnectionError",
            "APIError",
            "APIResponseValidationError",
            "APIStatusError",
            "APITimeoutError",
            "AuthenticationError",
            "BadRequestError",
            "ConfigurationError",
            "ConflictError",
            "ContentTooLargeError",
            "CreateOutcomeUnknownError",
            "DownloadError",
            "InternalServerError",
            "LockedError",
            "MethodNotAllowedError",
            "NotFoundError",
            "OutputExistsError",
            "PaymentRequiredError",
            "PermissionDeniedError",
            "RateLimitError",
            "TaskFailedError",
            "TaskIncompleteError",
            "UnavailableForLegalReasonsError",
            "UnprocessableEntityError",
            "UnsupportedMediaTypeError",
            "ValidationError",
            "WaitTimeoutError",
            "WanI2VError",
        ),
        "_errors",
    ),
    "ImageInput": "_images",
    "CreateFields": "_request",
    "Resolution": "_request",
    "Phase": "_task",
    "Task": "_task",
    "TaskError": "_task",
}


def __getattr__(name: str) -> _typing.Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'wan_i2v' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


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
