"""``AIOAdminClient``: the asyncio admin client."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ferrokafka._native import (
    AclBinding,
    AclBindingFilter,
    AdminClient,
    DescribeClusterResult,
    KafkaError,
    ListConsumerGroupsResult,
    NewTopic,
    TopicDescription,
    TopicPartition,
    UserScramCredentialDeletion,
    UserScramCredentialsDescription,
    UserScramCredentialUpsertion,
)

if TYPE_CHECKING:
    from concurrent.futures import Future as ConcurrentFuture

    from ferrokafka._native import _GroupDescription

from ferrokafka.aio._loop import _AsyncClient, _running_loop, _wrong_loop
from ferrokafka.aio._tasks import _Tasks, _wrap_config_callbacks

_T = TypeVar("_T")


class AIOAdminClient(_AsyncClient):
    """An asyncio admin client over :class:`ferrokafka.AdminClient`: each method is a coroutine
    resolving to what the synchronous method's future resolves to (``asyncio.wrap_future``).
    ``error_cb`` runs on the loop (it may be a coroutine function). Cancelling an await does not
    cancel the request. Used off its loop (after it ended, say), every method but ``close()`` raises
    ``Error`` and sends nothing."""

    def __init__(self, conf: Mapping[str, object]) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._tasks = _Tasks(loop)
        config: dict[str, Any] = dict(conf)
        _wrap_config_callbacks(config, self._tasks, ("error_cb", "stats_cb"))
        self._native = AdminClient(config)

    @property
    def _admin(self) -> AdminClient:
        """The synchronous admin client, for a call from this client's loop (else ``Error``)."""
        if _running_loop() is not self._loop:
            raise _wrong_loop(self, self._loop)
        return self._native

    @staticmethod
    async def _result(future: ConcurrentFuture[_T]) -> _T:
        return await asyncio.wrap_future(future)

    async def create_topics(self, topics: list[NewTopic], *, operation_timeout: float | None = None) -> None:
        await self._result(self._admin.create_topics(topics, operation_timeout=operation_timeout))

    async def delete_topics(self, names: list[str], *, operation_timeout: float | None = None) -> None:
        await self._result(self._admin.delete_topics(names, operation_timeout=operation_timeout))

    async def create_partitions(
        self, topic: str, new_total_count: int, *, operation_timeout: float | None = None
    ) -> None:
        await self._result(self._admin.create_partitions(topic, new_total_count, operation_timeout=operation_timeout))

    async def describe_configs(
        self, resource_type: Literal["topic", "broker"], name: str, *, detailed: bool = False
    ) -> Any:
        """{name: value}, or with ``detailed=True`` {name: ConfigEntry} (see ``AdminClient``)."""
        if detailed:
            return await self._result(self._admin.describe_configs(resource_type, name, detailed=True))
        return await self._result(self._admin.describe_configs(resource_type, name))

    async def alter_configs(
        self, resource_type: Literal["topic", "broker"], name: str, config: Mapping[str, str | None]
    ) -> None:
        await self._result(self._admin.alter_configs(resource_type, name, config))

    async def list_groups(self) -> list[str]:
        return await self._result(self._admin.list_groups())

    async def describe_groups(self, group_ids: list[str]) -> dict[str, _GroupDescription]:
        return await self._result(self._admin.describe_groups(group_ids))

    async def delete_groups(self, group_ids: list[str]) -> None:
        await self._result(self._admin.delete_groups(group_ids))

    async def list_consumer_group_offsets(
        self, group_id: str, partitions: list[TopicPartition] | None = None
    ) -> list[TopicPartition]:
        return await self._result(self._admin.list_consumer_group_offsets(group_id, partitions))

    async def alter_consumer_group_offsets(self, group_id: str, offsets: list[TopicPartition]) -> None:
        await self._result(self._admin.alter_consumer_group_offsets(group_id, offsets))

    async def list_offsets(self, partitions: Any, spec: Any = None) -> Any:
        """See ``AdminClient.list_offsets``: a list of partitions and a spec, or confluent-kafka's
        dict {TopicPartition: OffsetSpec} (then {TopicPartition: ListOffsetsResultInfo})."""
        return await self._result(self._admin.list_offsets(partitions, spec))

    async def list_consumer_groups(
        self, *, states: Iterable[Any] | None = None, types: Iterable[Any] | None = None
    ) -> ListConsumerGroupsResult:
        return await self._result(self._admin.list_consumer_groups(states=states, types=types))

    async def describe_topics(
        self, topics: Any, *, include_authorized_operations: bool = False
    ) -> dict[str, TopicDescription]:
        return await self._result(
            self._admin.describe_topics(topics, include_authorized_operations=include_authorized_operations)
        )

    async def describe_cluster(self, *, include_authorized_operations: bool = False) -> DescribeClusterResult:
        return await self._result(
            self._admin.describe_cluster(include_authorized_operations=include_authorized_operations)
        )

    async def create_acls(self, acls: list[AclBinding]) -> None:
        await self._result(self._admin.create_acls(acls))

    async def describe_acls(self, acl_binding_filter: AclBindingFilter) -> list[AclBinding]:
        return await self._result(self._admin.describe_acls(acl_binding_filter))

    async def delete_acls(self, acl_binding_filters: list[AclBindingFilter]) -> list[list[AclBinding]]:
        return await self._result(self._admin.delete_acls(acl_binding_filters))

    async def describe_user_scram_credentials(
        self, users: list[str] | None = None
    ) -> dict[str, UserScramCredentialsDescription]:
        return await self._result(self._admin.describe_user_scram_credentials(users))

    async def alter_user_scram_credentials(
        self, alterations: Iterable[UserScramCredentialUpsertion | UserScramCredentialDeletion]
    ) -> None:
        await self._result(self._admin.alter_user_scram_credentials(alterations))

    async def elect_leaders(
        self, election_type: Any, partitions: list[TopicPartition] | None = None
    ) -> dict[TopicPartition, KafkaError | None]:
        return await self._result(self._admin.elect_leaders(election_type, partitions))

    def set_sasl_credentials(self, username: str, password: str) -> None:
        self._native.set_sasl_credentials(username, password)

    async def delete_records(self, offsets: list[TopicPartition]) -> None:
        await self._result(self._admin.delete_records(offsets))

    @property
    def closed(self) -> bool:
        return self._native.closed

    async def close(self) -> None:
        """Closes (does not wait: requests already made complete). Works on any loop."""
        self._native.close()
