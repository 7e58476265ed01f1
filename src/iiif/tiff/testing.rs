//! Test support: a TIFF writer laid out as libtiff lays files out (tile data first, each IFD
//! followed by its arrays), an in-memory reader that counts reads, a poller for futures
//! that are always ready, and a JPEG encoder writing tiles as libtiff does.

use super::RangeRead;
use crate::store::StoreError;
use bytes::Bytes;
use std::future::Future;
use std::io::Write;
use std::sync::Mutex;

/// One image of a test file.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    pub width: u32,
    pub height: u32,
    pub tile: u32,
    pub compression: u16,
    pub photometric: u16,
    pub samples: u16,
    pub predictor: u16,
    pub subfile_type: u32,
    pub jpeg_tables: Option<Vec<u8>>,
    /// Stored as strips (the tiles then are the strips).
    pub strips: bool,
    /// Encoded tiles, row by row.
    pub tiles: Vec<Vec<u8>>,
}

impl Page {
    /// An uncompressed RGB page whose sample at (x, y, c) is [`sample`].
    pub fn rgb(width: u32, height: u32, tile: u32) -> Page {
        let mut page = Page {
            width,
            height,
            tile,
            compression: 1,
            photometric: 2,
            samples: 3,
            predictor: 1,
            subfile_type: 0,
            jpeg_tables: None,
            strips: false,
            tiles: Vec::new(),
        };
        page.tiles = page.raw_tiles();
        page
    }

    /// The same page, uncompressed, with other samples.
    pub fn with_samples(mut self, samples: u16, photometric: u16) -> Page {
        (self.samples, self.photometric) = (samples, photometric);
        self.tiles = self.raw_tiles();
        self
    }

    /// The same page Deflate-compressed, with or without predictor 2.
    pub fn deflate(mut self, predictor: bool) -> Page {
        self.compression = 8;
        self.predictor = if predictor { 2 } else { 1 };
        let spp = usize::from(self.samples);
        let row = self.tile as usize * spp;
        self.tiles = self
            .raw_tiles()
            .into_iter()
            .map(|mut t| {
                if predictor {
                    for line in t.chunks_exact_mut(row) {
                        for i in (spp..line.len()).rev() {
                            line[i] = line[i].wrapping_sub(line[i - spp]);
                        }
                    }
                }
                let mut z = flate2::write::ZlibEncoder::new(Vec::new(), Default::default());
                z.write_all(&t).unwrap();
                z.finish().unwrap()
            })
            .collect();
        self
    }

    pub fn tiles_across(&self) -> u32 {
        self.width.div_ceil(self.tile)
    }

    fn raw_tiles(&self) -> Vec<Vec<u8>> {
        let (across, down) = (self.tiles_across(), self.height.div_ceil(self.tile));
        let spp = u32::from(self.samples);
        let mut tiles = Vec::new();
        for row in 0..down {
            for col in 0..across {
                let mut t = Vec::new();
                for y in 0..self.tile {
                    for x in 0..self.tile {
                        for c in 0..spp {
                            t.push(sample(col * self.tile + x, row * self.tile + y, c));
                        }
                    }
                }
                tiles.push(t);
            }
        }
        tiles
    }
}

/// The test pattern: different in every channel, row and column.
pub(crate) fn sample(x: u32, y: u32, c: u32) -> u8 {
    (x.wrapping_mul(3) ^ y.wrapping_mul(7) ^ c.wrapping_mul(85)) as u8
}

/// How a file is written.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Writer {
    pub big: bool,
    pub big_endian: bool,
    /// Pages after the first as SubIFDs of the first, not as the chain.
    pub subifd: bool,
    /// Each page's IFD right after its tiles, not all IFDs at the end.
    pub interleave: bool,
    /// Every IFD and its arrays before any tile, as in a Cloud-Optimized GeoTIFF.
    pub ifds_first: bool,
}

struct Field {
    tag: u16,
    kind: u16,
    count: u64,
    data: Vec<u8>,
}

impl Writer {
    fn uint(&self, v: u64, len: usize) -> Vec<u8> {
        let b = v.to_be_bytes();
        let mut out = b[8 - len..].to_vec();
        if !self.big_endian {
            out.reverse();
        }
        out
    }

    fn field(&self, tag: u16, kind: u16, values: &[u64]) -> Field {
        let len = match kind {
            3 => 2,
            4 | 13 => 4,
            _ => 8,
        };
        let data = values.iter().flat_map(|&v| self.uint(v, len)).collect();
        Field {
            tag,
            kind,
            count: values.len() as u64,
            data,
        }
    }

    fn fields(&self, page: &Page, offsets: &[u64], subs: &[u64]) -> Vec<Field> {
        let long = if self.big { 16 } else { 4 };
        let counts: Vec<u64> = page.tiles.iter().map(|t| t.len() as u64).collect();
        let spp = u64::from(page.samples);
        let mut f = Vec::new();
        if page.subfile_type != 0 {
            f.push(self.field(254, 4, &[u64::from(page.subfile_type)]));
        }
        f.push(self.field(256, 4, &[u64::from(page.width)]));
        f.push(self.field(257, 4, &[u64::from(page.height)]));
        f.push(self.field(258, 3, &vec![8; spp as usize]));
        f.push(self.field(259, 3, &[u64::from(page.compression)]));
        f.push(self.field(262, 3, &[u64::from(page.photometric)]));
        if page.strips {
            f.push(self.field(273, long, offsets));
        }
        f.push(self.field(277, 3, &[spp]));
        if page.strips {
            f.push(self.field(278, 4, &[u64::from(page.tile)]));
            f.push(self.field(279, long, &counts));
        }
        f.push(self.field(284, 3, &[1]));
        if page.predictor != 1 {
            f.push(self.field(317, 3, &[u64::from(page.predictor)]));
        }
        if !page.strips {
            f.push(self.field(322, 3, &[u64::from(page.tile)]));
            f.push(self.field(323, 3, &[u64::from(page.tile)]));
            f.push(self.field(324, long, offsets));
            f.push(self.field(325, long, &counts));
        }
        if !subs.is_empty() {
            f.push(self.field(330, if self.big { 18 } else { 13 }, subs));
        }
        if spp % 2 == 0 {
            f.push(self.field(338, 3, &[2]));
        }
        if let Some(t) = &page.jpeg_tables {
            f.push(Field {
                tag: 347,
                kind: 7,
                count: t.len() as u64,
                data: t.clone(),
            });
        }
        f
    }

    /// An IFD at `at` and its out-of-line values right after it.
    fn block(&self, at: u64, fields: &[Field], next: u64) -> Vec<u8> {
        let (count_len, entry_len, off_len) = if self.big { (8, 20, 8) } else { (2, 12, 4) };
        let ifd_len = count_len + fields.len() * entry_len + off_len;
        let mut head = self.uint(fields.len() as u64, count_len);
        let mut tail = Vec::new();
        for f in fields {
            head.extend(self.uint(u64::from(f.tag), 2));
            head.extend(self.uint(u64::from(f.kind), 2));
            head.extend(self.uint(f.count, off_len));
            if f.data.len() <= off_len {
                let mut v = f.data.clone();
                v.resize(off_len, 0);
                head.extend(v);
            } else {
                head.extend(self.uint(at + (ifd_len + tail.len()) as u64, off_len));
                tail.extend(&f.data);
                tail.resize(tail.len().next_multiple_of(2), 0);
            }
        }
        head.extend(self.uint(next, off_len));
        head.extend(tail);
        head
    }

    /// The file: header, every tile, then each IFD and its values in page order; or with
    /// `interleave`, each page's tiles then its IFD, as vips writes a pyramid; or with
    /// `ifds_first`, the IFDs then the tiles.
    pub fn write(&self, pages: &[Page]) -> Vec<u8> {
        let off_len = if self.big { 8 } else { 4 };
        // Two passes: the first finds where each IFD goes (sizes do not depend on offsets).
        let mut at = vec![0u64; pages.len()];
        let mut offsets: Vec<Vec<u64>> = pages.iter().map(|p| vec![0; p.tiles.len()]).collect();
        let mut out = Vec::new();
        for _ in 0..2 {
            out = if self.big_endian {
                b"MM".to_vec()
            } else {
                b"II".to_vec()
            };
            if self.big {
                out.extend(self.uint(43, 2));
                out.extend(self.uint(8, 2));
                out.extend([0, 0]);
            } else {
                out.extend(self.uint(42, 2));
            }
            out.extend(self.uint(at[0], off_len));
            if self.ifds_first {
                for i in 0..pages.len() {
                    at[i] = out.len() as u64;
                    out.extend(self.block_of(pages, i, &at, &offsets[i]));
                }
            }
            for (i, page) in pages.iter().enumerate() {
                for (j, t) in page.tiles.iter().enumerate() {
                    offsets[i][j] = out.len() as u64;
                    out.extend(t);
                }
                if self.interleave {
                    at[i] = out.len() as u64;
                    out.extend(self.block_of(pages, i, &at, &offsets[i]));
                }
            }
            if !self.interleave && !self.ifds_first {
                for i in 0..pages.len() {
                    at[i] = out.len() as u64;
                    out.extend(self.block_of(pages, i, &at, &offsets[i]));
                }
            }
        }
        out
    }

    fn block_of(&self, pages: &[Page], i: usize, at: &[u64], offsets: &[u64]) -> Vec<u8> {
        let subs = if self.subifd && i == 0 {
            at[1..].to_vec()
        } else {
            Vec::new()
        };
        let next = match (self.subifd, at.get(i + 1)) {
            (false, Some(&n)) => n,
            _ => 0,
        };
        self.block(at[i], &self.fields(&pages[i], offsets, &subs), next)
    }
}

/// A pyramid of uncompressed RGB levels halving from `width` x `height` down to one tile.
pub(crate) fn pyramid(width: u32, height: u32, tile: u32) -> Vec<Page> {
    let (mut w, mut h) = (width, height);
    let mut pages = vec![Page::rgb(w, h, tile)];
    while w > tile || h > tile {
        (w, h) = ((w / 2).max(1), (h / 2).max(1));
        let mut p = Page::rgb(w, h, tile);
        p.subfile_type = 1;
        pages.push(p);
    }
    pages
}

/// An object in memory that records every read.
pub(crate) struct MemReader {
    pub data: Bytes,
    pub reads: Mutex<Vec<(u64, u64)>>,
}

impl MemReader {
    pub fn new(data: impl Into<Bytes>) -> MemReader {
        MemReader {
            data: data.into(),
            reads: Mutex::new(Vec::new()),
        }
    }

    pub fn reads(&self) -> Vec<(u64, u64)> {
        self.reads.lock().unwrap().clone()
    }
}

impl RangeRead for MemReader {
    fn read(
        &self,
        offset: u64,
        len: u64,
    ) -> impl Future<Output = Result<Bytes, StoreError>> + Send {
        self.reads.lock().unwrap().push((offset, len));
        let size = self.data.len() as u64;
        let (start, end) = (offset.min(size), offset.saturating_add(len).min(size));
        std::future::ready(Ok(self.data.slice(start as usize..end as usize)))
    }
}

/// Runs a future whose every await is ready (the reads of [`MemReader`]).
pub(crate) fn now<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("an in-memory read was not ready"),
    }
}

/// A baseline JPEG (one scan, as libtiff writes; mozjpeg's defaults are progressive) of
/// `width` x `height` RGB `pixels` at `quality`; `coded_rgb`: coded as RGB without a colour
/// transform or subsampling, as libtiff codes Photometric RGB tiles, else YCbCr 4:2:0.
pub(crate) fn baseline_jpeg(
    width: usize,
    height: usize,
    pixels: &[u8],
    coded_rgb: bool,
    quality: f32,
) -> Vec<u8> {
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    // Resets the colour space: set it after.
    c.set_fastest_defaults();
    if coded_rgb {
        c.set_color_space(mozjpeg::ColorSpace::JCS_RGB);
    }
    c.set_size(width, height);
    c.set_quality(quality);
    let mut started = c.start_compress(Vec::new()).expect("start");
    started.write_scanlines(pixels).expect("scanlines");
    started.finish().expect("finish")
}
