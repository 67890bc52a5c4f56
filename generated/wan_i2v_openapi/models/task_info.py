from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.task_error import TaskError


T = TypeVar("T", bound="TaskInfo")


@_attrs_define
class TaskInfo:
    """
    Attributes:
        id (UUID):
        status (str): Any word (D9). Known: `pending`, `processing`, `completed`, `failed` (per-model pages,
            webhooks); `queued`, `running`, `succeeded`, `failed` (async-tasks page); `retrying`.
            An unknown word means "not finished, unknown" and must never crash a client.
        created_at (datetime.datetime):
        updated_at (datetime.datetime):
        error (TaskError | Unset): Why a task failed. Codes 3001-3005: the upstream model provider failed; 4002 and
            4008:
            MuleRouter-side errors. One page names the code `error_code`: clients accept both (D10).
    """

    id: UUID
    status: str
    created_at: datetime.datetime
    updated_at: datetime.datetime
    error: TaskError | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        status = self.status

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        error: dict[str, Any] | Unset = UNSET
        if not isinstance(self.error, Unset):
            error = self.error.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "status": status,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )
        if error is not UNSET:
            field_dict["error"] = error

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.task_error import TaskError

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        status = d.pop("status")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        _error = d.pop("error", UNSET)
        error: TaskError | Unset
        if isinstance(_error, Unset):
            error = UNSET
        else:
            error = TaskError.from_dict(_error)

        task_info = cls(
            id=id,
            status=status,
            created_at=created_at,
            updated_at=updated_at,
            error=error,
        )

        task_info.additional_properties = d
        return task_info

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
