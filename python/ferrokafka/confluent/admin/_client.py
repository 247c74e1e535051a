"""confluent-kafka's ``AdminClient`` on ``ferrokafka.AdminClient``.

Each call checks its arguments as confluent-kafka does and returns what it returns: a dict of
``concurrent.futures.Future`` per resource (topic, group, ...) or one future. Each resource is
one request to ferrokafka's admin client (its future resolves on its own, no ``poll()`` needed),
so that each future gets its own outcome. ``request_timeout`` fails a future with ``_TIMED_OUT``
when the broker has not answered in time. The client callbacks (``error_cb``,
``throttle_cb``) are served by ``poll()``, as confluent-kafka's; ``stats_cb`` is accepted and never
called (ferrokafka's admin client emits no statistics).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, InvalidStateError
from typing import Any, Self

import ferrokafka as _fk

from .. import _config
from .._errors import KafkaError, KafkaException, call, kafka_error_of
from .._metadata import GroupMember, GroupMetadata, cluster_metadata
from .._model import (
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    ConsumerGroupType,
    ElectionType,
    IsolationLevel,
    Node,
    TopicCollection,
    TopicPartitionInfo,
    Uuid,
)
from .._producer import _Events, _file_error, _file_throttle, seconds
from .._topic_partition import TopicPartition, from_native, list_from_native, to_native
from ._enums import AclOperation, AlterConfigOpType, ConfigSource, ResourceType, ScramMechanism, from_name
from ._resources import (
    AclBinding,
    AclBindingFilter,
    ConfigEntry,
    ConfigResource,
    ConsumerGroupDescription,
    ConsumerGroupListing,
    DeletedRecords,
    DescribeClusterResult,
    ListConsumerGroupsResult,
    ListOffsetsResultInfo,
    MemberAssignment,
    MemberDescription,
    OffsetSpec,
    ScramCredentialInfo,
    TopicDescription,
    UserScramCredentialAlteration,
    UserScramCredentialDeletion,
    UserScramCredentialsDescription,
    UserScramCredentialUpsertion,
)
from ._types import NewPartitions, NewTopic, checked_assignment

_ADMIN_CALLBACKS = ("error_cb", "stats_cb", "throttle_cb", "oauth_cb", "logger")


def _closed() -> RuntimeError:
    return RuntimeError("AdminClient has been closed")


def _native_topic(topic: NewTopic) -> _fk.NewTopic:
    """ferrokafka's NewTopic of confluent-kafka's, its replica assignment checked as confluent-kafka
    checks it (``ValueError``)."""
    assignment = None
    if topic.replica_assignment is not None:
        if topic.replication_factor != -1:
            raise ValueError("replication_factor and replica_assignment are mutually exclusive")
        count = topic.num_partitions if topic.num_partitions != -1 else _size(topic.replica_assignment)
        assignment = checked_assignment(
            topic.replica_assignment, count, count, "num_partitions", default_count=topic.num_partitions == -1
        )
    return _fk.NewTopic(
        topic.topic,
        topic.num_partitions,
        topic.replication_factor,
        topic.config or None,
        replica_assignment=assignment,
    )


def _size(value: Any) -> int:
    return len(value) if isinstance(value, list) else -1


def _not_implemented(what: str) -> KafkaException:
    return KafkaException(KafkaError(KafkaError._NOT_IMPLEMENTED, f"{what} is not supported by ferrokafka"))


def _options(kwargs: dict[str, Any], allowed: Iterable[str]) -> dict[str, Any]:
    """confluent-kafka's option keywords, checked: unknown ones, wrong types, negative timeouts."""
    allowed = set(allowed)
    for key, value in kwargs.items():
        if key not in allowed:
            raise TypeError(f"Unexpected keyword argument {key!r}")
        if key in ("request_timeout", "operation_timeout"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"{key} must be a number, not {type(value).__name__}")
            if value < 0:
                raise ValueError(f"{key} must be >= 0")
        elif key in ("validate_only", "include_authorized_operations", "require_stable"):
            if not isinstance(value, bool):
                raise TypeError(f"{key} must be a bool, not {type(value).__name__}")
        elif key == "isolation_level":
            if not isinstance(value, IsolationLevel):
                raise TypeError("isolation_level must be an IsolationLevel")
    return kwargs


def _fail(future: Future[Any], error: BaseException) -> None:
    if isinstance(error, _fk.Error):
        error = KafkaException(kafka_error_of(error))
    try:
        future.set_exception(error)
    except InvalidStateError:
        pass


def _succeed(future: Future[Any], value: Any) -> None:
    try:
        future.set_result(value)
    except InvalidStateError:
        pass


def _new_future() -> Future[Any]:
    future: Future[Any] = Future()
    future.set_running_or_notify_cancel()
    return future


def _list_of(
    value: Any, what: str, kind: type | tuple[type, ...], *, item_error: type[Exception] = ValueError
) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"Expected list of {what}")
    if not value:
        raise ValueError(f"Expected non-empty list of {what}")
    for item in value:
        if not isinstance(item, kind):
            raise item_error(f"Expected list of {what}")
    return value


class AdminClient:
    """confluent-kafka's admin client: ``AdminClient(conf, **kwargs)``."""

    _native: _fk.AdminClient | None = None
    _events: _Events

    def __init__(self, conf: dict[str, Any] | None = None, **kwargs: Any) -> None:
        merged = _config.merge(() if conf is None else (conf,), kwargs, allow_empty=False)
        callbacks = _config.take_callbacks(merged, _ADMIN_CALLBACKS)
        events = _Events()
        self._events = events
        native_conf: dict[str, Any] = dict(merged)
        native_conf["error_cb"] = _config.Call(_file_error, events, callbacks.get("error_cb"))
        # ferrokafka's admin client emits no statistics: stats_cb is accepted and never called.
        if "throttle_cb" in callbacks:
            native_conf["throttle_cb"] = _config.Call(_file_throttle, events, callbacks["throttle_cb"])
        if "oauth_cb" in callbacks:
            native_conf["oauth_cb"] = _config.OAuthAdapter(callbacks["oauth_cb"])
        if "logger" in callbacks:
            native_conf["logger"] = _config.LogAdapter(
                callbacks["logger"], _config.client_name(merged, "admin"), sink=events.file
            )
        self._timers: set[threading.Timer] = set()
        self._lock = threading.Lock()
        self._native = call(_fk.AdminClient, native_conf)

    # --- plumbing ----------------------------------------------------------------------------

    def _open(self) -> _fk.AdminClient:
        native = self._native
        if native is None:
            raise _closed()
        return native

    def _deadline(self, futures: Iterable[Future[Any]], timeout: float | None) -> None:
        """Fails `futures` with ``_TIMED_OUT`` if they are not done within `timeout` seconds."""
        if timeout is None:
            return
        pending = list(futures)

        def expire() -> None:
            with self._lock:
                self._timers.discard(timer)
            for future in pending:
                _fail(
                    future,
                    KafkaException(
                        KafkaError(KafkaError._TIMED_OUT, "Failed while waiting for response: Local: Timed out")
                    ),
                )

        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        with self._lock:
            self._timers.add(timer)
        timer.start()

        def cancel(_: Future[Any]) -> None:
            if all(future.done() for future in pending):
                timer.cancel()
                with self._lock:
                    self._timers.discard(timer)

        for future in pending:
            future.add_done_callback(cancel)

    def _request(
        self, send: Callable[[], Future[Any]], convert: Callable[[Any], Any] = lambda value: value
    ) -> Future[Any]:
        """A future resolving to ``convert(result)`` of the native request `send()` makes."""
        future = _new_future()
        try:
            native_future = send()
        except _fk.Error as error:
            _fail(future, error)
            return future

        def done(native: Future[Any]) -> None:
            error = native.exception()
            if error is not None:
                _fail(future, error)
                return
            try:
                _succeed(future, convert(native.result()))
            except BaseException as failure:
                _fail(future, failure)

        native_future.add_done_callback(done)
        return future

    @staticmethod
    def _failed(error: BaseException) -> Future[Any]:
        future = _new_future()
        _fail(future, error)
        return future

    # --- topics ------------------------------------------------------------------------------

    def create_topics(self, new_topics: list[NewTopic], **kwargs: Any) -> dict[str, Future[None]]:
        """Creates topics: ``{topic: Future}`` resolving to ``None``. Options:
        ``operation_timeout``, ``request_timeout``, ``validate_only``."""
        options = _options(kwargs, ("operation_timeout", "request_timeout", "validate_only"))
        native = self._open()
        _list_of(new_topics, "NewTopic", NewTopic)
        names = [topic.topic for topic in new_topics]
        if len(set(names)) != len(names):
            raise ValueError("Duplicate topics are not allowed")
        operation_timeout = options.get("operation_timeout") or None
        validate_only = bool(options.get("validate_only"))
        native_topics = [_native_topic(topic) for topic in new_topics]  # all checked before any is sent
        futures: dict[str, Future[None]] = {}
        for native_topic in native_topics:
            futures[native_topic.name] = self._request(
                functools.partial(
                    lambda t: native.create_topics(
                        [t], operation_timeout=operation_timeout, validate_only=validate_only
                    ),
                    native_topic,
                )
            )
        self._deadline(futures.values(), options.get("request_timeout"))
        return futures

    def delete_topics(self, topics: list[str], **kwargs: Any) -> dict[str, Future[None]]:
        """Deletes topics: ``{topic: Future}`` resolving to ``None``."""
        options = _options(kwargs, ("operation_timeout", "request_timeout"))
        native = self._open()
        _list_of(topics, "topic names", str)
        operation_timeout = options.get("operation_timeout") or None
        futures = {
            name: self._request(
                functools.partial(lambda n: native.delete_topics([n], operation_timeout=operation_timeout), name)
            )
            for name in topics
        }
        self._deadline(futures.values(), options.get("request_timeout"))
        return futures

    def create_partitions(self, new_partitions: list[NewPartitions], **kwargs: Any) -> dict[str, Future[None]]:
        """Adds partitions to topics: ``{topic: Future}`` resolving to ``None``."""
        options = _options(kwargs, ("operation_timeout", "request_timeout", "validate_only"))
        native = self._open()
        if new_partitions is None or not isinstance(new_partitions, list):
            raise TypeError("Expected list of NewPartitions")
        _list_of(new_partitions, "NewPartitions", NewPartitions)
        operation_timeout = options.get("operation_timeout") or None
        validate_only = bool(options.get("validate_only"))
        assignments = [
            None
            if request.replica_assignment is None
            else checked_assignment(
                request.replica_assignment, 1, request.new_total_count, "new_total_count - existing partition count"
            )
            for request in new_partitions
        ]  # all checked before any is sent
        futures: dict[str, Future[None]] = {}
        for request, assignment in zip(new_partitions, assignments):
            futures[request.topic] = self._request(
                functools.partial(
                    lambda r, a: native.create_partitions(
                        r.topic,
                        r.new_total_count,
                        operation_timeout=operation_timeout,
                        validate_only=validate_only,
                        replica_assignment=a,
                    ),
                    request,
                    assignment,
                )
            )
        self._deadline(futures.values(), options.get("request_timeout"))
        return futures

    def list_topics(self, *args: Any, **kwargs: Any) -> Any:
        """Cluster metadata (``ClusterMetadata``), synchronously: ``list_topics(topic=None, timeout=-1)``."""
        native = self._native
        if native is None:
            raise RuntimeError("Handle has been closed")
        topic = kwargs.pop("topic", args[0] if args else None)
        timeout = kwargs.pop("timeout", args[1] if len(args) > 1 else -1)
        if kwargs:
            raise TypeError(f"Unexpected keyword argument {next(iter(kwargs))!r}")
        return cluster_metadata(native, topic, seconds(timeout))

    def describe_topics(self, topics: TopicCollection, **kwargs: Any) -> dict[str, Future[TopicDescription]]:
        """Describes topics: ``{name: Future}`` resolving to a ``TopicDescription``."""
        options = _options(kwargs, ("request_timeout", "include_authorized_operations"))
        native = self._open()
        if not isinstance(topics, TopicCollection):
            raise TypeError("Expected a TopicCollection")
        names = topics.topic_names
        if not isinstance(names, list):
            raise TypeError("Expected list of topic names")
        for name in names:
            if not isinstance(name, str):
                raise TypeError("Expected topic names to be strings")
            if not name:
                raise ValueError("Empty topic name")
        authorized = bool(options.get("include_authorized_operations", False))
        futures = {
            name: self._request(
                functools.partial(
                    lambda n: native.describe_topics([n], include_authorized_operations=authorized), name
                ),
                functools.partial(lambda n, result: _topic_description(result[n]), name),
            )
            for name in dict.fromkeys(names)
        }
        self._deadline(futures.values(), options.get("request_timeout"))
        return futures

    def describe_cluster(self, **kwargs: Any) -> Future[DescribeClusterResult]:
        """Describes the cluster: a future resolving to a ``DescribeClusterResult``."""
        options = _options(kwargs, ("request_timeout", "include_authorized_operations"))
        native = self._open()
        authorized = bool(options.get("include_authorized_operations", False))
        future = self._request(
            lambda: native.describe_cluster(include_authorized_operations=authorized), _cluster_description
        )
        self._deadline([future], options.get("request_timeout"))
        return future

    # --- configs -----------------------------------------------------------------------------

    @staticmethod
    def _resources(resources: Any) -> list[ConfigResource]:
        if not isinstance(resources, list):
            raise TypeError("Expected list of ConfigResource")
        if not resources:
            raise ValueError("Expected non-empty list of ConfigResource")
        for resource in resources:
            if not isinstance(resource, ConfigResource):
                raise ValueError("Expected list of ConfigResource")
        if len(set(resources)) != len(resources):
            raise ValueError("Duplicate ConfigResource")
        return resources

    @staticmethod
    def _native_type(resource: ConfigResource) -> str | None:
        return {ResourceType.TOPIC: "topic", ResourceType.BROKER: "broker"}.get(resource.restype)

    def describe_configs(self, resources: list[ConfigResource], **kwargs: Any) -> dict[ConfigResource, Future[Any]]:
        """Describes configurations: ``{ConfigResource: Future}`` resolving to
        ``{name: ConfigEntry}``. Topics and brokers (groups: ``_NOT_IMPLEMENTED``)."""
        options = _options(kwargs, ("request_timeout",))
        native = self._open()
        futures: dict[ConfigResource, Future[Any]] = {}
        for resource in self._resources(resources):
            kind = self._native_type(resource)
            if kind is None:
                futures[resource] = self._failed(_not_implemented(f"{resource.restype.name} configs"))
                continue
            futures[resource] = self._request(
                functools.partial(lambda r, k: native.describe_configs(k, r.name, detailed=True), resource, kind),
                _config_entries,
            )
        self._deadline(futures.values(), options.get("request_timeout"))
        return futures

    def _alter(self, native: _fk.AdminClient, resource: ConfigResource, changes: Callable[[Any], Any]) -> Future[None]:
        """Describes `resource`, then alters it with ``changes(described)`` (a dict for ferrokafka's
        incremental ``alter_configs``): two requests, one future."""
        kind = self._native_type(resource)
        if kind is None:
            return self._failed(_not_implemented(f"{resource.restype.name} configs"))
        future = _new_future()

        def described(result: Future[Any]) -> None:
            error = result.exception()
            if error is not None:
                _fail(future, error)
                return
            try:
                update = changes(result.result())
                altered = native.alter_configs(kind, resource.name, update)  # type: ignore[arg-type]
            except BaseException as failure:
                _fail(future, failure)
                return
            altered.add_done_callback(
                lambda done: _fail(future, done.exception()) if done.exception() else _succeed(future, None)  # type: ignore[arg-type]
            )

        try:
            native.describe_configs(kind, resource.name, detailed=True).add_done_callback(described)  # type: ignore[call-overload]
        except _fk.Error as error:
            _fail(future, error)
        return future

    def alter_configs(self, resources: list[ConfigResource], **kwargs: Any) -> dict[ConfigResource, Future[None]]:
        """Replaces configurations (entries not given revert to their defaults): ``{ConfigResource:
        Future}`` resolving to ``None``. Done as a describe, then an incremental alter: not atomic."""
        options = _options(kwargs, ("request_timeout", "validate_only"))
        native = self._open()
        futures: dict[ConfigResource, Future[None]] = {}
        for resource in self._resources(resources):
            if options.get("validate_only"):
                futures[resource] = self._failed(_not_implemented("validate_only"))
                continue
            wanted = {name: str(value) for name, value in resource.set_config_dict.items()}
            dynamic = "DYNAMIC_TOPIC_CONFIG" if resource.restype is ResourceType.TOPIC else "DYNAMIC_BROKER_CONFIG"

            def changes(entries: Any, wanted: dict[str, str] = wanted, dynamic: str = dynamic) -> dict[str, Any]:
                update: dict[str, Any] = {
                    name: None for name, entry in entries.items() if entry.source == dynamic and name not in wanted
                }
                update.update(wanted)
                return update

            futures[resource] = self._alter(native, resource, changes)
        self._deadline(futures.values(), options.get("request_timeout"))
        return futures

    def incremental_alter_configs(
        self, resources: list[ConfigResource], **kwargs: Any
    ) -> dict[ConfigResource, Future[None]]:
        """Changes configuration entries by their ``incremental_operation``: SET, DELETE, APPEND and
        SUBTRACT (the last two on list entries, by describing the current value first)."""
        options = _options(kwargs, ("request_timeout", "validate_only"))
        native = self._open()
        resources = self._resources(resources)
        for resource in resources:
            _check_incremental_entries(resource.incremental_configs)
        futures: dict[ConfigResource, Future[None]] = {}
        for resource in resources:
            names = [entry.name for entry in resource.incremental_configs]
            if options.get("validate_only"):
                futures[resource] = self._failed(_not_implemented("validate_only"))
                continue
            if len(set(names)) != len(names):
                futures[resource] = self._failed(
                    KafkaException(KafkaError(KafkaError._INVALID_ARG, "Duplicate ConfigEntry found"))
                )
                continue

            futures[resource] = self._alter(native, resource, functools.partial(_incremental_update, resource))
        self._deadline(futures.values(), options.get("request_timeout"))
        return futures

    # --- ACLs --------------------------------------------------------------------------------

    def create_acls(self, acls: list[AclBinding], **kwargs: Any) -> dict[AclBinding, Future[None]]:
        """Creates ACLs: ``{AclBinding: Future}`` resolving to ``None``."""
        options = _options(kwargs, ("request_timeout",))
        native = self._open()
        if acls is None:
            raise TypeError("Expected list of AclBinding")
        if not isinstance(acls, list):
            raise ValueError("Expected list of AclBinding")
        _list_of(acls, "AclBinding", AclBinding)
        for acl in acls:
            if isinstance(acl, AclBindingFilter):
                raise ValueError("Expected list of AclBinding, not AclBindingFilter")
        if len(set(acls)) != len(acls):
            raise ValueError("Duplicate AclBinding")
        futures = {
            acl: self._request(functools.partial(lambda a: native.create_acls([_native_acl(a)]), acl)) for acl in acls
        }
        self._deadline(futures.values(), options.get("request_timeout"))
        return futures

    def describe_acls(self, acl_binding_filter: AclBindingFilter, **kwargs: Any) -> Future[list[AclBinding]]:
        """The ACLs matching a filter: a future resolving to a list of ``AclBinding``."""
        options = _options(kwargs, ("request_timeout",))
        native = self._open()
        if not isinstance(acl_binding_filter, AclBindingFilter):
            raise TypeError("Expected an AclBindingFilter")
        future = self._request(
            lambda: native.describe_acls(_native_acl(acl_binding_filter, filter=True)),
            lambda bindings: [_acl_of(b) for b in bindings],
        )
        self._deadline([future], options.get("request_timeout"))
        return future

    def delete_acls(
        self, acl_binding_filters: list[AclBindingFilter], **kwargs: Any
    ) -> dict[AclBindingFilter, Future[list[AclBinding]]]:
        """Deletes the ACLs matching each filter: ``{filter: Future}`` resolving to the deleted ACLs."""
        options = _options(kwargs, ("request_timeout",))
        native = self._open()
        if acl_binding_filters is None:
            raise TypeError("Expected list of AclBindingFilter")
        _list_of(acl_binding_filters, "AclBindingFilter", AclBindingFilter)
        if len(set(acl_binding_filters)) != len(acl_binding_filters):
            raise ValueError("Duplicate AclBindingFilter")
        futures = {
            f: self._request(
                functools.partial(lambda f: native.delete_acls([_native_acl(f, filter=True)]), f),
                lambda lists: [_acl_of(b) for b in lists[0]],
            )
            for f in acl_binding_filters
        }
        self._deadline(futures.values(), options.get("request_timeout"))
        return futures

    # --- groups ------------------------------------------------------------------------------

    def list_groups(self, *args: Any, **kwargs: Any) -> list[GroupMetadata]:
        """The consumer groups (``GroupMetadata``), synchronously: ``list_groups(group=None, timeout=-1)``."""
        native = self._native
        if native is None:
            raise RuntimeError("Handle has been closed")
        group = kwargs.pop("group", args[0] if args else None)
        timeout = seconds(kwargs.pop("timeout", args[1] if len(args) > 1 else -1))
        if kwargs:
            raise TypeError(f"Unexpected keyword argument {next(iter(kwargs))!r}")
        try:
            ids = [group] if group is not None else native.list_groups().result(timeout)
            described = native.describe_groups(list(ids)).result(timeout) if ids else {}
        except TimeoutError:
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT)) from None
        except _fk.Error as error:
            raise KafkaException(kafka_error_of(error)) from error
        groups = []
        for group_id, description in described.items():
            metadata = GroupMetadata()
            metadata.id = group_id
            metadata.state = description["state"]
            metadata.protocol_type = "consumer"
            metadata.protocol = description["protocol"]
            for member in description["members"]:
                entry = GroupMember()
                entry.id = member["member_id"]
                entry.client_id = member["client_id"]
                entry.client_host = member["host"]
                metadata.members.append(entry)
            groups.append(metadata)
        return groups

    def list_consumer_groups(self, **kwargs: Any) -> Future[ListConsumerGroupsResult]:
        """The consumer groups: a future resolving to a ``ListConsumerGroupsResult``; options
        ``states`` and ``types`` (sets of ``ConsumerGroupState``/``ConsumerGroupType``)."""
        states = kwargs.pop("states", None)
        types = kwargs.pop("types", None)
        options = _options(kwargs, ("request_timeout",))
        native = self._open()
        for name, value, kind in (("states", states, ConsumerGroupState), ("types", types, ConsumerGroupType)):
            if value is None:
                continue
            if not isinstance(value, set):
                raise TypeError(f"'{name}' must be a set")
            for member in value:
                if not isinstance(member, kind):
                    raise TypeError(f"All elements of '{name}' must be of type {kind.__name__}")
            if name == "types" and ConsumerGroupType.UNKNOWN in value:
                raise ValueError("'types' cannot contain UNKNOWN")
        future = self._request(
            lambda: native.list_consumer_groups(
                states=None if states is None else [s.name for s in states],
                types=None if types is None else [t.name for t in types],
            ),
            _group_listings,
        )
        self._deadline([future], options.get("request_timeout"))
        return future

    @staticmethod
    def _group_ids(group_ids: Any) -> list[str]:
        if not isinstance(group_ids, list):
            raise TypeError("Expected list of group ids")
        if not group_ids:
            raise ValueError("Expected at least one group id")
        for group_id in group_ids:
            if not isinstance(group_id, str):
                raise TypeError("Expected group ids to be strings")
        return group_ids

    def describe_consumer_groups(self, group_ids: list[str], **kwargs: Any) -> dict[str, Future[Any]]:
        """Describes groups: ``{group_id: Future}`` resolving to a ``ConsumerGroupDescription``
        (members without their assignments, no coordinator: ferrokafka does not report them)."""
        options = _options(kwargs, ("request_timeout", "include_authorized_operations"))
        native = self._open()
        futures = {
            group_id: self._request(
                functools.partial(lambda g: native.describe_groups([g]), group_id),
                functools.partial(lambda g, result: _group_description(g, result[g]), group_id),
            )
            for group_id in dict.fromkeys(self._group_ids(group_ids))
        }
        self._deadline(futures.values(), options.get("request_timeout"))
        return futures

    def delete_consumer_groups(self, group_ids: list[str], **kwargs: Any) -> dict[str, Future[None]]:
        """Deletes groups: ``{group_id: Future}`` resolving to ``None``."""
        options = _options(kwargs, ("request_timeout",))
        native = self._open()
        futures = {
            group_id: self._request(functools.partial(lambda g: native.delete_groups([g]), group_id))
            for group_id in dict.fromkeys(self._group_ids(group_ids))
        }
        self._deadline(futures.values(), options.get("request_timeout"))
        return futures

    @staticmethod
    def _group_request(requests: Any, *, alter: bool) -> ConsumerGroupTopicPartitions:
        if not isinstance(requests, list):
            raise TypeError("Expected list of ConsumerGroupTopicPartitions")
        if len(requests) != 1:
            raise ValueError("Currently we support only one group at a time")
        request = requests[0]
        if not isinstance(request, ConsumerGroupTopicPartitions):
            raise TypeError("Expected list of ConsumerGroupTopicPartitions")
        if not isinstance(request.group_id, str):
            raise TypeError("Group name must be a string")
        if not request.group_id:
            raise ValueError("Group name must not be empty")
        partitions = request.topic_partitions
        if partitions is None:
            if alter:
                raise ValueError("Topic partitions must be present")
            return request
        if not isinstance(partitions, list):
            raise TypeError("Topic partitions must be a list")
        if not partitions:
            raise ValueError("Topic partitions must not be empty")
        for tp in partitions:
            _check_group_partition(tp, alter=alter)
        return request

    def list_consumer_group_offsets(
        self, list_consumer_group_offsets_request: list[ConsumerGroupTopicPartitions], **kwargs: Any
    ) -> dict[str, Future[ConsumerGroupTopicPartitions]]:
        """A group's committed offsets: ``{group_id: Future}`` resolving to a
        ``ConsumerGroupTopicPartitions``."""
        options = _options(kwargs, ("request_timeout", "require_stable"))
        native = self._open()
        request = self._group_request(list_consumer_group_offsets_request, alter=False)
        partitions = None if request.topic_partitions is None else [to_native(tp) for tp in request.topic_partitions]
        future = self._request(
            lambda: native.list_consumer_group_offsets(request.group_id, partitions),
            lambda result: ConsumerGroupTopicPartitions(request.group_id, list_from_native(result)),
        )
        self._deadline([future], options.get("request_timeout"))
        return {request.group_id: future}

    def alter_consumer_group_offsets(
        self, alter_consumer_group_offsets_request: list[ConsumerGroupTopicPartitions], **kwargs: Any
    ) -> dict[str, Future[ConsumerGroupTopicPartitions]]:
        """Sets a group's committed offsets: ``{group_id: Future}`` resolving to a
        ``ConsumerGroupTopicPartitions`` of what was set."""
        options = _options(kwargs, ("request_timeout",))
        native = self._open()
        request = self._group_request(alter_consumer_group_offsets_request, alter=True)
        partitions = [to_native(tp) for tp in request.topic_partitions or []]
        future = self._request(
            lambda: native.alter_consumer_group_offsets(request.group_id, partitions),
            lambda _: ConsumerGroupTopicPartitions(request.group_id, list_from_native(partitions)),
        )
        self._deadline([future], options.get("request_timeout"))
        return {request.group_id: future}

    # --- SCRAM -------------------------------------------------------------------------------

    def describe_user_scram_credentials(self, users: list[str] | None = None, **kwargs: Any) -> Any:
        """Users' SCRAM mechanisms: without `users` one future of ``{user: description}``, else
        ``{user: Future}``."""
        options = _options(kwargs, ("request_timeout",))
        native = self._open()
        if users is not None:
            if not isinstance(users, list):
                raise TypeError("Expected users to be a list of str")
            for user in users:
                if not isinstance(user, str):
                    raise TypeError("Expected users to be a list of str")
                if not user:
                    raise ValueError("Empty user name")
        if users is None:
            future = self._request(
                lambda: native.describe_user_scram_credentials(None),
                lambda result: {user: _scram_description(d) for user, d in result.items()},
            )
            self._deadline([future], options.get("request_timeout"))
            return future
        if len(set(users)) != len(users):
            duplicate = KafkaException(KafkaError(KafkaError._INVALID_ARG, "Duplicate users not allowed"))
            return {user: self._failed(duplicate) for user in users}
        futures = {
            user: self._request(
                functools.partial(lambda u: native.describe_user_scram_credentials([u]), user),
                functools.partial(lambda u, result: _scram_description(result[u]), user),
            )
            for user in users
        }
        self._deadline(futures.values(), options.get("request_timeout"))
        return futures

    def alter_user_scram_credentials(
        self, alterations: list[UserScramCredentialAlteration], **kwargs: Any
    ) -> dict[str, Future[None]]:
        """Sets or removes SCRAM credentials: ``{user: Future}`` resolving to ``None``."""
        options = _options(kwargs, ("request_timeout",))
        native = self._open()
        if not isinstance(alterations, list):
            raise TypeError("Expected alterations to be a list")
        if not alterations:
            raise ValueError("Expected at least one alteration")
        by_user: dict[str, list[Any]] = {}
        for alteration in alterations:
            by_user.setdefault(_check_alteration(alteration), []).append(_native_alteration(alteration))
        futures = {
            user: self._request(
                functools.partial(lambda changes: native.alter_user_scram_credentials(changes), changes)
            )
            for user, changes in by_user.items()
        }
        self._deadline(futures.values(), options.get("request_timeout"))
        return futures

    # --- offsets and records -----------------------------------------------------------------

    def list_offsets(
        self, topic_partition_offsets: dict[TopicPartition, OffsetSpec], **kwargs: Any
    ) -> dict[TopicPartition, Future[ListOffsetsResultInfo]]:
        """Offsets by spec: ``{TopicPartition: Future}`` resolving to a ``ListOffsetsResultInfo``;
        option ``isolation_level``."""
        options = _options(kwargs, ("request_timeout", "isolation_level"))
        native = self._open()
        if not isinstance(topic_partition_offsets, dict):
            raise TypeError("Expected a dict of TopicPartition to OffsetSpec")
        requests: dict[TopicPartition, OffsetSpec] = {}
        for tp, spec in topic_partition_offsets.items():
            if not isinstance(tp, TopicPartition):
                raise TypeError("Key must be a TopicPartition")
            if not isinstance(spec, OffsetSpec):
                raise TypeError("Value must be an OffsetSpec")
            if not tp.topic:
                raise ValueError("Topic name must not be empty")
            if tp.partition < 0:
                raise ValueError("Partition must be >= 0")
            requests[tp] = spec
        futures: dict[TopicPartition, Future[ListOffsetsResultInfo]] = {}
        for tp, spec in requests.items():
            native_tp = _fk.TopicPartition(tp.topic, tp.partition)
            native_spec = _native_spec(spec)
            futures[tp] = self._request(
                functools.partial(lambda t, s: native.list_offsets({t: s}), native_tp, native_spec),
                lambda result: _offsets_info(next(iter(result.values()))),
            )
        self._deadline(futures.values(), options.get("request_timeout"))
        return futures

    def delete_records(
        self, topic_partition_offsets: list[TopicPartition], **kwargs: Any
    ) -> dict[TopicPartition, Future[DeletedRecords]]:
        """Deletes the records before each offset: ``{TopicPartition: Future}`` resolving to a
        ``DeletedRecords`` with the partition's new low watermark."""
        options = _options(kwargs, ("request_timeout", "operation_timeout"))
        native = self._open()
        _check_partitions(topic_partition_offsets, "Request", require_offset=True)
        futures: dict[TopicPartition, Future[DeletedRecords]] = {}
        for tp in topic_partition_offsets:
            native_tp = to_native(tp)
            future = _new_future()
            futures[tp] = future

            def deleted(done: Future[Any], future: Future[Any] = future, tp: Any = native_tp) -> None:
                error = done.exception()
                if error is not None:
                    _fail(future, error)
                    return
                try:
                    earliest = native.list_offsets([_fk.TopicPartition(tp.topic, tp.partition)], "earliest")
                except BaseException as failure:
                    _fail(future, failure)
                    return
                earliest.add_done_callback(
                    lambda got: (
                        _fail(future, got.exception())  # type: ignore[arg-type]
                        if got.exception()
                        else _succeed(future, DeletedRecords(got.result()[0].offset))
                    )
                )

            try:
                native.delete_records([native_tp]).add_done_callback(deleted)
            except _fk.Error as error:
                _fail(future, error)
        self._deadline(futures.values(), options.get("request_timeout"))
        return futures

    def elect_leaders(
        self, election_type: ElectionType, partitions: list[TopicPartition] | None = None, **kwargs: Any
    ) -> Future[dict[TopicPartition, KafkaError | None]]:
        """Leader election: a future resolving to ``{TopicPartition: KafkaError or None}``."""
        options = _options(kwargs, ("request_timeout", "operation_timeout"))
        native = self._open()
        if not isinstance(election_type, ElectionType):
            raise TypeError("Expected 'election_type' to be of type 'ElectionType'")
        native_partitions = None
        if partitions is not None:
            _check_partitions(partitions, "'partitions'", require_offset=False)
            native_partitions = [_fk.TopicPartition(tp.topic, tp.partition) for tp in partitions]
        future = self._request(
            lambda: native.elect_leaders(election_type.name, native_partitions),
            lambda result: {
                from_native(tp): None if error is None else kafka_error_of(error) for tp, error in result.items()
            },
        )
        self._deadline([future], options.get("request_timeout"))
        return future

    # --- client ------------------------------------------------------------------------------

    def cluster_id(self, *args: Any, **kwargs: Any) -> str:
        """The cluster's id: ``cluster_id(timeout=-1)``."""
        native = self._open()
        timeout = kwargs.pop("timeout", args[0] if args else -1)
        cluster_id = call(native.cluster_id, seconds(timeout))
        if cluster_id is None:
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "Failed to retrieve cluster id: Local: Timed out"))
        return cluster_id

    def poll(self, timeout: float = -1) -> int:
        """Serves the client callbacks (``error_cb``, ``throttle_cb``, the logger), waiting up to
        `timeout` seconds for the first. Futures resolve without it."""
        # What the client queued so far (its INIT log line, say) is served by this call, as
        # confluent-kafka's poll() does, not whenever the client's event thread gets the GIL.
        call(self._open()._serve_callbacks)
        events = self._events
        served = events.serve()
        if served:
            return served
        wait = seconds(timeout)
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            left = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
            if events.wait(left) or (deadline is not None and time.monotonic() >= deadline):
                return events.serve()

    def set_sasl_credentials(self, username: str, password: str) -> None:
        call(self._open().set_sasl_credentials, username, password)

    def __len__(self) -> int:
        return 0 if self._native is None else len(self._events.queue)

    def __del__(self) -> None:
        _config.release_unclosed(self)

    def close(self) -> None:
        """Closes the client; requests already made still resolve."""
        native = self._native
        if native is None:
            return
        self._native = None
        with self._lock:
            timers, self._timers = self._timers, set()
        for timer in timers:
            timer.cancel()
        native.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
        return None


AdminClient.__module__ = "ferrokafka.confluent.admin"


# --- conversions -----------------------------------------------------------------------------


def _check_partitions(partitions: Any, what: str, *, require_offset: bool) -> None:
    if not isinstance(partitions, list):
        raise TypeError(f"Expected {what} to be a list, got '{type(partitions).__name__}'")
    for tp in partitions:
        if not isinstance(tp, TopicPartition):
            element_of = what.lower() if what == "Request" else what  # confluent-kafka's wording
            raise TypeError(
                f"Element of the {element_of} list must be of type 'TopicPartition' got '{type(tp).__name__}'"
            )
        if not isinstance(tp.topic, str):
            raise TypeError("Topic name must be a string")
        if not tp.topic:
            raise ValueError("Topic name must not be empty")
        if tp.partition < 0:
            raise ValueError("Partition must be >= 0")
        if require_offset and tp.offset < 0 and tp.offset != _fk.OFFSET_END:
            raise ValueError("Offset must be >= 0 (or OFFSET_END)")


def _native_acl(acl: AclBinding, *, filter: bool = False) -> Any:  # noqa: A002
    cls: Any = _fk.AclBindingFilter if filter else _fk.AclBinding
    return cls(
        acl.restype.name,
        acl.name,
        acl.resource_pattern_type.name,
        acl.principal,
        acl.host,
        acl.operation.name,
        acl.permission_type.name,
    )


def _acl_of(binding: Any) -> AclBinding:
    return AclBinding(
        binding.restype,
        binding.name,
        binding.resource_pattern_type,
        binding.principal,
        binding.host,
        binding.operation,
        binding.permission_type,
    )


def _config_entry(entry: Any) -> ConfigEntry:
    return ConfigEntry(
        entry.name,
        entry.value,
        source=from_name(entry.source, ConfigSource, "UNKNOWN_CONFIG"),
        is_read_only=entry.is_read_only,
        is_default=entry.is_default,
        is_sensitive=entry.is_sensitive,
        is_synonym=entry.is_synonym,
        synonyms={name: _config_entry(synonym) for name, synonym in entry.synonyms.items()},
    )


def _config_entries(entries: Any) -> dict[str, ConfigEntry]:
    return {name: _config_entry(entry) for name, entry in entries.items()}


def _node(node: Any) -> Node | None:
    if node is None:
        return None
    return Node(node.id, node.host, node.port, node.rack)


def _operations(names: list[str] | None) -> list[AclOperation] | None:
    if names is None:
        return None
    return [from_name(name, AclOperation) for name in names]


def _uuid(topic_id: str | None) -> Uuid | None:
    if not topic_id:
        return None
    import base64

    raw = base64.urlsafe_b64decode(topic_id + "=" * (-len(topic_id) % 4))
    if len(raw) != 16:
        return None
    return Uuid(int.from_bytes(raw[:8], "big", signed=True), int.from_bytes(raw[8:], "big", signed=True))


def _topic_description(description: Any) -> TopicDescription:
    partitions = [
        TopicPartitionInfo(
            p.id, _node(p.leader), [n for n in map(_node, p.replicas) if n], [n for n in map(_node, p.isr) if n]
        )
        for p in description.partitions
    ]
    return TopicDescription(
        description.name,
        _uuid(description.topic_id),
        description.is_internal,
        partitions,
        _operations(description.authorized_operations),
    )


def _cluster_description(result: Any) -> DescribeClusterResult:
    return DescribeClusterResult(
        _node(result.controller),
        [n for n in map(_node, result.nodes) if n],
        result.cluster_id,
        _operations(result.authorized_operations),
    )


def _group_listings(result: Any) -> ListConsumerGroupsResult:
    valid = [
        ConsumerGroupListing(
            g.group_id,
            g.is_simple_consumer_group,
            from_name(g.state, ConsumerGroupState),
            from_name(g.type, ConsumerGroupType),
        )
        for g in result.valid
    ]
    errors: list[Exception] = [KafkaException(kafka_error_of(error)) for error in result.errors]
    return ListConsumerGroupsResult(valid, errors)


_GROUP_STATES = {
    "preparingrebalance": ConsumerGroupState.PREPARING_REBALANCING,
    "completingrebalance": ConsumerGroupState.COMPLETING_REBALANCING,
    "stable": ConsumerGroupState.STABLE,
    "dead": ConsumerGroupState.DEAD,
    "empty": ConsumerGroupState.EMPTY,
}


def _group_description(group_id: str, description: Any) -> ConsumerGroupDescription:
    members = [
        MemberDescription(
            member["member_id"],
            member["client_id"],
            member["host"],
            MemberAssignment([]),
            member.get("group_instance_id"),
        )
        for member in description["members"]
    ]
    state = _GROUP_STATES.get(str(description["state"]).lower().replace("_", ""), ConsumerGroupState.UNKNOWN)
    kind = from_name(str(description.get("type", "")), ConsumerGroupType)
    return ConsumerGroupDescription(group_id, False, members, description["protocol"], state, None, None, kind)


def _scram_description(description: Any) -> UserScramCredentialsDescription:
    return UserScramCredentialsDescription(
        description.user,
        [
            ScramCredentialInfo(from_name(info.mechanism, ScramMechanism), info.iterations)
            for info in description.scram_credential_infos
        ],
    )


def _check_alteration(alteration: Any) -> str:
    if not isinstance(alteration, UserScramCredentialAlteration):
        raise TypeError("Expected each alteration to be a UserScramCredentialAlteration")
    if not isinstance(alteration.user, str):
        raise TypeError("Expected user to be a string")
    if not alteration.user:
        raise ValueError("Empty user name")
    if isinstance(alteration, UserScramCredentialUpsertion):
        _check_upsertion(alteration)
    elif isinstance(alteration, UserScramCredentialDeletion):
        if not isinstance(alteration.mechanism, ScramMechanism):
            raise TypeError("Expected mechanism to be a ScramMechanism")
    else:
        raise TypeError("Expected a UserScramCredentialUpsertion or UserScramCredentialDeletion")
    return alteration.user


def _check_upsertion(alteration: UserScramCredentialUpsertion) -> None:
    info = alteration.scram_credential_info
    if not isinstance(info, ScramCredentialInfo):
        raise TypeError("Expected scram_credential_info to be a ScramCredentialInfo")
    if not isinstance(info.mechanism, ScramMechanism):
        raise TypeError("Expected mechanism to be a ScramMechanism")
    if isinstance(info.iterations, bool) or not isinstance(info.iterations, int):
        raise TypeError("Expected iterations to be an int")
    if info.iterations <= 0:
        raise ValueError("Expected iterations to be positive")
    if not isinstance(alteration.password, bytes):
        raise TypeError("Expected password to be bytes")
    if not alteration.password:
        raise ValueError("Empty password")
    if alteration.salt is not None:
        if not isinstance(alteration.salt, bytes):
            raise TypeError("Expected salt to be bytes")
        if not alteration.salt:
            raise ValueError("Empty salt")


def _native_alteration(alteration: Any) -> Any:
    if isinstance(alteration, UserScramCredentialUpsertion):
        info = alteration.scram_credential_info
        return _fk.UserScramCredentialUpsertion(
            alteration.user,
            _fk.ScramCredentialInfo(info.mechanism.name, info.iterations),
            alteration.password,
            alteration.salt,
        )
    return _fk.UserScramCredentialDeletion(alteration.user, alteration.mechanism.name)


def _native_spec(spec: OffsetSpec) -> _fk.OffsetSpec:
    value = spec._value
    if value == -2:
        return _fk.OffsetSpec.earliest()
    if value == -1:
        return _fk.OffsetSpec.latest()
    if value == -3:
        return _fk.OffsetSpec.max_timestamp()
    return _fk.OffsetSpec.for_timestamp(value)


def _offsets_info(info: Any) -> ListOffsetsResultInfo:
    return ListOffsetsResultInfo(info.offset, info.timestamp, info.leader_epoch)


def _check_incremental_entries(entries: object) -> None:
    """confluent-kafka's checks of one resource's ``incremental_configs``."""
    if not isinstance(entries, list):
        raise TypeError("Expected list of ConfigEntry")
    if not entries:
        raise ValueError("Expected non-empty list of ConfigEntry")
    for entry in entries:
        if not isinstance(entry, ConfigEntry):
            raise TypeError("Expected list of ConfigEntry")
        if not isinstance(entry.name, str):
            raise TypeError("Expected ConfigEntry name to be a string")
        if not isinstance(entry.incremental_operation, AlterConfigOpType):
            raise TypeError("Expected ConfigEntry incremental_operation to be an AlterConfigOpType")


def _incremental_update(resource: ConfigResource, entries: Any) -> dict[str, Any]:
    """The entries to write for `resource`'s incremental operations, given the current `entries`
    (APPEND and SUBTRACT edit a list value as it is now)."""
    update: dict[str, Any] = {}
    for entry in resource.incremental_configs:
        operation = entry.incremental_operation
        current = entries.get(entry.name)
        items = [v for v in (current.value or "").split(",") if v] if current is not None else []
        if operation is AlterConfigOpType.SET:
            update[entry.name] = entry.value
        elif operation is AlterConfigOpType.DELETE:
            update[entry.name] = None
        elif operation is AlterConfigOpType.APPEND:
            added = [v for v in str(entry.value or "").split(",") if v and v not in items]
            update[entry.name] = ",".join(items + added)
        else:
            removed = set(str(entry.value or "").split(","))
            update[entry.name] = ",".join(v for v in items if v not in removed)
    return update


def _check_group_partition(tp: object, *, alter: bool) -> None:
    """confluent-kafka's checks of one partition of a group offsets request (with an offset to set
    when `alter`, without one otherwise)."""
    if tp is None:
        raise ValueError("Element of topic_partitions must not be None")
    if not isinstance(tp, TopicPartition):
        raise TypeError("Element of topic_partitions must be of type TopicPartition")
    if not isinstance(tp.topic, str):
        raise TypeError("Topic name must be a string")
    if not tp.topic:
        raise ValueError("Topic name must not be empty")
    if tp.partition < 0:
        raise ValueError("Partition must be >= 0")
    if alter and tp.offset < 0:
        raise ValueError("Offset must be >= 0")
    if not alter and tp.offset != _fk.OFFSET_INVALID:
        raise ValueError("Offset is not expected: only topic and partition are")
