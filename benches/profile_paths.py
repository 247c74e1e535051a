"""One benchmark loop in this process, for `perf record` (benches/README.md, "What limits").

    python benches/profile_paths.py BOOTSTRAP produce-batch|confluent-produce-batch [COUNT [SIZE]]
    python benches/profile_paths.py BOOTSTRAP prepare-consume TOPIC [COUNT]
    python benches/profile_paths.py BOOTSTRAP consume|confluent-consume TOPIC [COUNT]
    python benches/profile_paths.py BOOTSTRAP dropin-poll|confluent-poll TOPIC [COUNT]
    python benches/profile_paths.py BOOTSTRAP dropin-produce|confluent-produce [COUNT]
    python benches/profile_paths.py BOOTSTRAP arrow|confluent-arrow TOPIC [COUNT [BATCH]]

The loops are the benchmark's own (benches/workers.py), with its configurations (benchlib.py), at
100 B (produce_batch: SIZE bytes; dropin-*: the confluent-kafka drop-in's loops, confluent-poll's and
confluent-produce's on ferrokafka.confluent); `prepare-consume` fills TOPIC once (`benchlib.preproduce`, as run.py does: keyed, confluent-kafka).
"""

import json
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import benchlib as bl  # noqa: E402
import workers  # noqa: E402

SIZE = 100


def main(argv):
    bootstrap, what = argv[0], argv[1]
    if what in ("produce-batch", "confluent-produce-batch"):
        count = int(argv[2]) if len(argv) > 2 else 1_000_000
        size = int(argv[3]) if len(argv) > 3 else SIZE
        topic = f"profile-{uuid.uuid4().hex[:8]}"
        bl.create_topics(bootstrap, {topic: {}})
        run = workers.produce_batch_ferro if what == "produce-batch" else workers.produce_batch_confluent
        result = run(bl.producer_config(bootstrap), topic, count, size, bl.PRODUCE_BATCH)
    elif what in ("dropin-produce", "confluent-produce"):
        count = int(argv[2]) if len(argv) > 2 else 1_000_000
        topic = f"profile-{uuid.uuid4().hex[:8]}"
        bl.create_topics(bootstrap, {topic: {}})
        run = workers.produce_dropin if what == "dropin-produce" else workers.produce_confluent
        result = run(bl.producer_config(bootstrap), topic, count, SIZE)
    elif what in ("dropin-poll", "confluent-poll"):
        topic, count = argv[2], int(argv[3]) if len(argv) > 3 else 1_000_000
        run = workers.consume_dropin_poll if what == "dropin-poll" else workers.consume_confluent_poll
        result = run(bl.consumer_config(bootstrap, SIZE), topic, count, False)
    elif what == "prepare-consume":
        topic, count = argv[2], int(argv[3]) if len(argv) > 3 else 1_000_000
        bl.create_topics(bootstrap, {topic: {}})
        result = {"count": count, "seconds": bl.preproduce(bootstrap, topic, count, SIZE)}
    elif what in ("arrow", "confluent-arrow"):
        topic, count = argv[2], int(argv[3]) if len(argv) > 3 else 1_000_000
        batch = int(argv[4]) if len(argv) > 4 else bl.batch_size(SIZE)
        run = workers.consume_ferro_arrow if what == "arrow" else workers.consume_confluent_arrow
        result = run(bl.consumer_config(bootstrap, SIZE), topic, count, False, batch)
    else:
        topic, count = argv[2], int(argv[3]) if len(argv) > 3 else 1_000_000
        run = workers.consume_ferro_consume if what == "consume" else workers.consume_confluent_consume
        result = run(bl.consumer_config(bootstrap, SIZE), topic, count, False, bl.batch_size(SIZE))
    result["msgs_per_s"] = result.get("timed_count", result["count"]) / result["seconds"]
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
