//! The TIFF header and IFD entries from bytes already read: no I/O, every read checked.
//!
//! Classic TIFF is TIFF 6.0 §2 ("Structure"): an 8-byte header, IFDs of a 2-byte entry
//! count, 12-byte entries and a 4-byte next offset. BigTIFF (the BigTIFF design,
//! <https://www.awaresystems.be/imaging/tiff/bigtiff.html>) has version 43, a 16-byte
//! header, 8-byte counts, 20-byte entries and 8-byte offsets; the rest is the same.

use super::{TiffError, MAX_IFD_ENTRIES};

/// Bytes read from the object so far, by offset.
pub(super) trait Source {
    /// `len` bytes at `offset`, if they have been read.
    fn get(&self, offset: u64, len: u64) -> Option<&[u8]>;
}

/// A whole object in memory (tests, fuzzing).
impl Source for [u8] {
    fn get(&self, offset: u64, len: u64) -> Option<&[u8]> {
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        self.get(start..end)
    }
}

/// What the header fixes for the whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Header {
    /// `MM`: Motorola order; `II`: Intel order (§2, "Image File Header").
    pub big_endian: bool,
    /// BigTIFF: 8-byte counts and offsets.
    pub big: bool,
    /// Offset of the first IFD.
    pub first_ifd: u64,
}

impl Header {
    /// Reads the header at the start of `b`.
    ///
    /// # Errors
    /// [`TiffError::NotTiff`] unless it is a classic or BigTIFF header.
    pub fn parse(b: &[u8]) -> Result<Header, TiffError> {
        let big_endian = match b.get(..2) {
            Some(b"II") => false,
            Some(b"MM") => true,
            _ => return Err(TiffError::NotTiff),
        };
        let probe = Header {
            big_endian,
            big: false,
            first_ifd: 0,
        };
        match probe.uint(b.get(2..4).ok_or(TiffError::NotTiff)?) {
            Some(42) => {
                let first_ifd = probe.uint(b.get(4..8).ok_or(TiffError::NotTiff)?);
                Ok(Header {
                    first_ifd: first_ifd.ok_or(TiffError::NotTiff)?,
                    ..probe
                })
            }
            // BigTIFF: bytesize of offsets (always 8), then a zero constant.
            Some(43) => {
                let big = Header { big: true, ..probe };
                let sizes = (
                    big.uint(b.get(4..6).ok_or(TiffError::NotTiff)?),
                    b.get(6..8),
                );
                if sizes != (Some(8), Some(&[0, 0][..])) {
                    return Err(TiffError::malformed(
                        "BigTIFF header with offsets not 8 bytes",
                    ));
                }
                let first_ifd = big.uint(b.get(8..16).ok_or(TiffError::NotTiff)?);
                Ok(Header {
                    first_ifd: first_ifd.ok_or(TiffError::NotTiff)?,
                    ..big
                })
            }
            _ => Err(TiffError::NotTiff),
        }
    }

    /// Bytes of an IFD's entry count.
    pub fn count_len(&self) -> u64 {
        if self.big {
            8
        } else {
            2
        }
    }

    /// Bytes of an offset, and of an entry's value field.
    pub fn offset_len(&self) -> u64 {
        if self.big {
            8
        } else {
            4
        }
    }

    fn entry_len(&self) -> u64 {
        if self.big {
            20
        } else {
            12
        }
    }

    /// Bytes of an IFD of `entries` entries, count and next offset included.
    pub fn ifd_len(&self, entries: u64) -> u64 {
        self.count_len() + entries * self.entry_len() + self.offset_len()
    }

    /// An unsigned integer of 1, 2, 4 or 8 bytes in the file's byte order.
    pub fn uint(&self, b: &[u8]) -> Option<u64> {
        let mut v = 0u64;
        if !matches!(b.len(), 1 | 2 | 4 | 8) {
            return None;
        }
        for i in 0..b.len() {
            let byte = if self.big_endian {
                b.get(i)
            } else {
                b.get(b.len() - 1 - i)
            };
            v = (v << 8) | u64::from(*byte?);
        }
        Some(v)
    }

    /// The entry count at the start of an IFD.
    ///
    /// # Errors
    /// [`TiffError::Malformed`] for more than [`MAX_IFD_ENTRIES`], or none.
    pub fn entry_count(&self, b: &[u8]) -> Result<u64, TiffError> {
        let count_len = usize::from(self.big) * 6 + 2;
        let n = b.get(..count_len).and_then(|c| self.uint(c));
        match n {
            Some(n @ 1..=MAX_IFD_ENTRIES) => Ok(n),
            Some(n) => Err(TiffError::Malformed(format!(
                "IFD with {n} entries (at least 1, at most {MAX_IFD_ENTRIES})"
            ))),
            None => Err(TiffError::malformed("IFD cut short")),
        }
    }
}

/// One IFD entry (§2, "IFD Entry"), its value field kept as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry {
    /// The tag.
    pub tag: u16,
    /// The field type (1 BYTE, 3 SHORT, 4 LONG, 16 LONG8, ...).
    pub kind: u16,
    /// Number of values.
    pub count: u64,
    /// The value field: the value itself when it fits, else its offset. 4 bytes classic,
    /// 8 BigTIFF, left-aligned.
    field: [u8; 8],
}

/// Where an entry's value lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// In the value field (§2: "if the Value fits within 4 bytes").
    Inline,
    /// Elsewhere in the file.
    At {
        /// Offset.
        offset: u64,
        /// Length in bytes.
        len: u64,
    },
}

/// Bytes of one value of a field type (§2 "Types", BigTIFF adds 16-18).
fn type_len(kind: u16) -> Option<u64> {
    match kind {
        1 | 2 | 6 | 7 => Some(1),
        3 | 8 => Some(2),
        4 | 9 | 11 | 13 => Some(4),
        5 | 10 | 12 | 16 | 17 | 18 => Some(8),
        _ => None,
    }
}

impl Entry {
    /// Where the value lies.
    ///
    /// # Errors
    /// [`TiffError::Malformed`] for an unknown type or a length that overflows.
    pub fn place(&self, h: &Header) -> Result<Place, TiffError> {
        let len = type_len(self.kind)
            .and_then(|t| t.checked_mul(self.count))
            .ok_or_else(|| {
                TiffError::Malformed(format!("tag {} of type {}", self.tag, self.kind))
            })?;
        if len <= h.offset_len() {
            return Ok(Place::Inline);
        }
        let offset = self
            .field
            .get(..h.offset_len() as usize)
            .and_then(|f| h.uint(f));
        Ok(Place::At {
            offset: offset.ok_or_else(|| TiffError::malformed("value field"))?,
            len,
        })
    }

    /// The value's bytes, from the field or from `src`; `None` while not read yet.
    ///
    /// # Errors
    /// As [`Entry::place`].
    pub fn bytes<'a, S: Source + ?Sized>(
        &'a self,
        h: &Header,
        src: &'a S,
    ) -> Result<Option<&'a [u8]>, TiffError> {
        match self.place(h)? {
            Place::Inline => {
                let len = type_len(self.kind).unwrap_or(1) * self.count;
                Ok(self.field.get(..len as usize))
            }
            Place::At { offset, len } => Ok(src.get(offset, len)),
        }
    }

    /// The values of an unsigned integer type (BYTE, SHORT, LONG, LONG8, IFD, IFD8); `None`
    /// while not read yet.
    ///
    /// # Errors
    /// [`TiffError::Malformed`] for any other type.
    pub fn uints<S: Source + ?Sized>(
        &self,
        h: &Header,
        src: &S,
    ) -> Result<Option<Vec<u64>>, TiffError> {
        let size = match self.kind {
            1 | 3 | 4 | 13 | 16 | 18 => type_len(self.kind).unwrap_or(1) as usize,
            _ => {
                return Err(TiffError::Malformed(format!(
                    "tag {} of type {} where an unsigned integer belongs",
                    self.tag, self.kind
                )))
            }
        };
        let Some(bytes) = self.bytes(h, src)? else {
            return Ok(None);
        };
        let values = bytes.chunks_exact(size).filter_map(|c| h.uint(c));
        Ok(Some(values.collect()))
    }

    /// The first value of an inline unsigned integer tag (sizes, codes).
    pub fn scalar(&self, h: &Header) -> Option<u64> {
        let size = match self.kind {
            1 | 3 | 4 | 13 | 16 | 18 => type_len(self.kind)?,
            _ => return None,
        };
        if self.count == 0 || self.place(h).ok()? != Place::Inline {
            return None;
        }
        h.uint(self.field.get(..size as usize)?)
    }
}

/// One IFD: its entries and the offset of the next IFD (0: none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Ifd {
    /// Where it starts.
    pub offset: u64,
    /// Entries in file order.
    pub entries: Vec<Entry>,
    /// The next IFD in its chain, 0 for the last.
    pub next: u64,
}

impl Ifd {
    /// Reads the IFD at the start of `b`, which holds at least [`Header::ifd_len`] bytes.
    ///
    /// # Errors
    /// [`TiffError::Malformed`] for a bad count or too few bytes.
    pub fn parse(h: &Header, offset: u64, b: &[u8]) -> Result<Ifd, TiffError> {
        let n = h.entry_count(b)?;
        let short = || TiffError::malformed("IFD cut short");
        let (count_len, entry_len) = (h.count_len() as usize, h.entry_len() as usize);
        let table = b
            .get(count_len..count_len + n as usize * entry_len)
            .ok_or_else(short)?;
        let entries = table
            .chunks_exact(entry_len)
            .map(|e| {
                let (head, field) = e.split_at(if h.big { 12 } else { 8 });
                let mut stored = [0; 8];
                stored
                    .get_mut(..field.len())
                    .ok_or_else(short)?
                    .copy_from_slice(field);
                Ok(Entry {
                    tag: h.uint(head.get(..2).ok_or_else(short)?).ok_or_else(short)? as u16,
                    kind: h
                        .uint(head.get(2..4).ok_or_else(short)?)
                        .ok_or_else(short)? as u16,
                    count: h.uint(head.get(4..).ok_or_else(short)?).ok_or_else(short)?,
                    field: stored,
                })
            })
            .collect::<Result<Vec<_>, TiffError>>()?;
        let next_at = count_len + table.len();
        let next = b
            .get(next_at..next_at + h.offset_len() as usize)
            .and_then(|f| h.uint(f))
            .ok_or_else(short)?;
        Ok(Ifd {
            offset,
            entries,
            next,
        })
    }

    /// The first entry with this tag.
    pub fn get(&self, tag: u16) -> Option<&Entry> {
        self.entries.iter().find(|e| e.tag == tag)
    }

    /// The first value of an inline unsigned tag, or `default` when the tag is absent.
    ///
    /// # Errors
    /// [`TiffError::Malformed`] when the tag is present but not an inline unsigned integer.
    pub fn scalar_or(&self, h: &Header, tag: u16, default: u64) -> Result<u64, TiffError> {
        match self.get(tag) {
            None => Ok(default),
            Some(e) => e
                .scalar(h)
                .ok_or_else(|| TiffError::Malformed(format!("tag {tag} is not a number"))),
        }
    }
}

#[cfg(test)]
#[path = "ifd_tests.rs"]
mod tests;
