use super::*;
use crate::iiif::tiff::testing::{Page, Writer};

#[test]
fn headers_of_both_byte_orders_and_both_sizes() {
    // (bytes, big_endian, big, first IFD)
    type Row = (&'static [u8], bool, bool, u64);
    let table: [Row; 4] = [
        (b"II*\0\x08\0\0\0", false, false, 8),
        (b"MM\0*\0\0\0\x08", true, false, 8),
        (b"II+\0\x08\0\0\0\x10\0\0\0\0\0\0\0", false, true, 16),
        (b"MM\0+\0\x08\0\0\0\0\0\0\0\0\0\x10", true, true, 16),
    ];
    for (bytes, big_endian, big, first_ifd) in table {
        let h = Header::parse(bytes).unwrap();
        assert_eq!(
            h,
            Header {
                big_endian,
                big,
                first_ifd
            },
            "{bytes:?}"
        );
    }
}

#[test]
fn anything_else_is_not_a_tiff() {
    for bytes in [
        &b""[..],
        b"II",
        b"II*",
        b"GIF89a",
        b"II\x2a\x01\0\0\0\0",
        b"\xff\xd8\xff",
    ] {
        assert!(
            matches!(Header::parse(bytes), Err(TiffError::NotTiff)),
            "{bytes:?}"
        );
    }
}

#[test]
fn bigtiff_with_offsets_not_8_bytes_is_malformed() {
    let r = Header::parse(b"II+\0\x04\0\0\0\x10\0\0\0\0\0\0\0");
    assert!(matches!(r, Err(TiffError::Malformed(_))), "{r:?}");
}

#[test]
fn entries_read_alike_in_every_variant() {
    let page = Page::rgb(100, 70, 32);
    for big in [false, true] {
        for big_endian in [false, true] {
            let w = Writer {
                big,
                big_endian,
                ..Writer::default()
            };
            let file = w.write(std::slice::from_ref(&page));
            let h = Header::parse(&file).unwrap();
            let n = h.entry_count(&file[h.first_ifd as usize..]).unwrap();
            let ifd = Ifd::parse(&h, h.first_ifd, &file[h.first_ifd as usize..]).unwrap();
            assert_eq!(ifd.entries.len() as u64, n);
            assert_eq!(ifd.next, 0);
            assert_eq!(ifd.scalar_or(&h, 256, 0).unwrap(), 100);
            assert_eq!(ifd.scalar_or(&h, 257, 0).unwrap(), 70);
            assert_eq!(ifd.scalar_or(&h, 999, 7).unwrap(), 7);
            // 12 tiles: out of line in both sizes.
            let offsets = ifd.get(324).unwrap().uints(&h, &file[..]).unwrap().unwrap();
            assert_eq!(offsets.len(), 12);
            assert_eq!(offsets[0], if big { 16 } else { 8 });
            let bits = ifd.get(258).unwrap().uints(&h, &file[..]).unwrap().unwrap();
            assert_eq!(bits, [8, 8, 8], "big {big}");
        }
    }
}

#[test]
fn an_ifd_cut_short_or_empty_is_malformed() {
    let h = Header {
        big_endian: false,
        big: false,
        first_ifd: 8,
    };
    // (bytes at the IFD)
    let table: [&[u8]; 4] = [
        b"",
        b"\x01",
        b"\0\0",
        b"\x02\0\x00\x01\x03\0\x01\0\0\0\x10\0\0\0",
    ];
    for b in table {
        let r = Ifd::parse(&h, 8, b);
        assert!(matches!(r, Err(TiffError::Malformed(_))), "{b:?}: {r:?}");
    }
    let r = h.entry_count(&(MAX_IFD_ENTRIES as u16 + 1).to_le_bytes());
    assert!(matches!(r, Err(TiffError::Malformed(_))), "{r:?}");
}

#[test]
fn a_value_of_unknown_type_is_malformed() {
    let h = Header {
        big_endian: false,
        big: false,
        first_ifd: 8,
    };
    // One entry: tag 256, type 99, count 1.
    let b = b"\x01\0\x00\x01\x63\0\x01\0\0\0\x10\0\0\0\0\0\0\0";
    let ifd = Ifd::parse(&h, 8, b).unwrap();
    assert!(ifd.get(256).unwrap().place(&h).is_err());
    assert!(ifd.scalar_or(&h, 256, 0).is_err());
}
