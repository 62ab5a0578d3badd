//! How deep the decide target's corpus reaches: runs every input of a corpus
//! folder through the target's body (no instrumentation needed) and counts
//! the outcomes. `cargo run --release --example reach -- corpus/decide`
use std::collections::BTreeMap;

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "corpus/decide".into());
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut inputs = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus folder") {
        let data = std::fs::read(entry.expect("entry").path()).expect("input");
        inputs += 1;
        oncelink_fuzz::decide_input(&data, &mut |what| *counts.entry(what.to_string()).or_default() += 1);
    }
    println!("{inputs} inputs in {dir}");
    for (what, n) in counts {
        println!("{n:8}  {what}");
    }
}
