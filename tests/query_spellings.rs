//! One query, one meaning (issue: a link signed for a thumbnail served the original): every
//! spelling of a signed transform link that the origin accepts gives the very response the
//! link as minted gives, through the whole pipeline (`Origin::handle`, in-memory store, a real
//! JPEG, a real transform). Spellings tried (proptest): parameters in any order, any byte of
//! a value percent-encoded (upper or lower hex), empty pairs, and parameter names encoded
//! (`%77` for `w`), which must never verify into another response.

use bytes::Bytes;
use http::Request;
use http_body_util::BodyExt;
use imgorigin::access::link::sign_link;
use imgorigin::access::{Access, KeyRing, Signing};
use imgorigin::store::{MemoryStore, Store};
use imgorigin::{Config, Origin};
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const K1: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const EXP: u64 = 1_767_225_600;

fn before_exp() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(EXP - 1)
}

fn keys() -> KeyRing {
    KeyRing::parse_list(&format!("k1:{K1}")).expect("keys")
}

fn origin() -> Origin {
    let store = MemoryStore::new(4096);
    let img = image::RgbImage::from_fn(320, 240, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .expect("encode fixture");
    store.put("private/a.jpg", jpeg, Some("image/jpeg"));
    let config = Config {
        access: Access {
            signing: Some(Signing {
                keys: keys(),
                prefixes: vec!["private/".into()],
            }),
            ..Access::default()
        },
        clock: before_exp,
        ..Config::default()
    };
    Origin::new(Arc::new(store) as Arc<dyn Store>, config)
}

/// Status and SHA-256 of the body for `path?query`.
fn answer(origin: &Origin, path_and_query: &str) -> (u16, String) {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    let rt = RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    });
    rt.block_on(async {
        let req = Request::get(path_and_query).body(()).expect("request");
        let resp = origin.handle(req).await;
        let status = resp.status().as_u16();
        let body: Bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (status, hex::encode(Sha256::digest(&body)))
    })
}

/// The link as minted, and its query split into pairs.
fn minted() -> (String, Vec<(String, String)>) {
    let link =
        sign_link(&keys(), None, "/private/a.jpg?w=100&format=webp&q=70", EXP).expect("sign");
    let query = link.split_once('?').expect("query").1.to_owned();
    let pairs = query
        .split('&')
        .map(|p| {
            let (n, v) = p.split_once('=').expect("pair");
            (n.to_owned(), v.to_owned())
        })
        .collect();
    (link, pairs)
}

/// `value` with the bytes picked by `mask` percent-encoded, in upper or lower hex.
fn encode_some(value: &str, mask: u64, lower: bool) -> String {
    let mut out = String::new();
    for (i, b) in value.bytes().enumerate() {
        if mask >> (i % 64) & 1 == 1 {
            match lower {
                true => out.push_str(&format!("%{b:02x}")),
                false => out.push_str(&format!("%{b:02X}")),
            }
        } else {
            out.push(b as char);
        }
    }
    out
}

#[test]
fn the_minted_link_is_a_thumbnail_and_an_escaped_name_is_refused() {
    let origin = origin();
    let (link, _) = minted();
    let (status, thumb) = answer(&origin, &link);
    assert_eq!(status, 200, "{link}");
    let (_, original) = answer(&origin, "/private/a.jpg");
    assert_ne!(thumb, original);
    for escaped in [
        link.replacen("w=100", "%77=100", 1),
        link.replacen("format=webp", "%66ormat=webp", 1),
        link.replacen("q=70", "%71=70", 1),
    ] {
        assert_eq!(answer(&origin, &escaped).0, 400, "{escaped}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_accepted_spelling_gives_the_minted_answer(
        order in any::<u64>(),
        masks in proptest::collection::vec(any::<u64>(), 6),
        name_masks in proptest::collection::vec(0u64..4, 6),
        lower in any::<bool>(),
        empties in 0usize..3,
    ) {
        let origin = origin();
        let (link, mut pairs) = minted();
        let want = answer(&origin, &link);
        let n = pairs.len();
        for i in 0..n {
            pairs.swap(i, (order.rotate_left(i as u32 * 9) as usize) % n);
        }
        let mut parts: Vec<String> = pairs
            .iter()
            .enumerate()
            .map(|(i, (name, value))| {
                let name = encode_some(name, name_masks[i % 6], lower);
                format!("{name}={}", encode_some(value, masks[i % 6], lower))
            })
            .collect();
        parts.extend(std::iter::repeat_n(String::new(), empties));
        let spelled = format!("/private/a.jpg?{}", parts.join("&"));
        let got = answer(&origin, &spelled);
        // Refused (400 for an escaped name of ours, 403 if a spelling broke the signature)
        // or exactly the minted answer: never a 200 that means something else.
        prop_assert!(got == want || matches!(got.0, 400 | 403), "{spelled}: {got:?} vs {want:?}");
        let names_plain = name_masks.iter().take(n).all(|m| *m == 0);
        if names_plain {
            prop_assert_eq!(got, want, "{}", spelled);
        }
    }
}
