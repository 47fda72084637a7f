//! Speed and memory benchmark: `cargo run --release -p prosa-nlu --example bench`
//!
//! Prints the model load time (parse + train of the embedded data), the per-message
//! classification latency (p50/p99 over the test split repeated) and the peak resident memory
//! (`VmHWM` from `/proc/self/status`).

use std::hint::black_box;
use std::time::Instant;

use prosa_nlu::Nlu;

const TEST_DATA: &str = include_str!("../data/test.jsonl");
const ROUNDS: usize = 30;

fn status(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .map(|l| l[field.len()..].trim().to_string())
        })
        .unwrap_or_else(|| "n/a".into())
}

fn main() {
    let texts: Vec<String> = TEST_DATA
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();

    let mut loads = Vec::new();
    let mut nlu = None;
    for _ in 0..3 {
        let t = Instant::now();
        let n = Nlu::builtin();
        loads.push(t.elapsed());
        nlu = Some(n);
    }
    let nlu = nlu.unwrap();
    loads.sort();
    println!(
        "model load (parse + train), 3 runs: min {:?}, median {:?}, max {:?}",
        loads[0], loads[1], loads[2]
    );

    // Warm-up.
    for t in &texts {
        black_box(nlu.classify(t));
    }
    let mut lat = Vec::with_capacity(texts.len() * ROUNDS);
    let all = Instant::now();
    for _ in 0..ROUNDS {
        for t in &texts {
            let s = Instant::now();
            black_box(nlu.classify(black_box(t)));
            lat.push(s.elapsed().as_nanos() as u64);
        }
    }
    let total = all.elapsed();
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)] as f64 / 1000.0;
    println!(
        "classify: {} messages ({} texts x {ROUNDS}): p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs, throughput {:.0} msg/s (1 thread)",
        lat.len(),
        texts.len(),
        pct(0.50),
        pct(0.99),
        *lat.last().unwrap() as f64 / 1000.0,
        lat.len() as f64 / total.as_secs_f64()
    );
    println!(
        "memory: peak VmHWM {}, current VmRSS {}",
        status("VmHWM:"),
        status("VmRSS:")
    );
}
