use super::*;
use crate::iiif::tiff::testing::{Page, Writer};

/// Classifies the first IFD of a one-page file.
fn kind(page: &Page) -> Result<Kind, TiffError> {
    let file = Writer::default().write(std::slice::from_ref(page));
    let h = Header::parse(&file).unwrap();
    let ifd = Ifd::parse(&h, h.first_ifd, &file[h.first_ifd as usize..]).unwrap();
    classify(&h, &ifd)
}

fn unsupported(page: &Page) -> String {
    match kind(page) {
        Ok(Kind::Unsupported(why)) => why,
        other => panic!("{other:?}"),
    }
}

#[test]
fn what_is_refused_and_why() {
    let base = Page::rgb(64, 48, 32);
    // (change, words the reason names)
    type Row = (fn(&mut Page), &'static str);
    let table: [Row; 8] = [
        (|p| p.strips = true, "strips"),
        (|p| p.compression = 5, "LZW"),
        (|p| p.compression = 50000, "compression 50000"),
        (|p| p.tile = 24, "multiples of 16"),
        (|p| p.tile = 8192, "multiples of 16"),
        (|p| p.photometric = 6, "photometric 6"),
        (|p| p.photometric = 5, "photometric 5"),
        (|p| p.predictor = 3, "predictor 3"),
    ];
    for (change, words) in table {
        let mut p = base.clone();
        change(&mut p);
        let why = unsupported(&p);
        assert!(why.contains(words), "{why}");
    }
}

#[test]
fn masks_are_not_levels() {
    let mut p = Page::rgb(64, 48, 32);
    p.subfile_type = 4 | 1;
    assert_eq!(kind(&p).unwrap(), Kind::Mask);
}

#[test]
fn what_is_read() {
    // (compression, photometric, samples)
    let table = [
        (1, 2, 3),
        (8, 2, 4),
        (8, 1, 1),
        (1, 0, 2),
        (7, 6, 3),
        (7, 2, 3),
        (7, 1, 1),
    ];
    for (compression, photometric, samples) in table {
        let mut p = Page::rgb(64, 48, 32);
        (p.compression, p.photometric, p.samples) = (compression, photometric, samples);
        assert!(
            matches!(kind(&p), Ok(Kind::Tiled(_))),
            "{compression} {photometric} {samples}"
        );
    }
}

#[test]
fn arrays_of_the_wrong_length_are_malformed_before_they_are_read() {
    let mut p = Page::rgb(64, 48, 32);
    p.tiles.push(vec![0; 10]); // 5 tiles for a grid of 4
    let file = Writer::default().write(std::slice::from_ref(&p));
    let h = Header::parse(&file).unwrap();
    let ifd = Ifd::parse(&h, h.first_ifd, &file[h.first_ifd as usize..]).unwrap();
    let Kind::Tiled(shape) = classify(&h, &ifd).unwrap() else {
        panic!()
    };
    assert!(matches!(
        wanted(&h, &ifd, Some(&shape)),
        Err(TiffError::Malformed(_))
    ));
}

#[test]
fn sixteen_bit_samples_are_unsupported() {
    let p = Page::rgb(64, 48, 32);
    let mut file = Writer::default().write(std::slice::from_ref(&p));
    let h = Header::parse(&file).unwrap();
    let ifd = Ifd::parse(&h, h.first_ifd, &file[h.first_ifd as usize..]).unwrap();
    let Some(Place::At { offset, .. }) = ifd.get(258).map(|e| e.place(&h).unwrap()) else {
        panic!()
    };
    file[offset as usize] = 16;
    let Kind::Tiled(shape) = classify(&h, &ifd).unwrap() else {
        panic!()
    };
    let r = build(&h, &ifd, &shape, &file[..], file.len() as u64);
    assert!(
        matches!(&r, Err(TiffError::Unsupported(why)) if why.contains("bits")),
        "{r:?}"
    );
}
