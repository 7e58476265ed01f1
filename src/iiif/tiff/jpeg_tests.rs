use super::*;
use crate::iiif::tiff::layout::TileArray;
use crate::iiif::tiff::testing;
use crate::transform::decode;
use bytes::Bytes;
use proptest::prelude::*;

fn level(photometric: Photometric, tables: Option<&[u8]>) -> Level {
    Level {
        width: 64,
        height: 64,
        tile_width: 16,
        tile_height: 16,
        compression: Compression::Jpeg,
        photometric,
        samples_per_pixel: if photometric == Photometric::BlackIsZero {
            1
        } else {
            3
        },
        horizontal_predictor: false,
        jpeg_tables: tables.map(Bytes::copy_from_slice),
        offsets: TileArray::new(vec![0; 16]),
        byte_counts: TileArray::new(vec![0; 16]),
        object_len: 0,
    }
}

/// A 16 x 16 JPEG of one colour; `rgb`: coded as RGB (no colour transform), as libtiff
/// codes Photometric RGB.
fn encode(colour: [u8; 3], rgb: bool) -> Vec<u8> {
    testing::baseline_jpeg(16, 16, &colour.repeat(256), rgb, 95.0)
}

/// Marker segments up to the first scan: (offset, marker, length field).
fn segments(jpeg: &[u8]) -> Vec<(usize, u8, usize)> {
    let mut out = Vec::new();
    let mut pos = 2;
    loop {
        let (marker, len) = (
            jpeg[pos + 1],
            u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]),
        );
        out.push((pos, marker, usize::from(len)));
        if marker == 0xDA {
            return out;
        }
        pos += 2 + usize::from(len);
    }
}

/// Splits a JPEG as libtiff stores it: DQT and DHT into a tables stream, the rest (without
/// APPn markers) into the tile.
fn split(jpeg: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (mut tables, mut tile) = (SOI.to_vec(), SOI.to_vec());
    let segs = segments(jpeg);
    for &(pos, marker, len) in &segs {
        let seg = &jpeg[pos..pos + 2 + len];
        match marker {
            0xDB | 0xC4 => tables.extend(seg),
            0xE0..=0xEF => {}
            _ => tile.extend(seg),
        }
    }
    let (sos, _, len) = segs[segs.len() - 1];
    tile.extend(&jpeg[sos + 2 + len..]);
    tables.extend(EOI);
    (tables, tile)
}

/// Renames the components 1, 2, 3 in the frame and scan headers, so that without a marker a
/// decoder takes RGB data for YCbCr.
fn anonymous_components(tile: &mut [u8]) {
    for (pos, marker, _) in segments(tile) {
        let (first, step) = match marker {
            0xC0 => (pos + 10, 3),
            0xDA => (pos + 5, 2),
            _ => continue,
        };
        for i in 0..3 {
            tile[first + i * step] = i as u8 + 1;
        }
    }
}

fn decoded(stream: &[u8]) -> Vec<u8> {
    let header = decode::jpeg_header(stream, 1 << 20).unwrap();
    decode::jpeg(stream, header, 8).unwrap().data
}

fn near(a: &[u8], b: [u8; 3]) -> bool {
    a.chunks(3)
        .all(|p| p.iter().zip(b).all(|(&x, y)| x.abs_diff(y) <= 3))
}

#[test]
fn tables_are_spliced_between_soi_and_the_frame() {
    let tables = b"\xff\xd8\xff\xdb\x00\x03\x00\xff\xd9";
    let tile = b"\xff\xd8\xff\xc0\x00\x02\xff\xda\x00\x02\x12\xff\xd9";
    let gray = level(Photometric::BlackIsZero, Some(tables));
    assert_eq!(
        jpeg_tile_stream(&gray, tile).unwrap(),
        b"\xff\xd8\xff\xdb\x00\x03\x00\xff\xc0\x00\x02\xff\xda\x00\x02\x12\xff\xd9"
    );
    // Colour gets its marker right after SOI.
    let rgb = jpeg_tile_stream(&level(Photometric::Rgb, Some(tables)), tile).unwrap();
    assert_eq!(&rgb[2..18], &ADOBE_RGB);
    assert_eq!(&rgb[18..23], &tables[2..7]);
    let ycc = jpeg_tile_stream(&level(Photometric::YCbCr, None), tile).unwrap();
    assert_eq!(&ycc[2..20], &JFIF);
    assert_eq!(&ycc[20..], &tile[2..]);
}

#[test]
fn a_stream_that_names_its_colours_is_left_alone() {
    let jfif = encode([200, 30, 30], false);
    let out = jpeg_tile_stream(&level(Photometric::Rgb, None), &jfif).unwrap();
    assert_eq!(out, jfif);
}

#[test]
fn tiles_not_from_soi_to_eoi_are_malformed() {
    let l = level(Photometric::YCbCr, None);
    for tile in [
        &b""[..],
        b"\xff\xd8",
        b"\xff\xd8\xff\xd9\x00",
        b"\x00\xd8\xff\xd9",
    ] {
        let r = jpeg_tile_stream(&l, tile);
        assert!(matches!(r, Err(TiffError::Malformed(_))), "{tile:?}: {r:?}");
    }
    let mut deflate = l.clone();
    deflate.compression = Compression::Deflate;
    assert!(matches!(
        jpeg_tile_stream(&deflate, b"\xff\xd8\xff\xd9"),
        Err(TiffError::Unsupported(_))
    ));
}

#[test]
fn rgb_coded_tiles_decode_as_rgb_only_with_the_adobe_marker() {
    let red = [220, 20, 40];
    let whole = encode(red, true);
    let (tables, mut tile) = split(&whole);
    anonymous_components(&mut tile);
    let rgb = level(Photometric::Rgb, Some(&tables));
    let stream = jpeg_tile_stream(&rgb, &tile).unwrap();
    assert!(near(&decoded(&stream), red), "{:?}", &decoded(&stream)[..3]);
    // The same stream without the marker: taken for YCbCr, far from red.
    let mut bare = stream[..2].to_vec();
    bare.extend(&stream[2 + ADOBE_RGB.len()..]);
    assert!(!near(&decoded(&bare), red));
}

#[test]
fn ycbcr_tiles_with_tables_decode_as_the_whole_jpeg() {
    let colour = [30, 140, 200];
    let whole = encode(colour, false);
    let (tables, tile) = split(&whole);
    let ycc = level(Photometric::YCbCr, Some(&tables));
    let stream = jpeg_tile_stream(&ycc, &tile).unwrap();
    assert_eq!(decoded(&stream), decoded(&whole));
    assert!(near(&decoded(&stream), colour));
}

proptest! {
    #[test]
    fn never_panics_jpeg_tile_stream(
        tile in prop::collection::vec(any::<u8>(), 0..512),
        tables in prop::option::of(prop::collection::vec(any::<u8>(), 0..64)),
        soi in any::<bool>(),
    ) {
        let mut tile = tile;
        if soi && tile.len() >= 4 {
            tile[..2].copy_from_slice(&SOI);
            let n = tile.len();
            tile[n - 2..].copy_from_slice(&EOI);
        }
        for p in [Photometric::Rgb, Photometric::YCbCr, Photometric::BlackIsZero] {
            let _ = jpeg_tile_stream(&level(p, tables.as_deref()), &tile);
        }
    }
}
