//! Reading and writing for the streaming walkers, with every failure
//! sorted: the input ended or broke its format ([`Fault::Corrupt`], which
//! makes the output an unchanged copy), or real I/O failed on one side.

use std::io::{self, BufRead, Read, Write};

/// Why a walker stopped.
#[derive(Debug)]
pub(crate) enum Fault {
    /// The input is not a well-formed file of its type (or ends early).
    Corrupt,
    /// Reading the input failed.
    Read(io::Error),
    /// Writing the output failed.
    Write(io::Error),
}

/// Fills `buf` from `r`; an early end is [`Fault::Corrupt`].
pub(crate) fn read_exact(r: &mut impl Read, buf: &mut [u8]) -> Result<(), Fault> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => Fault::Corrupt,
        _ => Fault::Read(e),
    })
}

/// One byte of `r`.
pub(crate) fn byte(r: &mut impl Read) -> Result<u8, Fault> {
    let mut b = [0u8; 1];
    read_exact(r, &mut b)?;
    Ok(b[0])
}

/// `n` bytes of `r` into a new vector (`n` is bounded by the caller).
pub(crate) fn read_vec(r: &mut impl Read, n: usize) -> Result<Vec<u8>, Fault> {
    let mut v = vec![0u8; n];
    read_exact(r, &mut v)?;
    Ok(v)
}

pub(crate) fn write(w: &mut impl Write, bytes: &[u8]) -> Result<(), Fault> {
    w.write_all(bytes).map_err(Fault::Write)
}

/// Copies exactly `n` bytes from `r` to `w` through `r`'s buffer.
pub(crate) fn copy_n(r: &mut impl BufRead, w: &mut impl Write, mut n: u64) -> Result<(), Fault> {
    while n > 0 {
        let buf = r.fill_buf().map_err(Fault::Read)?;
        if buf.is_empty() {
            return Err(Fault::Corrupt);
        }
        let take = buf.len().min(usize::try_from(n).unwrap_or(usize::MAX));
        write(w, &buf[..take])?;
        r.consume(take);
        n -= take as u64;
    }
    Ok(())
}

/// Skips exactly `n` bytes of `r`.
pub(crate) fn skip_n(r: &mut impl BufRead, mut n: u64) -> Result<(), Fault> {
    while n > 0 {
        let buf = r.fill_buf().map_err(Fault::Read)?;
        if buf.is_empty() {
            return Err(Fault::Corrupt);
        }
        let take = buf.len().min(usize::try_from(n).unwrap_or(usize::MAX));
        r.consume(take);
        n -= take as u64;
    }
    Ok(())
}

/// Copies the rest of `r` to `w`.
pub(crate) fn copy_all(r: &mut impl BufRead, w: &mut impl Write) -> Result<(), Fault> {
    loop {
        let buf = r.fill_buf().map_err(Fault::Read)?;
        if buf.is_empty() {
            return Ok(());
        }
        let n = buf.len();
        write(w, buf)?;
        r.consume(n);
    }
}

/// Whether `r` has any byte left.
pub(crate) fn at_end(r: &mut impl BufRead) -> Result<bool, Fault> {
    Ok(r.fill_buf().map_err(Fault::Read)?.is_empty())
}
