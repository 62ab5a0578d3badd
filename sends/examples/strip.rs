//! `cargo run -p oncelink-sends --example strip -- IN OUT`: strips IN into
//! OUT and prints what was done (for trying files by hand and measuring).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = &args[..] else {
        eprintln!("usage: strip IN OUT");
        std::process::exit(2);
    };
    match oncelink_sends::strip(input.as_ref(), output.as_ref(), &oncelink_sends::Limits::default()) {
        Ok(s) => {
            let removed: Vec<String> = s.removed.iter().map(|r| r.code()).collect();
            let unchanged = s.unchanged.map_or("-", |u| u.code());
            println!(
                "kind={} stripped={} removed={} unchanged={unchanged}",
                s.kind.code(),
                s.stripped,
                removed.join(",")
            );
        }
        Err(e) => {
            eprintln!("{}: {e}", e.code());
            std::process::exit(1);
        }
    }
}
