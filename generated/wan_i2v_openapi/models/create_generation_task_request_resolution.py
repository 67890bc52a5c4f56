from typing import Literal

CreateGenerationTaskRequestResolution = Literal["1080P", "480P"]

CREATE_GENERATION_TASK_REQUEST_RESOLUTION_VALUES: set[CreateGenerationTaskRequestResolution] = {
    "1080P",
    "480P",
}


def check_create_generation_task_request_resolution(
    value: str,
) -> CreateGenerationTaskRequestResolution:
    if value in CREATE_GENERATION_TASK_REQUEST_RESOLUTION_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {CREATE_GENERATION_TASK_REQUEST_RESOLUTION_VALUES!r}"
    )
