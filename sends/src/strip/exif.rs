//! What is kept of an EXIF block: its orientation, nothing else.
//!
//! Orientation is recorded, not applied: applying it means decoding and
//! re-encoding the image (a second lossy JPEG generation, codecs in the
//! server, time and memory that grow with the pixels). A one-entry EXIF
//! holding only Orientation (tag 0x0112, a number from 1 to 8) says nothing
//! about the sender, and every viewer that honoured the original still
//! turns the picture the same way.

use exif::{Context, In, Reader, Tag};

/// What a (TIFF-structured) EXIF block says that matters here.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Seen {
    /// The primary image's orientation when it is not the default (2..=8).
    pub orientation: Option<u16>,
    /// It held GPS fields.
    pub gps: bool,
}

/// Reads an EXIF block (starting with the TIFF header `II*\0` or `MM\0*`);
/// a block that does not parse yields nothing (it is dropped either way).
pub(crate) fn read(tiff: &[u8]) -> Seen {
    let Ok(exif) = Reader::new().read_raw(tiff.to_vec()) else {
        return Seen::default();
    };
    let orientation = exif
        .get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .filter(|o| (2..=8).contains(o))
        .map(|o| o as u16);
    let gps = exif.fields().any(|f| f.tag.context() == Context::Gps);
    Seen { orientation, gps }
}

/// A TIFF-structured EXIF block holding only `orientation`: big-endian
/// header, one IFD with one SHORT entry, no next IFD (26 bytes).
pub(crate) fn orientation_only(orientation: u16) -> Vec<u8> {
    let mut t = b"MM\0\x2a\0\0\0\x08".to_vec(); // header, IFD0 at offset 8
    t.extend_from_slice(&[0, 1]); // one entry
    t.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1]); // Orientation, SHORT, count 1
    t.extend_from_slice(&orientation.to_be_bytes());
    t.extend_from_slice(&[0, 0]); // value padding
    t.extend_from_slice(&[0, 0, 0, 0]); // no next IFD
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_orientation_only_block_reads_back_as_that_orientation_and_nothing_else() {
        for o in 2..=8u16 {
            let block = orientation_only(o);
            assert_eq!(read(&block), Seen { orientation: Some(o), gps: false });
            let exif = Reader::new().read_raw(block).unwrap();
            assert_eq!(exif.fields().count(), 1);
        }
    }

    #[test]
    fn garbage_yields_nothing() {
        assert_eq!(read(b"not a tiff at all"), Seen::default());
    }
}
