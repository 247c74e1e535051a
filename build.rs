//! Link-time settings. `--wrap` routes librdkafka's calls of one internal function through our
//! guard (src/librdkafka_fixes.rs), for a crash librdkafka has not fixed yet.
fn main() {
    println!("cargo:rustc-link-arg=-Wl,--wrap=rd_kafka_cgrp_op");
    println!("cargo:rerun-if-changed=build.rs");
}
