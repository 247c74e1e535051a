"""asyncio clients: ``AIOConsumer``, ``AIOProducer`` and ``AIOAdminClient``.

A thin layer over the synchronous clients, named like ``confluent_kafka.aio`` so that moving from it
is a change of import. Every method that can wait is a coroutine and every client works with
``async with``. Clients must be created inside a running event loop (the default one or uvloop)
and used from that loop only.

How waiting works, per client:

- **Consumer**: no executor and no thread. librdkafka writes a byte to a non-blocking pipe the
  first time its queue gets something after the consumer last served it
  (``Consumer._io_event_enable``); the loop watches the pipe with ``loop.add_reader``. A
  ``poll()``/``consume()``/``async for`` takes what is ready with the synchronous calls and a zero
  timeout; only if nothing is, it drains the pipe, looks once more (a byte written after the drain
  keeps the pipe readable) and waits for it, with a timeout of one second at most, so librdkafka
  is served at least every second while a consumer waits (``max.poll.interval.ms``, callbacks).
  Logs that librdkafka's own threads emit do not wake the pipe: they are dispatched by the next
  call that serves the consumer (within a second while one waits). A pipe, not an eventfd:
  librdkafka writes a one-byte payload, and an eventfd only takes writes of eight bytes.
- **Producer**: deliveries reach the loop in batches, without the GIL on the way: librdkafka's
  delivery thread files each finished message natively (``_LoopDeliveries``) and writes to an
  eventfd the loop watches only when nothing was filed since the loop last looked; the loop then
  resolves every ``asyncio.Future`` filed at once (one wake-up for many reports). The
  transactional calls init/begin/abort are librdkafka's resumable calls, stepped on the loop's
  thread (at most 1 ms each, GIL released) with growing pauses between steps; commit runs on a
  thread of its own (see below).
- **Admin client**: each call wraps the client's ``concurrent.futures.Future`` with
  ``asyncio.wrap_future``.

Rebalances are applied by the loop: the consumer keeps each rebalance librdkafka serves
(``Consumer._defer_rebalances``) and the next ``poll()``/``consume()``/``async for`` runs
``on_assign``/``on_revoke``/``on_lost`` — plain functions or coroutine functions, which are
awaited — before it takes messages. As with confluent-kafka (and the synchronous consumer), each
runs before the rebalance is applied: ``on_revoke`` (and ``on_lost``) before the partitions go, so
it may ``await consumer.commit()``; ``on_assign`` before they are assigned, so it may set their
offsets and ``await consumer.assign(partitions)`` (``incremental_assign`` with a cooperative
assignor) itself. What a callback did not apply itself is applied as librdkafka gave it once the
callback returns. No message is lent while a rebalance callback runs.

``async for`` lends like the synchronous iterator: taking the next message supersedes the previous
one (reason ``"superseded"``), through ``Consumer._next_nowait``, the iterator's step without a
wait (the loop does the waiting).

Cancelling an ``await`` of ``poll()``, ``consume()``, ``consume_batch()`` or ``anext()`` never
loses a message: a call only waits while it holds none, and once it took messages it returns them
without waiting again (a rebalance found with them is served by the next call).

What still uses a thread, or blocks the loop briefly (all documented on the methods):

- ``list_topics()`` (librdkafka's metadata request has no form that answers on a queue),
  ``send_offsets_to_transaction()`` (librdkafka's call is not resumable),
  ``AIOProducer.commit_transaction()`` (librdkafka's commit is not safely resumable in short
  steps: see the method) and the final
  ``close()`` of a consumer or producer run the synchronous call on a daemon thread of their own
  (not the loop's default executor, whose shutdown would wait for them); the synchronous call
  itself may use a short-lived worker thread, as it does without asyncio. ``commit()``,
  ``committed()``, ``get_watermark_offsets()`` and ``offsets_for_times()`` need no thread: each is a
  request whose answer comes on a queue of its own, which wakes the consumer's pipe;
- ``AIOConsumer.seek()`` starts librdkafka's asynchronous seek; ferrokafka's synchronous ``seek``
  does that on a short-lived worker thread, which the loop waits for (microseconds);
- ``AIOProducer.produce_batch()`` waits on the loop's thread while librdkafka's queue is full.
"""

from ferrokafka.aio._admin import AIOAdminClient
from ferrokafka.aio._consumer import AIOConsumer
from ferrokafka.aio._consumer import RebalanceCallback as RebalanceCallback
from ferrokafka.aio._producer import AIOProducer
from ferrokafka.aio._producer import DeliveryCallback as DeliveryCallback
from ferrokafka.aio._serializing import AsyncDeserializingConsumer, AsyncSerializingProducer

__all__ = ["AIOAdminClient", "AIOConsumer", "AIOProducer", "AsyncDeserializingConsumer", "AsyncSerializingProducer"]
