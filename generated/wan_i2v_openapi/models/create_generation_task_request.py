from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.create_generation_task_request_resolution import (
    CreateGenerationTaskRequestResolution,
    check_create_generation_task_request_resolution,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="CreateGenerationTaskRequest")


@_attrs_define
class CreateGenerationTaskRequest:
    """Unknown fields are allowed (D6): the API grows fields before its page lists them (as it
    did with `safety_filter`, D3), and clients send them through an escape hatch.

        Attributes:
            prompt (str): Motion/story description (max 800 characters, counted as code points, D5).
            image (str): First-frame image: a public URL or Base64 data as a data URI `data:<mime>;base64,<data>` (D7).
                Formats JPEG/JPG/PNG (no transparency)/BMP/WEBP; width and height each in [360, 2000] pixels; at most 10 MB
                (D4).
            last_frame (str | Unset): Optional last-frame image, same forms and requirements as `image` (D2: from the page's
                example and its "Optional first and last frame specification").
            negative_prompt (str | Unset): Negative prompt describing unwanted content (max 500 characters).
            resolution (CreateGenerationTaskRequestResolution | Unset): Output resolution tier (D1: `720P` is not one of
                them). Default: '1080P'.
            duration (Literal[5] | Unset): Video duration in seconds (30 fps). Fixed at 5 seconds.
            prompt_extend (bool | Unset): Enable intelligent prompt rewriting. Default: True.
            seed (int | Unset): Random seed [0, 2147483647].
            safety_filter (bool | Unset): Content safety filtering (D3). The current version of the page shows
                `"safety_filter": true` in its request; it documents no default, so a client sends it only when the caller gives
                it.
    """

    prompt: str
    image: str
    last_frame: str | Unset = UNSET
    negative_prompt: str | Unset = UNSET
    resolution: CreateGenerationTaskRequestResolution | Unset = "1080P"
    duration: Literal[5] | Unset = UNSET
    prompt_extend: bool | Unset = True
    seed: int | Unset = UNSET
    safety_filter: bool | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        prompt = self.prompt

        image = self.image

        last_frame = self.last_frame

        negative_prompt = self.negative_prompt

        resolution: str | Unset = UNSET
        if not isinstance(self.resolution, Unset):
            resolution = self.resolution

        duration = self.duration

        prompt_extend = self.prompt_extend

        seed = self.seed

        safety_filter = self.safety_filter

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "prompt": prompt,
                "image": image,
            }
        )
        if last_frame is not UNSET:
            field_dict["last_frame"] = last_frame
        if negative_prompt is not UNSET:
            field_dict["negative_prompt"] = negative_prompt
        if resolution is not UNSET:
            field_dict["resolution"] = resolution
        if duration is not UNSET:
            field_dict["duration"] = duration
        if prompt_extend is not UNSET:
            field_dict["prompt_extend"] = prompt_extend
        if seed is not UNSET:
            field_dict["seed"] = seed
        if safety_filter is not UNSET:
            field_dict["safety_filter"] = safety_filter

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        prompt = d.pop("prompt")

        image = d.pop("image")

        last_frame = d.pop("last_frame", UNSET)

        negative_prompt = d.pop("negative_prompt", UNSET)

        _resolution = d.pop("resolution", UNSET)
        resolution: CreateGenerationTaskRequestResolution | Unset
        if isinstance(_resolution, Unset):
            resolution = UNSET
        else:
            resolution = check_create_generation_task_request_resolution(_resolution)

        duration = cast(Literal[5] | Unset, d.pop("duration", UNSET))
        if duration != 5 and not isinstance(duration, Unset):
            raise ValueError(f"duration must match const 5, got '{duration}'")

        prompt_extend = d.pop("prompt_extend", UNSET)

        seed = d.pop("seed", UNSET)

        safety_filter = d.pop("safety_filter", UNSET)

        create_generation_task_request = cls(
            prompt=prompt,
            image=image,
            last_frame=last_frame,
            negative_prompt=negative_prompt,
            resolution=resolution,
            duration=duration,
            prompt_extend=prompt_extend,
            seed=seed,
            safety_filter=safety_filter,
        )

        create_generation_task_request.additional_properties = d
        return create_generation_task_request

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
