//! rust-consumer BOOTSTRAP TOPIC GROUP EXPECTED MODE [key=value ...]
//!
//! Consumes EXPECTED messages of TOPIC from the beginning (fresh GROUP, no commits), reading each
//! message's offset, key and payload length (MODE `plain`) and also its payload's CRC-32 (MODE
//! `checksum`). Timing starts once the first message is processed. Two ways to get messages:
//! rdkafka's BaseConsumer poll loop (MODE `plain`/`checksum`), and librdkafka's batch API
//! `rd_kafka_consume_batch_queue` through rdkafka-sys (MODE `plain-batch`/`checksum-batch`): the
//! cheapest way librdkafka hands out messages, so the ceiling for any binding of it.
//! Prints one JSON object: count, timed_count, timed_bytes, seconds, bytes, checksum, setup_seconds,
//! maxrss_kb.

use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 6 {
        eprintln!("usage: {} BOOTSTRAP TOPIC GROUP EXPECTED plain|checksum [key=value ...]", args[0]);
        std::process::exit(2);
    }
    let (bootstrap, topic, group) = (&args[1], &args[2], &args[3]);
    let expected: u64 = args[4].parse().expect("EXPECTED must be an integer");
    let (checksum, batch) = match args[5].as_str() {
        "plain" => (false, false),
        "checksum" => (true, false),
        "plain-batch" => (false, true),
        "checksum-batch" => (true, true),
        other => panic!("unknown mode {other}"),
    };
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false");
    for extra in &args[6..] {
        let (k, v) = extra.split_once('=').expect("extra config must be key=value");
        config.set(k, v);
    }
    let t_setup = Instant::now();
    let consumer: BaseConsumer = config.create().expect("consumer");
    if !batch {
        consumer.subscribe(&[topic.as_str()]).expect("subscribe");
    }

    let mut count: u64 = 0;
    let mut bytes: u64 = 0;
    let mut crc: u32 = 0;
    let mut offsets: i64 = 0;
    let mut key_bytes: u64 = 0;
    let mut start: Option<Instant> = None;
    let mut setup = 0.0;
    let mut base: (u64, u64) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut process = |offset: i64, key: Option<&[u8]>, payload: Option<&[u8]>| {
        offsets = offsets.wrapping_add(offset);
        key_bytes += key.map_or(0, |k| k.len() as u64);
        let payload = payload.unwrap_or(&[]);
        bytes += payload.len() as u64;
        if checksum {
            crc ^= crc32fast::hash(payload);
        }
        count += 1;
        // The clock starts once the first message is processed (as in the Python workers).
        if start.is_none() {
            setup = t_setup.elapsed().as_secs_f64();
            start = Some(Instant::now());
            base = (count, bytes);
        }
        count
    };
    if batch {
        consume_batches(&consumer, topic, expected, deadline, &mut process);
    } else {
        let mut done = 0;
        while done < expected {
            if Instant::now() > deadline {
                eprintln!("timed out after {done} messages");
                std::process::exit(1);
            }
            match consumer.poll(Duration::from_millis(100)) {
                None => continue,
                Some(Err(e)) => {
                    eprintln!("consumer error: {e}");
                    continue;
                }
                Some(Ok(msg)) => done = process(msg.offset(), msg.key(), msg.payload()),
            }
        }
    }
    let seconds = start.map_or(0.0, |s| s.elapsed().as_secs_f64());
    println!(
        "{{\"count\": {count}, \"timed_count\": {}, \"timed_bytes\": {}, \"seconds\": {seconds}, \"bytes\": {bytes}, \"checksum\": {crc}, \"key_bytes\": {key_bytes}, \"offset_sum\": {offsets}, \"setup_seconds\": {setup}, \"maxrss_kb\": {}}}",
        count - base.0,
        bytes - base.1,
        vm_hwm_kb()
    );
    // Skip the group leave / handle teardown: the result is out and the group is throw-away.
    std::process::exit(0);
}

/// Consumes with `rd_kafka_consume_batch_queue` (up to 1000 messages per call) from the consumer
/// queue. The batch API serves a group rebalance without rebalance callback by unassigning, so this
/// mode assigns every partition of the topic itself, from the beginning (the group is not used).
fn consume_batches(consumer: &BaseConsumer, topic: &str, expected: u64, deadline: Instant, process: &mut impl FnMut(i64, Option<&[u8]>, Option<&[u8]>) -> u64) {
    use rdkafka::bindings as rdsys;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(30)).expect("metadata");
    let mut assignment = rdkafka::TopicPartitionList::new();
    for partition in metadata.topics()[0].partitions() {
        assignment.add_partition_offset(topic, partition.id(), rdkafka::Offset::Beginning).expect("partition");
    }
    consumer.assign(&assignment).expect("assign");
    let native = consumer.client().native_ptr();
    // SAFETY: a live consumer handle with a group: the consumer queue exists; the reference we get
    // is released below.
    let queue = unsafe { rdsys::rd_kafka_queue_get_consumer(native) };
    assert!(!queue.is_null(), "no consumer queue");
    let mut messages: Vec<*mut rdsys::rd_kafka_message_t> = vec![std::ptr::null_mut(); 1000];
    let mut done = 0;
    let slice = |ptr: *const std::ffi::c_void, len: usize| {
        // SAFETY: librdkafka's key/payload pointer and length, valid until the message is destroyed.
        (!ptr.is_null()).then(|| unsafe { std::slice::from_raw_parts(ptr as *const u8, len) })
    };
    while done < expected {
        if Instant::now() > deadline {
            eprintln!("timed out after {done} messages");
            std::process::exit(1);
        }
        // SAFETY: `queue` is live and `messages` has room for its length.
        let n = unsafe { rdsys::rd_kafka_consume_batch_queue(queue, 100, messages.as_mut_ptr(), messages.len()) };
        for &msg in &messages[..n.max(0) as usize] {
            // SAFETY: librdkafka handed us `n` live messages; each is read, then destroyed once.
            unsafe {
                let m = &*msg;
                if m.err == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                    done = process(m.offset, slice(m.key, m.key_len), slice(m.payload, m.len));
                } else {
                    eprintln!("consumer error: {:?}", m.err);
                }
                rdsys::rd_kafka_message_destroy(msg);
            }
        }
    }
    // SAFETY: our reference from rd_kafka_queue_get_consumer, released once.
    unsafe { rdsys::rd_kafka_queue_destroy(queue) };
}
