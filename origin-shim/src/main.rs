//! origin-shim: not built yet (issue 4).
fn main() {
    eprintln!("origin-shim: not built yet");
    std::process::exit(2);
}
