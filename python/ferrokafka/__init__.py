"""ferrokafka: a Kafka client for Python with a Rust core (rdkafka/librdkafka via PyO3).

``Consumer.poll()`` lends out a :class:`BorrowedMessage`, a zero-copy view into librdkafka's fetch
buffer, valid until released, superseded or its consumer closes; ``detach()`` copies it into an
:class:`OwnedMessage` that may cross threads and processes.
"""

from ferrokafka._native import (
    OFFSET_BEGINNING,
    OFFSET_END,
    OFFSET_INVALID,
    OFFSET_STORED,
    AdminClient,
    BorrowedMessage,
    ConfigError,
    Consumer,
    ConsumerGroupMetadata,
    DeliveryReport,
    DeliveryResults,
    Error,
    KafkaError,
    MessageBatch,
    MessageInvalidatedError,
    MockCluster,
    NewTopic,
    OwnedMessage,
    Producer,
    TimestampType,
    TopicPartition,
    WrongThreadError,
    __version__,
    librdkafka_version,
)

__all__ = [
    "OFFSET_BEGINNING",
    "OFFSET_END",
    "OFFSET_INVALID",
    "OFFSET_STORED",
    "AdminClient",
    "BorrowedMessage",
    "ConsumerGroupMetadata",
    "ConfigError",
    "Consumer",
    "DeliveryReport",
    "DeliveryResults",
    "Error",
    "KafkaError",
    "MessageBatch",
    "MessageInvalidatedError",
    "MockCluster",
    "NewTopic",
    "OwnedMessage",
    "Producer",
    "TimestampType",
    "TopicPartition",
    "WrongThreadError",
    "__version__",
    "librdkafka_version",
]
