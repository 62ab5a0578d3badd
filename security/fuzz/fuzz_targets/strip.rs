//! The metadata strippers of `oncelink-sends` on any bytes: never an error
//! for what a file holds (only I/O fails), an unchanged copy is the input
//! byte for byte, and a cleaned file is clean for good: stripping it again
//! gives the same bytes. PDFs are left to the unit tests (lopdf parses the
//! whole file; too slow per execution to fuzz within CI's seconds), so a
//! `%PDF-` input is skipped here.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oncelink_sends::{strip, Kind, Limits};
use std::path::PathBuf;

/// One folder per process on tmpfs where there is one (an execution writes
/// three small files).
fn scratch() -> PathBuf {
    let base = if std::path::Path::new("/dev/shm").is_dir() { "/dev/shm" } else { "/tmp" };
    let dir = PathBuf::from(base).join(format!("oncelink-fuzz-strip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

fuzz_target!(|data: &[u8]| {
    if Kind::sniff(&data[..data.len().min(12)]) == Kind::Pdf {
        return;
    }
    let dir = scratch();
    let (input, once, twice) = (dir.join("in"), dir.join("once"), dir.join("twice"));
    for p in [&input, &once, &twice] {
        let _ = std::fs::remove_file(p);
    }
    std::fs::write(&input, data).expect("write input");
    let first = strip(&input, &once, &Limits::default()).expect("stripping failed on content, not I/O");
    let out = std::fs::read(&once).expect("read output");
    if !first.stripped {
        assert_eq!(out, data, "an unchanged copy ({:?}) differs from the input", first.unchanged);
        return;
    }
    let second = strip(&once, &twice, &Limits::default()).expect("stripping the cleaned file failed");
    let again = std::fs::read(&twice).expect("read second output");
    assert!(second.stripped, "a cleaned file is not cleanable again: {:?}", second.unchanged);
    assert_eq!(again, out, "stripping a cleaned file changed it again (removed {:?})", second.removed);
});
