//! The async driver of the pure parsers: which bytes to read, in as few rounds as it can.
//!
//! 1. One read of the first [`FIRST_READ`] bytes: the header, and often (Cloud-Optimized
//!    GeoTIFF puts them first) every IFD and array too.
//! 2. Rounds. Each parses every IFD and builds every level whose bytes it holds, then asks
//!    for what is still missing: an IFD it has only the offset of ([`IFD_WINDOW`] bytes,
//!    which with libtiff's layout, arrays written right after their IFD, holds the arrays
//!    too), the rest of a longer IFD, or the out-of-line arrays of a parsed one. Ranges less
//!    than [`MERGE_GAP`] apart become one read; a round's reads (at most
//!    [`MAX_READS_PER_ROUND`]) are sent together, so a round costs one latency.
//!
//! vips writes a pyramid's IFDs after each level's tiles, one chain link each, so a pyramid
//! of n levels takes 1 + n rounds; with `--subifd` the SubIFDs are known together after
//! IFD0 and take one round between them.

use super::ifd::{Header, Ifd, Source};
use super::layout::{Layout, Level};
use super::level::{build, children, classify, wanted, Kind, Shape};
use super::{RangeRead, TiffError, MAX_ARRAY_BYTES, MAX_IFDS};
use crate::store::StoreError;
use bytes::Bytes;
use std::collections::HashSet;

/// The first read: the header and, in a Cloud-Optimized GeoTIFF, the IFDs.
const FIRST_READ: u64 = 64 << 10;
/// Read at an IFD whose size is unknown: 800 classic entries and, after them, the arrays
/// of a level of some thousand tiles.
const IFD_WINDOW: u64 = 16 << 10;
/// Ranges closer than this are read as one: a gap costs less than a request.
const MERGE_GAP: u64 = 16 << 10;
/// Reads sent together in one round.
const MAX_READS_PER_ROUND: usize = 8;
/// The longest single read: TileOffsets of [`super::MAX_TILES_PER_LEVEL`] LONG8 values.
pub const MAX_READ: u64 = 16 << 20;
/// A safety net under the limits above: every round parses or fetches something new.
const MAX_ROUNDS: usize = 4 * MAX_IFDS + 8;

/// Reads the layout of the tiled TIFF of `object_len` bytes that `r` reads.
///
/// # Errors
/// [`TiffError::NotTiff`], [`TiffError::Malformed`] and [`TiffError::Unsupported`] as the
/// module doc says; [`TiffError::Store`] for a failed or short read.
pub async fn read_layout<R: RangeRead>(r: &R, object_len: u64) -> Result<Layout, TiffError> {
    let first = fetch(r, 0, FIRST_READ.min(object_len)).await?;
    let h = Header::parse(&first)?;
    let mut fetched = Fetched {
        chunks: vec![(0, first)],
    };
    let mut walk = Walk {
        h,
        object_len,
        queue: Vec::new(),
        seen: HashSet::new(),
        waiting: Vec::new(),
        levels: Vec::new(),
        array_bytes: 0,
    };
    walk.enqueue(h.first_ifd, true)?;
    for _ in 0..MAX_ROUNDS {
        let needs = walk.advance(&fetched)?;
        if needs.is_empty() {
            return walk.finish();
        }
        let reads = coalesce(needs);
        let round = reads
            .iter()
            .take(MAX_READS_PER_ROUND)
            .map(|&(o, l)| async move { fetch(r, o, l).await.map(|b| (o, b)) });
        fetched
            .chunks
            .extend(futures_util::future::try_join_all(round).await?);
    }
    Err(TiffError::malformed(
        "IFDs still unread after the round limit",
    ))
}

async fn fetch<R: RangeRead>(r: &R, offset: u64, len: u64) -> Result<Bytes, TiffError> {
    let b = r.read(offset, len).await?;
    if (b.len() as u64) < len {
        return Err(TiffError::Store(StoreError::Failed(format!(
            "read of {len} bytes at {offset} gave {}",
            b.len()
        ))));
    }
    Ok(b.slice(..len as usize))
}

/// The chunks read so far.
struct Fetched {
    chunks: Vec<(u64, Bytes)>,
}

impl Source for Fetched {
    fn get(&self, offset: u64, len: u64) -> Option<&[u8]> {
        self.chunks.iter().find_map(|(at, b)| {
            let start = offset.checked_sub(*at)?;
            b.get(usize::try_from(start).ok()?..usize::try_from(start.checked_add(len)?).ok()?)
        })
    }
}

/// A parsed IFD waiting for its out-of-line values.
struct Waiting {
    ifd: Ifd,
    /// `None`: not a level, read for its SubIFDs only.
    shape: Option<Shape>,
    /// The first IFD of the main chain, the full-resolution image: when it cannot be
    /// served, nothing is. Other IFDs that cannot be are skipped (thumbnails, labels).
    primary: bool,
    ranges: Vec<(u64, u64)>,
}

/// The state between rounds.
struct Walk {
    h: Header,
    object_len: u64,
    /// IFDs to parse: offset, and whether it is the primary one.
    queue: Vec<(u64, bool)>,
    /// Every IFD offset queued: a second visit is a loop.
    seen: HashSet<u64>,
    waiting: Vec<Waiting>,
    levels: Vec<Level>,
    /// Out-of-line bytes asked for so far, against [`MAX_ARRAY_BYTES`].
    array_bytes: u64,
}

impl Walk {
    fn enqueue(&mut self, offset: u64, primary: bool) -> Result<(), TiffError> {
        if !self.seen.insert(offset) {
            return Err(TiffError::Malformed(format!("IFD loop at offset {offset}")));
        }
        if self.seen.len() > MAX_IFDS {
            return Err(TiffError::Unsupported(format!("more than {MAX_IFDS} IFDs")));
        }
        self.queue.push((offset, primary));
        Ok(())
    }

    /// Parses and builds whatever `src` allows; returns the ranges still missing.
    fn advance(&mut self, src: &Fetched) -> Result<Vec<(u64, u64)>, TiffError> {
        loop {
            let mut progress = false;
            let mut needs = Vec::new();
            for (offset, primary) in std::mem::take(&mut self.queue) {
                match self.parse(offset, src)? {
                    Ok(ifd) => {
                        self.accept(ifd, primary)?;
                        progress = true;
                    }
                    Err(need) => {
                        self.queue.push((offset, primary));
                        needs.push(need);
                    }
                }
            }
            for w in std::mem::take(&mut self.waiting) {
                let missing = w.ranges.iter().filter(|&&(o, l)| src.get(o, l).is_none());
                let missing: Vec<(u64, u64)> = missing.copied().collect();
                if missing.is_empty() {
                    self.complete(w, src)?;
                    progress = true;
                } else {
                    needs.extend(missing);
                    self.waiting.push(w);
                }
            }
            if !progress {
                return Ok(needs);
            }
        }
    }

    /// The IFD at `offset`, or the range to read for it.
    fn parse(&self, offset: u64, src: &Fetched) -> Result<Result<Ifd, (u64, u64)>, TiffError> {
        let h = &self.h;
        let beyond = || TiffError::Malformed(format!("IFD at {offset} passes the end"));
        let rest = self.object_len.checked_sub(offset).ok_or_else(beyond)?;
        if rest < h.count_len() {
            return Err(beyond());
        }
        let Some(count) = src.get(offset, h.count_len()) else {
            return Ok(Err((offset, IFD_WINDOW.min(rest))));
        };
        let len = h.ifd_len(h.entry_count(count)?);
        if len > rest {
            return Err(beyond());
        }
        match src.get(offset, len) {
            Some(b) => Ok(Ok(Ifd::parse(h, offset, b)?)),
            None => Ok(Err((offset, len.max(IFD_WINDOW).min(rest)))),
        }
    }

    /// Follows the chain and lists the arrays a parsed IFD needs.
    fn accept(&mut self, ifd: Ifd, primary: bool) -> Result<(), TiffError> {
        if ifd.next != 0 {
            self.enqueue(ifd.next, false)?;
        }
        let shape = match classify(&self.h, &ifd)? {
            Kind::Tiled(shape) => Some(shape),
            Kind::Unsupported(why) if primary => return Err(TiffError::Unsupported(why)),
            Kind::Unsupported(_) | Kind::Mask => None,
        };
        let ranges = wanted(&self.h, &ifd, shape.as_ref())?;
        for &(offset, len) in &ranges {
            if offset
                .checked_add(len)
                .is_none_or(|end| end > self.object_len)
            {
                return Err(TiffError::Malformed(format!(
                    "a value of {len} bytes at {offset} passes the end"
                )));
            }
            self.array_bytes += len;
            if self.array_bytes > MAX_ARRAY_BYTES {
                return Err(TiffError::Unsupported(format!(
                    "more than {MAX_ARRAY_BYTES} bytes of tile arrays"
                )));
            }
        }
        self.waiting.push(Waiting {
            ifd,
            shape,
            primary,
            ranges,
        });
        Ok(())
    }

    fn complete(&mut self, w: Waiting, src: &Fetched) -> Result<(), TiffError> {
        for child in children(&self.h, &w.ifd, src)? {
            self.enqueue(child, false)?;
        }
        let Some(shape) = w.shape else {
            return Ok(());
        };
        match build(&self.h, &w.ifd, &shape, src, self.object_len) {
            Ok(level) => self.levels.push(level),
            Err(TiffError::Unsupported(_)) if !w.primary => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// The levels largest first, without those that are not reductions of the largest
    /// (a label or macro image of another shape) or repeat a size.
    ///
    /// # Errors
    /// [`TiffError::Malformed`] when no IFD is an image (masks only).
    fn finish(mut self) -> Result<Layout, TiffError> {
        if self.levels.is_empty() {
            return Err(TiffError::malformed("no image among the IFDs"));
        }
        self.levels
            .sort_by_key(|l| std::cmp::Reverse((l.width, l.height)));
        let mut levels: Vec<Level> = Vec::with_capacity(self.levels.len());
        for level in self.levels {
            let keep = match (levels.first(), levels.last()) {
                (Some(full), Some(last)) => {
                    let smaller = level.width < last.width || level.height < last.height;
                    smaller && level.height <= last.height && same_shape(full, &level)
                }
                _ => true,
            };
            if keep {
                levels.push(level);
            }
        }
        Ok(Layout { levels })
    }
}

/// Whether `level` has `full`'s aspect ratio, to the pixel each side rounding allows:
/// `|h/H - w/W| <= 1/H + 1/W`.
fn same_shape(full: &Level, level: &Level) -> bool {
    let (fw, fh) = (u64::from(full.width), u64::from(full.height));
    let (w, h) = (u64::from(level.width), u64::from(level.height));
    (h * fw).abs_diff(fh * w) <= fw + fh
}

/// Sorts and merges ranges less than [`MERGE_GAP`] apart, up to [`MAX_READ`] a read.
fn coalesce(mut needs: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    needs.sort_unstable();
    let mut reads: Vec<(u64, u64)> = Vec::with_capacity(needs.len());
    for (offset, len) in needs {
        let end = offset + len;
        if let Some((at, l)) = reads.last_mut() {
            let last_end = *at + *l;
            let merged = end.max(last_end) - *at;
            if offset <= last_end + MERGE_GAP && merged <= MAX_READ.max(*l) {
                *l = merged;
                continue;
            }
        }
        reads.push((offset, len));
    }
    reads
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;
