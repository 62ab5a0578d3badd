//! Metadata stripping, file to file.
//!
//! [`strip`] reads `input`, sniffs its type from its first bytes (never from
//! a name) and writes a cleaned copy to `output`:
//! - JPEG, PNG and WebP are walked as containers, streaming: one segment or
//!   chunk header at a time, image data copied through a fixed buffer, so
//!   memory does not grow with the file. Only segments and chunks on an
//!   allow-list of what a decoder needs are kept (see `docs/sends.md`).
//! - PDF is loaded whole by `lopdf` (a PDF's objects are reached through a
//!   cross-reference table at its end): files above [`Limits::max_pdf_bytes`]
//!   are copied unchanged.
//!
//! A file this module cannot clean (an unknown type, a corrupt or encrypted
//! file, a PDF over the cap) is copied unchanged and reported with
//! `stripped: false` and the reason: the upload is never lost and never
//! refused here. Only real I/O failures are errors.

mod exif;
mod jpeg;
#[cfg(feature = "pdf")]
mod pdf;
mod png;
mod stream;
mod webp;

use crate::Error;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::path::Path;
use stream::Fault;

/// Bounds on what [`strip`] parses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// PDFs larger than this are copied unchanged ([`Unchanged::TooLarge`]):
    /// `lopdf` holds the whole document, decoded, in memory.
    pub max_pdf_bytes: u64,
}

impl Default for Limits {
    /// 64 MiB of PDF.
    fn default() -> Self {
        Limits { max_pdf_bytes: 64 << 20 }
    }
}

/// The type of a file, from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Starts `FF D8 FF`.
    Jpeg,
    /// Starts with the PNG signature.
    Png,
    /// `RIFF`, a size, `WEBP`.
    Webp,
    /// Starts `%PDF-`.
    Pdf,
    /// Anything else (ZIP, DOCX, video, text...).
    Unknown,
}

impl Kind {
    /// The stable name of the type (`jpeg`, `png`, `webp`, `pdf`, `unknown`).
    pub fn code(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpeg",
            Kind::Png => "png",
            Kind::Webp => "webp",
            Kind::Pdf => "pdf",
            Kind::Unknown => "unknown",
        }
    }

    /// The type of a file that starts with `head` (at least 12 bytes of it
    /// when the file has them).
    pub fn sniff(head: &[u8]) -> Kind {
        if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Kind::Jpeg
        } else if head.starts_with(png::SIGNATURE) {
            Kind::Png
        } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
            Kind::Webp
        } else if head.starts_with(b"%PDF-") {
            Kind::Pdf
        } else {
            Kind::Unknown
        }
    }
}

/// What was taken out of a file (each at most once in a report).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Removed {
    /// EXIF (camera, times, serial numbers, thumbnails...).
    Exif,
    /// The EXIF held a GPS position.
    Gps,
    /// XMP (RDF/XML packets: JPEG APP1, PNG iTXt `XML:com.adobe.xmp`, WebP
    /// `XMP `, the PDF catalog's and pages' `/Metadata` streams).
    Xmp,
    /// Photoshop resources with IPTC (JPEG APP13).
    Iptc,
    /// JPEG comments (COM).
    Comment,
    /// A thumbnail (JFIF's own or a JFXX extension).
    Thumbnail,
    /// PNG text chunks (tEXt, zTXt, iTXt).
    Text,
    /// The PNG modification time (tIME).
    Time,
    /// The PDF document information dictionary (Author, Title, Creator,
    /// Producer, dates...).
    DocumentInfo,
    /// PDF `/PieceInfo` (application private data).
    PieceInfo,
    /// Bytes after the end of the image (appended images, vendor trailers).
    TrailingData,
    /// Another segment or chunk not on the allow-list, by its name (e.g.
    /// `APP2 MPF`, `caNv`).
    Other(String),
}

impl Removed {
    /// A short stable name (`exif`, `gps`, ... `other:NAME`).
    pub fn code(&self) -> String {
        match self {
            Removed::Exif => "exif".into(),
            Removed::Gps => "gps".into(),
            Removed::Xmp => "xmp".into(),
            Removed::Iptc => "iptc".into(),
            Removed::Comment => "comment".into(),
            Removed::Thumbnail => "thumbnail".into(),
            Removed::Text => "text".into(),
            Removed::Time => "time".into(),
            Removed::DocumentInfo => "document_info".into(),
            Removed::PieceInfo => "piece_info".into(),
            Removed::TrailingData => "trailing_data".into(),
            Removed::Other(name) => format!("other:{name}"),
        }
    }
}

/// Why a file was copied unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unchanged {
    /// A type this module does not clean.
    UnknownType,
    /// The file is not a well-formed file of its type (truncated, broken
    /// structure).
    Corrupt,
    /// A PDF over [`Limits::max_pdf_bytes`].
    TooLarge,
    /// An encrypted PDF: cleaning it would mean decrypting it.
    Encrypted,
}

impl Unchanged {
    /// The stable code (`unknown_type`, `corrupt`, `too_large`, `encrypted`).
    pub fn code(self) -> &'static str {
        match self {
            Unchanged::UnknownType => "unknown_type",
            Unchanged::Corrupt => "corrupt",
            Unchanged::TooLarge => "too_large",
            Unchanged::Encrypted => "encrypted",
        }
    }
}

/// The outcome of [`strip`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stripped {
    /// The sniffed type.
    pub kind: Kind,
    /// The output is the cleaned file (true), or an unchanged copy (false).
    pub stripped: bool,
    /// What was removed (empty when the file held none of it).
    pub removed: Vec<Removed>,
    /// Why the output is an unchanged copy, when `stripped` is false.
    pub unchanged: Option<Unchanged>,
}

/// Writes a copy of `input` without its metadata to `output`, which must not
/// exist (it is created with mode 0600, synced before this returns).
///
/// Never fails for what a file contains: see [`Stripped`]. Fails only when
/// `input` cannot be read or `output` written, and then removes `output`.
pub fn strip(input: &Path, output: &Path, limits: &Limits) -> Result<Stripped, Error> {
    let read_failed = |e| Error::ReadInput(input.to_owned(), e);
    let mut source = File::open(input).map_err(read_failed)?;
    let mut head = [0u8; 12];
    let head_len = read_up_to(&mut source, &mut head).map_err(read_failed)?;
    source.rewind().map_err(read_failed)?;
    let kind = Kind::sniff(&head[..head_len]);

    let target = create_new(output).map_err(|e| Error::WriteOutput(output.to_owned(), e))?;
    let result = write_stripped(kind, source, target, limits);
    if result.is_err() {
        let _ = std::fs::remove_file(output);
    }
    result.map_err(|fault| match fault {
        Fault::Read(e) => Error::ReadInput(input.to_owned(), e),
        // A walker's Corrupt becomes an unchanged copy in write_stripped.
        Fault::Corrupt => Error::ReadInput(input.to_owned(), io::ErrorKind::InvalidData.into()),
        Fault::Write(e) => Error::WriteOutput(output.to_owned(), e),
    })
}

fn write_stripped(kind: Kind, source: File, target: File, limits: &Limits) -> Result<Stripped, Fault> {
    let cleaned = match kind {
        Kind::Jpeg => stream_walk(&source, &target, jpeg::strip),
        Kind::Png => stream_walk(&source, &target, png::strip),
        Kind::Webp => stream_walk(&source, &target, webp::strip),
        #[cfg(feature = "pdf")]
        Kind::Pdf => pdf::strip(&source, &target, limits),
        // A build without the `pdf` feature (the fuzz targets) cleans no PDF.
        #[cfg(not(feature = "pdf"))]
        Kind::Pdf => {
            let _ = limits;
            Ok(Err(Unchanged::UnknownType))
        }
        Kind::Unknown => Ok(Err(Unchanged::UnknownType)),
    };
    let outcome = match cleaned {
        Ok(outcome) => outcome,
        Err(Fault::Corrupt) => Err(Unchanged::Corrupt),
        Err(fault) => return Err(fault),
    };
    let stripped = match outcome {
        Ok(removed) => Stripped { kind, stripped: true, removed, unchanged: None },
        Err(reason) => {
            copy_unchanged(&source, &target)?;
            Stripped { kind, stripped: false, removed: Vec::new(), unchanged: Some(reason) }
        }
    };
    target.sync_all().map_err(Fault::Write)?;
    Ok(stripped)
}

/// What a cleaner did: the list of what it removed, or why the file must
/// be copied unchanged.
type Cleaned = Result<Vec<Removed>, Unchanged>;

/// A streaming walker (jpeg, png, webp): cleans from its reader into its
/// writer and lists what it removed.
type Walker<'f> = fn(&mut BufReader<&'f File>, &mut BufWriter<&'f File>) -> Result<Vec<Removed>, Fault>;

/// Runs a streaming container walker from the start of `source` into
/// `target`. Its `Ok` is the list of what it removed.
fn stream_walk<'f>(mut source: &'f File, target: &'f File, walk: Walker<'f>) -> Result<Cleaned, Fault> {
    source.rewind().map_err(Fault::Read)?;
    let mut reader = BufReader::with_capacity(64 << 10, source);
    let mut writer = BufWriter::with_capacity(64 << 10, target);
    let removed = walk(&mut reader, &mut writer)?;
    writer.flush().map_err(Fault::Write)?;
    Ok(Ok(removed))
}

/// Replaces whatever `target` holds with a byte-for-byte copy of `source`.
fn copy_unchanged(mut source: &File, mut target: &File) -> Result<(), Fault> {
    source.rewind().map_err(Fault::Read)?;
    target.set_len(0).map_err(Fault::Write)?;
    target.rewind().map_err(Fault::Write)?;
    let mut reader = BufReader::with_capacity(64 << 10, source);
    stream::copy_all(&mut reader, &mut target)
}

fn read_up_to(source: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match source.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn create_new(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Adds `item` to `list` unless it is there already.
fn note(list: &mut Vec<Removed>, item: Removed) {
    if !list.contains(&item) {
        list.push(item);
    }
}
