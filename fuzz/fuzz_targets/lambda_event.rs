//! A Lambda Function URL event (payload 2.0, JSON) to the `http::Request` the origin handles,
//! then the path and query read as the pipeline reads them.
#![no_main]

use imgorigin::key::object_key;
use imgorigin::lambda::event::to_request;
use imgorigin::query::Query;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = to_request(data) else {
        return;
    };
    assert!(!request.method().as_str().is_empty());
    let _ = object_key(request.uri().path(), "");
    let _ = Query::parse(request.uri().query());
});
