//! PDF: through `lopdf`, which loads the whole document.
//!
//! Removed: the trailer's `/Info` dictionary (Author, Title, Subject,
//! Keywords, Creator, Producer, dates), the catalog's and every page's
//! `/Metadata` stream (XMP) and `/PieceInfo`. The document is then written
//! anew with only the objects still reachable from its trailer, so earlier
//! revisions (incremental updates, which keep old Info dictionaries) and
//! orphaned objects are gone too.
//!
//! Not removed: metadata inside embedded images and fonts, annotations
//! (comments name their author), form field values, embedded files,
//! object-level `/Metadata` on images, JavaScript, the document `/ID`.
//!
//! Copied unchanged: files over [`Limits::max_pdf_bytes`], files `lopdf`
//! cannot parse (or panics on), and encrypted files (lopdf would decrypt
//! them with the empty user password and write them out decrypted).

use super::stream::Fault;
use super::{note, Cleaned, Limits, Removed, Unchanged};
use lopdf::{Dictionary, Document, Object, ObjectId};
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};

pub(crate) fn strip(source: &File, target: &File, limits: &Limits) -> Result<Cleaned, Fault> {
    let size = source.metadata().map_err(Fault::Read)?.len();
    if size > limits.max_pdf_bytes {
        return Ok(Err(Unchanged::TooLarge));
    }
    // Read here, so that a failing disk is an error and everything lopdf
    // reports is about the content (a truncated file is an I/O
    // UnexpectedEof inside lopdf).
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    let mut reader = source;
    reader.rewind().map_err(Fault::Read)?;
    reader.take(limits.max_pdf_bytes.saturating_add(1)).read_to_end(&mut bytes).map_err(Fault::Read)?;
    if bytes.len() as u64 > limits.max_pdf_bytes {
        return Ok(Err(Unchanged::TooLarge));
    }
    // A parser panic on hostile input is a corrupt file, not a crashed
    // server thread.
    let mut doc = match catch_unwind(|| Document::load_mem(&bytes)) {
        Ok(Ok(doc)) => doc,
        // lopdf fails on a file that needs a user password: say why when
        // the file names an encryption dictionary.
        Ok(Err(_)) | Err(_) if bytes.windows(8).any(|w| w == b"/Encrypt") => return Ok(Err(Unchanged::Encrypted)),
        Ok(Err(_)) | Err(_) => return Ok(Err(Unchanged::Corrupt)),
    };
    drop(bytes);
    if doc.was_encrypted() || doc.is_encrypted() {
        return Ok(Err(Unchanged::Encrypted));
    }
    let removed = match catch_unwind(AssertUnwindSafe(|| clean(&mut doc))) {
        Ok(Ok(removed)) => removed,
        Ok(Err(())) | Err(_) => return Ok(Err(Unchanged::Corrupt)),
    };
    let mut writer = BufWriter::with_capacity(64 << 10, target);
    match catch_unwind(AssertUnwindSafe(|| doc.save_to(&mut writer))) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(Fault::Write(e)),
        Err(_) => return Ok(Err(Unchanged::Corrupt)),
    }
    writer.flush().map_err(Fault::Write)?;
    Ok(Ok(removed))
}

fn clean(doc: &mut Document) -> Result<Vec<Removed>, ()> {
    let mut removed = Vec::new();
    if doc.trailer.remove(b"Info").is_some() {
        note(&mut removed, Removed::DocumentInfo);
    }
    let catalog = doc.catalog_mut().map_err(|_| ())?;
    strip_dictionary(catalog, &mut removed);
    let pages: Vec<_> = doc.get_pages().into_values().collect();
    for page in pages {
        if let Ok(dict) = doc.get_dictionary_mut(page) {
            strip_dictionary(dict, &mut removed);
        }
    }
    prune(doc);
    Ok(removed)
}

/// Removes every object the trailer does not reach. (lopdf's own
/// `prune_objects` keeps its visited list in a `Vec`: quadratic in the
/// number of objects, a minute for a 2 MB file of small objects.)
fn prune(doc: &mut Document) {
    let mut reached: HashSet<ObjectId> = HashSet::new();
    let mut queue: Vec<ObjectId> = Vec::new();
    let visit = |object: &Object, reached: &mut HashSet<ObjectId>, queue: &mut Vec<ObjectId>| {
        references(object, &mut |id| {
            if reached.insert(id) {
                queue.push(id);
            }
        })
    };
    for (_, value) in doc.trailer.iter() {
        visit(value, &mut reached, &mut queue);
    }
    while let Some(id) = queue.pop() {
        if let Some(object) = doc.objects.get(&id) {
            visit(object, &mut reached, &mut queue);
        }
    }
    doc.objects.retain(|id, _| reached.contains(id));
}

/// Calls `found` with every reference inside `object` (nesting is bounded
/// by lopdf's parser, 100 levels).
fn references(object: &Object, found: &mut impl FnMut(ObjectId)) {
    match object {
        Object::Reference(id) => found(*id),
        Object::Array(items) => items.iter().for_each(|item| references(item, found)),
        Object::Dictionary(dict) => dict.iter().for_each(|(_, v)| references(v, found)),
        Object::Stream(stream) => stream.dict.iter().for_each(|(_, v)| references(v, found)),
        _ => {}
    }
}

fn strip_dictionary(dict: &mut Dictionary, removed: &mut Vec<Removed>) {
    if dict.remove(b"Metadata").is_some() {
        note(removed, Removed::Xmp);
    }
    if dict.remove(b"PieceInfo").is_some() {
        note(removed, Removed::PieceInfo);
    }
}
