from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.task_info import TaskInfo


T = TypeVar("T", bound="TaskResponse")


@_attrs_define
class TaskResponse:
    """The envelope of the create (202) and get (200) responses.

    Attributes:
        task_info (TaskInfo):
        videos (list[str] | Unset): URLs of the MP4 results; present only when the task has succeeded. They expire
            (about 24 hours on sibling models' get-task pages): download promptly, or get the task again for fresh ones.
    """

    task_info: TaskInfo
    videos: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        task_info = self.task_info.to_dict()

        videos: list[str] | Unset = UNSET
        if not isinstance(self.videos, Unset):
            videos = self.videos

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "task_info": task_info,
            }
        )
        if videos is not UNSET:
            field_dict["videos"] = videos

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.task_info import TaskInfo

        d = dict(src_dict)
        task_info = TaskInfo.from_dict(d.pop("task_info"))

        videos = cast(list[str], d.pop("videos", UNSET))

        task_response = cls(
            task_info=task_info,
            videos=videos,
        )

        task_response.additional_properties = d
        return task_response

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
