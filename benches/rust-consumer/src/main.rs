//! rust-consumer BOOTSTRAP TOPIC GROUP EXPECTED MODE [key=value ...]
//!
//! Consumes EXPECTED messages of TOPIC from the beginning (fresh GROUP, no commits) with rdkafka's
//! BaseConsumer poll loop, reading each message's offset, key and payload length (MODE `plain`) and
//! also its payload's CRC-32 (MODE `checksum`). Timing starts once the first message is processed.
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
    let checksum = match args[5].as_str() {
        "plain" => false,
        "checksum" => true,
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
    consumer.subscribe(&[topic.as_str()]).expect("subscribe");

    let mut count: u64 = 0;
    let mut bytes: u64 = 0;
    let mut crc: u32 = 0;
    let mut offsets: i64 = 0;
    let mut key_bytes: u64 = 0;
    let mut start: Option<Instant> = None;
    let mut setup = 0.0;
    let mut base: (u64, u64) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(600);
    while count < expected {
        if Instant::now() > deadline {
            eprintln!("timed out after {count} messages");
            std::process::exit(1);
        }
        match consumer.poll(Duration::from_millis(100)) {
            None => continue,
            Some(Err(e)) => {
                eprintln!("consumer error: {e}");
                continue;
            }
            Some(Ok(msg)) => {
                offsets = offsets.wrapping_add(msg.offset());
                key_bytes += msg.key().map_or(0, |k| k.len() as u64);
                let payload = msg.payload().unwrap_or(&[]);
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
