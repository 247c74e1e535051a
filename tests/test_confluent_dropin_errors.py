"""ferrokafka.confluent's KafkaError and KafkaException: codes, names, reasons and flags as
confluent-kafka's (installed in the test environment, the expected value), and the same exception
class as ferrokafka's own API raises."""

from __future__ import annotations

import pytest

import ferrokafka as fk
import ferrokafka.confluent as fc
from dropin_helpers import ck

pytestmark = pytest.mark.timeout(120)


CODES = [-191, -185, -184, -172, -150, 0, 1, 3, 6, 27, 47, 48, 51, 90]


@pytest.mark.parametrize("code", CODES)
def test_kafka_error_from_code_matches_confluent_kafka(code):
    ours, theirs = fc.KafkaError(code), ck.KafkaError(code)
    assert ours.code() == theirs.code() == code
    assert ours.name() == theirs.name()
    assert ours.str() == theirs.str()
    assert (ours.fatal(), ours.retriable(), ours.txn_requires_abort()) == (
        theirs.fatal(),
        theirs.retriable(),
        theirs.txn_requires_abort(),
    )
    assert ours == code and code == ours
    assert hash(ours) == hash(code)


def test_kafka_error_flags_reason_and_exception():
    err = fc.KafkaError(fc.KafkaError._TIMED_OUT, "slow", fatal=True, retriable=True, txn_requires_abort=True)
    theirs = ck.KafkaError(ck.KafkaError._TIMED_OUT, "slow", fatal=True, retriable=True, txn_requires_abort=True)
    assert (err.str(), err.fatal(), err.retriable(), err.txn_requires_abort()) == (
        theirs.str(),
        theirs.fatal(),
        theirs.retriable(),
        theirs.txn_requires_abort(),
    )
    exc = fc.KafkaException(err)
    assert exc.args[0] is err
    assert isinstance(exc, Exception)
    with pytest.raises(fc.KafkaException) as info:
        raise exc
    assert info.value.args[0].code() == fc.KafkaError._TIMED_OUT


def test_kafka_exception_also_catches_what_ferrokafka_raises():
    """The drop-in's KafkaException is ferrokafka's, and its KafkaError a subclass of ferrokafka's:
    ``except confluent_kafka.KafkaException`` catches an error of ferrokafka's native API too, and
    ``args[0]`` answers confluent-kafka's methods."""
    assert fc.KafkaException is fk.KafkaException
    assert issubclass(fc.KafkaError, fk.KafkaError)
    with pytest.raises(fc.KafkaException) as info:
        fk.Producer({"bootstrap.servers": "127.0.0.1:1"}).init_transactions(0.1)  # no transactional.id
    assert info.value.args[0].code() == fk.KafkaError._NOT_CONFIGURED
    assert fc.KafkaError(fc.KafkaError._STATE) == fk.KafkaError(fk.KafkaError._STATE)


def test_kafka_error_code_names_match_confluent_kafka():
    theirs = {
        name: getattr(ck.KafkaError, name) for name in dir(ck.KafkaError) if name.isupper() or name[1:2].isupper()
    }
    theirs = {name: value for name, value in theirs.items() if isinstance(value, int)}
    assert len(theirs) > 100
    ours = {name: getattr(fc.KafkaError, name, None) for name in theirs}
    assert ours == theirs
