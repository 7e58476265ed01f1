//! Reads a multipart/byteranges answer the way range readers do and says what is wrong
//! with it; shared by the conformance table and the Lambda wire tests.

use super::sha256;

/// What is wrong with a multipart/byteranges answer (RFC 9110 §14.6, RFC 2046 §5.1.1),
/// read the way range readers do: each part's Content-Range gives its length, the boundary
/// must follow it, and the closing delimiter must end the body.
pub fn problems(
    content_type: Option<&str>,
    part_type: &str,
    body: &[u8],
    want: &[(String, Vec<u8>)],
) -> Vec<String> {
    let Some(boundary) =
        content_type.and_then(|t| t.strip_prefix("multipart/byteranges; boundary="))
    else {
        return vec![format!(
            "content-type {content_type:?} is not multipart/byteranges"
        )];
    };
    if boundary.len() < 32 {
        return vec![format!("boundary {boundary:?} is short")];
    }
    let mut rest = body;
    let mut problems = Vec::new();
    for (i, (range, bytes)) in want.iter().enumerate() {
        let lead = match i {
            0 => format!("--{boundary}\r\n"),
            _ => format!("\r\n--{boundary}\r\n"),
        };
        let Some(after) = rest.strip_prefix(lead.as_bytes()) else {
            return vec![format!("part {i}: no delimiter")];
        };
        let Some(end) = after.windows(4).position(|w| w == b"\r\n\r\n") else {
            return vec![format!("part {i}: no end of headers")];
        };
        let head = String::from_utf8_lossy(&after[..end]).to_lowercase();
        let fields: Vec<&str> = head.split("\r\n").collect();
        if !fields.contains(&format!("content-range: {range}").as_str()) {
            problems.push(format!(
                "part {i}: headers {fields:?}, want content-range {range}"
            ));
        }
        if !fields.contains(&format!("content-type: {part_type}").as_str()) {
            problems.push(format!(
                "part {i}: headers {fields:?} lack the object's type"
            ));
        }
        let data = &after[end + 4..];
        if data.len() < bytes.len() || sha256(&data[..bytes.len()]) != sha256(bytes) {
            problems.push(format!("part {i}: bytes differ"));
            return problems;
        }
        rest = &data[bytes.len()..];
    }
    if rest != format!("\r\n--{boundary}--\r\n").as_bytes() {
        problems.push(format!(
            "{} bytes after the last part are not the closing delimiter",
            rest.len()
        ));
    }
    problems
}
