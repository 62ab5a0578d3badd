//! The wasm boundary's readers (`oncelink_edge::json`): the request, the
//! pending of `need_body`/`need_file_size`, the body, the file size, the
//! pending of `need_store` and the store's reply are
//! read by the core's own JSON reader, which must read every document it
//! accepts exactly as serde_json reads it into the same type, and refuse
//! only what serde_json refuses, with one exception: serde's derive also
//! reads a struct from an array of its fields in order (`["GET","/a"]`),
//! a form no host sends and the core refuses (this target found it). The
//! first byte picks the shape; the rest is the document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oncelink_edge::decide::file_size_from_json;
use oncelink_edge::{Awaiting, Body, Pending, Request, StoreReply};
use std::fmt::Debug;

/// Whether `doc` has a `[` outside its strings: the only way serde reads
/// one of these shapes from an array. Only `Pending` has list fields, so for
/// it this excuses more than the struct-as-array form (the differential
/// property tests in edge/tests/properties.rs hold its lists exactly).
fn has_array(doc: &[u8]) -> bool {
    let (mut in_string, mut escaped) = (false, false);
    for &b in doc {
        match (in_string, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_string = false,
            (false, _, b'"') => in_string = true,
            (false, _, b'[') => return true,
            _ => {}
        }
    }
    false
}

fn agree<T: PartialEq + Debug, E1, E2>(doc: &[u8], ours: Result<T, E1>, serde: Result<T, E2>) {
    match (ours.ok(), serde.ok()) {
        (Some(ours), serde) => assert_eq!(Some(ours), serde, "the core read a document serde reads otherwise or refuses"),
        (None, Some(value)) => assert!(has_array(doc), "the core refused a document serde reads: {value:?}"),
        (None, None) => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&shape, doc)) = data.split_first() else { return };
    match shape % 6 {
        0 => agree(doc, Request::from_json(doc), serde_json::from_slice::<Request>(doc)),
        1 => agree(doc, Awaiting::from_json(doc), serde_json::from_slice::<Awaiting>(doc)),
        2 => agree(doc, Body::from_json(doc), serde_json::from_slice::<Body>(doc)),
        3 => agree(doc, file_size_from_json(doc), serde_json::from_slice::<Option<u64>>(doc)),
        4 => agree(doc, Pending::from_json(doc), serde_json::from_slice::<Pending>(doc)),
        _ => agree(doc, StoreReply::from_json(doc), serde_json::from_slice::<StoreReply>(doc)),
    }
});
