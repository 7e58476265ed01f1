use super::*;

#[test]
fn paths_below_the_prefix() {
    // Image API 3.0 §2: the base URI, its info.json, and image requests (read from the
    // right, so an identifier may hold a decoded `/`, implementation notes §1).
    assert_eq!(target("abc"), Ok(Target::Base("abc")));
    assert_eq!(target("a%2Fb"), Ok(Target::Base("a%2Fb")));
    assert_eq!(target("abc/info.json"), Ok(Target::Info("abc")));
    assert_eq!(target("a/b/info.json"), Ok(Target::Info("a/b")));
    let Ok(Target::Image(r)) = target("a/b/full/max/0/default.jpg") else {
        panic!("an image request");
    };
    assert_eq!(r.identifier, "a/b");
    // Nothing, a bare info.json, a trailing slash, too few segments: 400.
    for bad in [
        "",
        "/info.json",
        "abc/",
        "abc/full/max/0",
        "abc/full/max/default.jpg",
    ] {
        assert!(target(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn derived_etags_differ_by_every_part() {
    let a = derived_etag(&["image", "\"e1\"", "full/max/0/default.jpg"]);
    assert_eq!(
        a,
        derived_etag(&["image", "\"e1\"", "full/max/0/default.jpg"])
    );
    for other in [
        derived_etag(&["image", "\"e2\"", "full/max/0/default.jpg"]),
        derived_etag(&["image", "\"e1\"", "full/max/90/default.jpg"]),
        derived_etag(&["image\"e1\"", "", "full/max/0/default.jpg"]),
        derived_etag(&["info", "\"e1\"", "full/max/0/default.jpg"]),
    ] {
        assert!(!a.strong_eq(&other), "{other:?}");
    }
}
