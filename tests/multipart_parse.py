"""Reads a multipart/byteranges answer the way a Python client would (the standard library's
`email` package, which requests-toolbelt's decoder also builds on) and checks every part
against the object: prints one line per part, exits 1 on any defect or wrong byte.

    python3 tests/multipart_parse.py ANSWER OBJECT
ANSWER: "Content-Type: ..." CRLF CRLF and the body as received; OBJECT: the object's bytes."""

import email
import email.policy
import sys

answer, whole = (open(p, "rb").read() for p in sys.argv[1:3])
msg = email.message_from_bytes(answer, policy=email.policy.HTTP)
if not msg.is_multipart() or msg.get_content_type() != "multipart/byteranges" or msg.defects:
    sys.exit(f"not a clean multipart/byteranges: {msg.get_content_type()} {msg.defects}")
for part in msg.iter_parts():
    unit, spec = part["content-range"].split()
    span, total = spec.split("/")
    first, last = (int(x) for x in span.split("-"))
    data = part.get_payload(decode=True)
    if unit != "bytes" or int(total) != len(whole) or part.defects or data != whole[first:last + 1]:
        sys.exit(f"part {part['content-range']}: {len(data)} bytes, defects {part.defects}")
    print(f"{part.get_content_type()} {first}-{last}")
