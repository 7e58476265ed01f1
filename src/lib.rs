//! imgorigin: an origin server that streams objects from S3 or a directory with exact HTTP
//! semantics (Range, HEAD, validators, preconditions), in memory that does not grow with the
//! object, over HTTP ([`server`]) or AWS Lambda.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use imgorigin::{server, store::LocalStore, Config, Origin};
//! let origin = Origin::new(std::sync::Arc::new(LocalStore::new("samples")?), Config::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! server::run(listener, origin, std::future::pending(), server::Settings::default()).await;
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`key`], [`query`], [`range`], [`validators`]: parse the request (path, query once for
//!   every parameter reader, `Range`, conditionals); pure.
//! - [`plan`]: RFC 9110 decision (200/206/304/412/416) from parsed request + [`meta`]; pure.
//!   [`plan::multipart`]: several ranges (merging, limits, the multipart framing and its
//!   length).
//! - [`iiif`]: IIIF Image API 3.0: the request grammar (region, size, rotation, quality,
//!   format) and its resolution against an image's size and the service's limits into exact
//!   pixels and a canonical form; info.json; identifiers and the public base URL; its
//!   [`iiif::Settings`] (prefix, slash substitute, public URL); pure. [`iiif::tiff`]: tiled
//!   pyramidal TIFF read by byte ranges (layout, tile choice, tile pass-through, edge tiles
//!   cut in the DCT domain, decode and composition); its reader is the one part that awaits,
//!   on a [`iiif::tiff::RangeRead`].
//! - [`access`]: origin lock, allowed keys, signed URLs (canonical form, keys, verification,
//!   minting links for `imgorigin sign`); pure, decided before any store call.
//! - [`store`]: where bytes come from: [`store::LocalStore`] (system calls on the worker
//!   thread on a local filesystem: `openat2` beneath the root, page-cache reads with
//!   `RWF_NOWAIT`, the blocking pool for the rest), [`store::S3Store`] (aws-sdk-s3
//!   for configuration and endpoint rules, GetObject/HeadObject signed by its own SigV4 with
//!   a per-day key and sent through [`http1`], retried as the SDK's standard strategy;
//!   docs/s3.md),
//!   [`store::MemoryStore`] (tests, benches). Only stores do I/O. [`store::Deadline`] bounds
//!   every store call ([`Origin::new`] wraps the store in it).
//! - [`http1`]: the HTTP/1.1 client the S3 store sends on: a connection pool per worker,
//!   httparse for answer heads, RFC 9112 §6.3 framing, proxies, a fixed socket receive
//!   buffer when asked; knows nothing of S3.
//! - [`body`]: the streamed response body, with resume on store failure and abort on loss;
//!   a multipart body chains one such stream per part (`body/multipart.rs`).
//! - [`response`]: outcome to `http::Response`; the one error-to-status mapping.
//! - [`transform`]: on-the-fly resize and format conversion: query parsing, JPEG header probe
//!   and output geometry (pure), then decode (mozjpeg with DCT scaling; `image` for PNG, GIF,
//!   WebP), resize (fast_image_resize), orientation, encode (libwebp, mozjpeg, png, ravif);
//!   each admitted into a process-wide memory budget on an estimate of its peak read from
//!   the header ([`transform::budget`], [`transform::admit`]). For IIIF,
//!   [`transform::extract`]: a region at a size, turned and toned ([`transform::ops`]),
//!   JPEG regions decoded from a stream with libjpeg's crop and skip
//!   ([`transform::region`]).
//! - [`allocator`]: glibc malloc settings and a trimmer thread that give freed memory back.
//! - [`service`]: [`Origin`], the pipeline (`service/transformed.rs`: its transform branch;
//!   `service/iiif.rs`, `service/iiif_image.rs`, `service/iiif_tiff.rs`: the IIIF branch, with
//!   `service/body_reader.rs` feeding a decoder on the blocking pool as the source
//!   arrives); [`cors`], [`config`]: its settings.
//! - [`observe`]: what operators see: one access-log line per request (`observe/record.rs`),
//!   collected while it runs (`observe/exchange.rs`: the transport's [`observe::Exchange`],
//!   task-local notes from the store deadline, S3 retries, resumes and the transform queue),
//!   process metrics (prometheus-client), EMF documents for Lambda, readiness.
//! - [`server`]: the hyper transport (`serve` runs one per worker thread; the main thread
//!   accepts and hands each connection to the worker with the fewest open,
//!   [`server::dispatch`]), with its limits on clients: connections, header and send deadlines
//!   ([`server::SendGuard`]), and its admin listener (`/metrics`, `/healthz`, `/readyz`:
//!   [`server::admin`]); [`lambda`]: the AWS Lambda Function URL transport
//!   (Runtime API loop, streamed and buffered responses). [`cli`]: flags and environment.
//!
//! # Request pipeline
//! 1. The transport builds an `http::Request`, opens its [`observe::Exchange`], and calls
//!    [`Origin::handle`] inside it (Lambda: [`Origin::handle_limited`] with the invoke mode's
//!    body budget).
//! 2. Origin lock (`--require-header`): anything without the secret header is 403.
//! 3. Method: GET and HEAD; OPTIONS answered here (a CORS preflight when CORS is on, else
//!    204 with `Allow`); else 405.
//! 4. Below the IIIF prefix (`--iiif-prefix`, default `/iiif/3/`) the request leaves for
//!    the IIIF branch: the path read from the right into identifier and parameters (400),
//!    the identifier decoded once into a key by the rules of step 5, steps 6-7 on it; the
//!    base URI redirected (303); then HeadObject, what the image is (one small read per key
//!    and ETag, cached: its header facts, or a tiled TIFF's layout in a few more range
//!    reads), the request resolved against it (400), the derived ETag decided (304 without
//!    reading pixels), and the render: a request for one whole stored JPEG tile of a TIFF
//!    answered with that tile's bytes, any other admitted as in step 8: a TIFF's tiles of
//!    the smallest level holding the size read and composed, a JPEG decoded region-first as
//!    its bytes stream in, other formats read whole. Answers carry
//!    `Access-Control-Allow-Origin: *` unless CORS is configured.
//! 5. Path to key: decode once (or, after `/~/`, base64url, the spelling the deploy's
//!    CloudFront Function uses for Function URLs), reject traversal and control bytes: 400
//!    before any I/O. The query is read once ([`query::Query`]; 400 for a bad escape or an
//!    escaped name of ours) and that one reading feeds the signature check and the transform
//!    parameters.
//! 6. Allowed keys (prefixes, extensions): else 404, like a missing object.
//! 7. Signature for keys under a signed prefix: else 403 `forbidden` or `expired`,
//!    `Cache-Control: no-store`. Steps 2-7 never touch the store.
//! 8. Parse Range and conditional headers (every header line). With transform parameters
//!    (`w`, `h`, `fit`, `format`, `q`; 400 if bad) the request leaves here for the transform
//!    branch: HeadObject, the RFC 9110 decision on the derived ETag (304/412 without
//!    decoding), a slot of the shared semaphore (503 when none frees in time), the source
//!    read whole as a resumable body within the store deadline, its header read
//!    ([`transform::prepare`]) and the estimated peak admitted into the memory budget (503
//!    when it does not free in time, 422 when it never could), [`transform::Prepared::render`]
//!    on the blocking pool, a 200 sent whole.
//! 9. One store call: HeadObject for HEAD and for a GET with several ranges; for any other
//!    GET one lookup that may carry the range and validators and start the read (S3: one
//!    GetObject). Every store call has a deadline
//!    (`--store-timeout`, 504); bodies have idle and stall limits ([`body`]).
//! 10. [`plan::decide`] on the returned metadata picks the status; the store's early answer
//!     is used only when it agrees.
//! 11. Headers from [`response`]; the body streams the planned span with backpressure, or
//!     for several ranges ([`plan::multipart`]) each part's head and span in turn, one store
//!     read per group of nearby parts (`plan::multipart::reads`), the next opened ahead,
//!     every read pinned to the ETag.
//! 12. The transport sends the body wrapped in [`observe::Observed`], which counts what is
//!     handed over and how it ends; when the exchange's last handle goes, its record is
//!     logged, counted and (Lambda) emitted as EMF.
#![deny(missing_docs)]

pub mod access;
pub mod allocator;
pub mod body;
pub mod cli;
pub mod config;
pub mod cors;
#[doc(hidden)]
pub mod fuzzing;
pub mod http1;
pub mod iiif;
pub mod key;
pub mod lambda;
pub mod meta;
pub mod observe;
pub mod plan;
pub mod query;
pub mod range;
pub mod response;
pub mod samples;
pub mod server;
pub mod service;
pub mod store;
pub mod transform;
pub mod validators;

pub use config::Config;
pub use service::Origin;
