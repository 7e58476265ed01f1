//! Command line and environment: every flag also reads an `IMGORIGIN_*` variable, so the same
//! settings work for `imgorigin serve`, containers and (later) Lambda.

use crate::access::{KeyConfigError, RequiredHeaderError};
use crate::config::Config;
use crate::cors::Cors;
use crate::store::{LocalStore, S3Options, S3Store, Store};
use clap::{Args, Parser, Subcommand};
use http::HeaderValue;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

mod access;
mod iiif;
mod observe;
mod transform;
pub use access::{AccessArgs, KeyArgs, Secret, SignArgs};
pub use iiif::IiifArgs;
pub use observe::{LogArgs, MetricsArgs, MetricsMode, Switch};
pub use transform::TransformArgs;

/// `imgorigin`.
#[derive(Debug, Parser)]
#[command(
    name = "imgorigin",
    version,
    long_version = crate::transform::simd::LONG_VERSION.as_str(),
    about = "Streaming origin for large images and objects, from S3 or a directory"
)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve over HTTP/1.1.
    Serve(ServeArgs),
    /// Serve AWS Lambda Function URL invocations (needs AWS_LAMBDA_RUNTIME_API). Also what
    /// runs when no subcommand is given and that variable is set.
    Lambda(LambdaArgs),
    /// Print a signed URL for a path or URL (keys from the same flags and variables as
    /// `serve`).
    Sign(SignArgs),
    /// Write a large sample image (large.jpg, 24 MP) into DIR, to try ranges and resizes on
    /// something big: `imgorigin samples samples`.
    Samples(SamplesArgs),
}

/// `imgorigin samples`.
#[derive(Debug, Args)]
pub struct SamplesArgs {
    /// The directory to write into (created if missing).
    pub dir: std::path::PathBuf,
}

/// `imgorigin lambda`: settings usually come from the function's environment.
#[derive(Debug, Args)]
pub struct LambdaArgs {
    /// `stream` for a RESPONSE_STREAM Function URL, `buffered` for a BUFFERED one.
    #[arg(
        long,
        env = "IMGORIGIN_INVOKE_MODE",
        value_enum,
        default_value = "stream"
    )]
    pub invoke_mode: crate::lambda::InvokeMode,
    /// Where objects come from.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Response settings.
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// The access log.
    #[command(flatten)]
    pub log: LogArgs,
    /// EMF metrics.
    #[command(flatten)]
    pub metrics: MetricsArgs,
}

/// `imgorigin serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port. The first stdout line is
    /// `listening on http://HOST:PORT`.
    #[arg(long, env = "IMGORIGIN_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Seconds to let in-flight responses finish after SIGTERM/SIGINT.
    #[arg(long, env = "IMGORIGIN_DRAIN_TIMEOUT", default_value_t = 10)]
    pub drain_timeout: u64,
    /// Worker threads, each with its own S3 connection pool; the main thread hands each new
    /// connection to the worker with the fewest open. Default: the CPUs this process may use.
    #[arg(long, env = "IMGORIGIN_WORKERS", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: Option<u16>,
    /// Open client connections at most, shared out over the workers; past it a new
    /// connection is answered 503 (Retry-After: 1) and closed.
    #[arg(long, env = "IMGORIGIN_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,
    /// Seconds a write to a client may wait before the connection is dropped; also the
    /// period over which --min-send-rate is measured.
    #[arg(long, env = "IMGORIGIN_SEND_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub send_timeout: u64,
    /// Bytes per second a client must read on average while it holds writes back, else it
    /// is dropped (slow-read guard); 0 turns the floor off.
    #[arg(long, env = "IMGORIGIN_MIN_SEND_RATE", default_value_t = 1024)]
    pub min_send_rate: u64,
    /// Address of the admin listener (`/metrics` in the Prometheus text format, `/healthz`,
    /// `/readyz`); off unless given. Keep it off the public network.
    #[arg(long, env = "IMGORIGIN_ADMIN_LISTEN")]
    pub admin_listen: Option<String>,
    /// Where objects come from.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Response settings.
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// The access log.
    #[command(flatten)]
    pub log: LogArgs,
}

/// Which store to serve.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Serve files under this directory.
    #[arg(
        long,
        env = "IMGORIGIN_ROOT",
        conflicts_with = "bucket",
        required_unless_present = "bucket"
    )]
    pub root: Option<PathBuf>,
    /// Serve objects of this S3 bucket.
    #[arg(long, env = "IMGORIGIN_BUCKET")]
    pub bucket: Option<String>,
    /// Prepended to every key (`images/`).
    #[arg(long, env = "IMGORIGIN_PREFIX", default_value = "")]
    pub prefix: String,
    /// S3-compatible endpoint URL (path-style). `AWS_ENDPOINT_URL` works too.
    #[arg(long, env = "IMGORIGIN_ENDPOINT")]
    pub endpoint: Option<String>,
    /// AWS region (else the SDK's chain, else us-east-1).
    #[arg(long, env = "IMGORIGIN_REGION")]
    pub region: Option<String>,
    /// Socket receive buffer of each S3 connection, in bytes (SO_RCVBUF; Linux doubles it
    /// for bookkeeping and caps it at net.core.rmem_max), or `auto` for the kernel's
    /// autotuning. A fixed buffer keeps concurrent large downloads even and bounds kernel
    /// memory per connection; `auto` suits buckets in another region (docs/s3.md).
    #[arg(long, env = "IMGORIGIN_S3_RECEIVE_BUFFER", default_value = "212992", value_parser = parse_receive_buffer)]
    pub s3_receive_buffer: ReceiveBuffer,
}

/// `--s3-receive-buffer`: a size, or the kernel's autotuning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiveBuffer(pub Option<usize>);

fn parse_receive_buffer(value: &str) -> Result<ReceiveBuffer, String> {
    if value == "auto" {
        return Ok(ReceiveBuffer(None));
    }
    match value.parse::<usize>() {
        Ok(bytes) if (4096..=(64 << 20)).contains(&bytes) => Ok(ReceiveBuffer(Some(bytes))),
        _ => Err("a byte count from 4096 to 67108864, or `auto`".to_owned()),
    }
}

/// Settings of responses.
#[derive(Debug, Clone, Args)]
pub struct PipelineArgs {
    /// Cache-Control for objects that have none of their own.
    #[arg(
        long,
        env = "IMGORIGIN_CACHE_CONTROL",
        default_value = "public, max-age=31536000"
    )]
    pub cache_control: String,
    /// Cache-Control for 404 answers.
    #[arg(
        long,
        env = "IMGORIGIN_NOT_FOUND_CACHE_CONTROL",
        default_value = "public, max-age=60"
    )]
    pub not_found_cache_control: String,
    /// Allowed CORS origin (repeatable, comma-separated in the variable), or `*`.
    #[arg(
        long = "cors-origin",
        env = "IMGORIGIN_CORS_ORIGIN",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,
    /// Seconds each store call (lookup, HEAD, opening a read; retries included) may take
    /// before the request is answered 504.
    #[arg(long, env = "IMGORIGIN_STORE_TIMEOUT", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub store_timeout: u64,
    /// Most ranges in one Range header: a request with more gets the whole object (200), as
    /// with nginx's max_ranges. Several ranges are answered 206 multipart/byteranges.
    #[arg(long, env = "IMGORIGIN_MAX_RANGES", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub max_ranges: u64,
    /// Access control.
    #[command(flatten)]
    pub access: AccessArgs,
    /// Transform limits.
    #[command(flatten)]
    pub transform: TransformArgs,
    /// The IIIF Image API service.
    #[command(flatten)]
    pub iiif: IiifArgs,
}

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A value that cannot be sent as a header.
    #[error("{0}: not a valid header value")]
    HeaderValue(&'static str),
    /// The root directory cannot be opened.
    #[error("--root {path}: {source}")]
    Root {
        /// The directory given.
        path: PathBuf,
        /// Why it cannot be served.
        source: std::io::Error,
    },
    /// Neither --root nor --bucket.
    #[error("give --root DIR or --bucket NAME")]
    NoStore,
    /// A signing key is unusable (the message names the key id, never the secret).
    #[error(transparent)]
    Keys(#[from] KeyConfigError),
    /// The key file cannot be read.
    #[error("--signing-keys-file {path}: {source}")]
    KeysFile {
        /// The file given.
        path: PathBuf,
        /// Why it cannot be read.
        source: std::io::Error,
    },
    /// Signed prefixes without keys.
    #[error("--signed-prefix/--sign-all need --signing-keys or --signing-keys-file")]
    NoKeys,
    /// `--expires-in` is not a duration.
    #[error("--expires-in {0:?}: give seconds or a number with s, m, h or d")]
    Duration(String),
    /// A bad origin-lock header.
    #[error(transparent)]
    RequireHeader(#[from] RequiredHeaderError),
    /// An AWS configuration the S3 reads do not support (the message says what to do).
    #[error("S3: {0}")]
    S3(String),
}

impl StoreArgs {
    /// Opens the store for the pipeline `config` (whose access rules also decide which
    /// symlinks a root serves). S3 makes no network call here.
    ///
    /// # Errors
    /// When the root directory is unusable or no store is named.
    pub async fn open(&self, config: &Config) -> Result<Arc<dyn Store>, ConfigError> {
        let mut stores = self.open_per_worker(1, config).await?;
        stores.pop().ok_or(ConfigError::NoStore)
    }

    /// Opens the store once per worker: S3 stores share settings and credentials chain but
    /// each has its own connection pool, so a worker's upstream connections stay on its thread.
    ///
    /// # Errors
    /// As [`StoreArgs::open`].
    pub async fn open_per_worker(
        &self,
        workers: usize,
        config: &Config,
    ) -> Result<Vec<Arc<dyn Store>>, ConfigError> {
        if let Some(path) = &self.root {
            let local = LocalStore::new(path).map_err(|source| ConfigError::Root {
                path: path.clone(),
                source,
            })?;
            let store: Arc<dyn Store> = Arc::new(local.with_link_policy(link_policy(config)));
            return Ok(vec![store; workers]);
        }
        let bucket = self.bucket.clone().ok_or(ConfigError::NoStore)?;
        let options = S3Options {
            bucket,
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            receive_buffer: self.s3_receive_buffer.0,
        };
        let first = S3Store::new(options).await.map_err(ConfigError::S3)?;
        let mut stores: Vec<Arc<dyn Store>> = Vec::with_capacity(workers);
        for _ in 1..workers {
            stores.push(Arc::new(first.with_own_pool()));
        }
        stores.push(Arc::new(first));
        Ok(stores)
    }
}

/// The access rules, checked again on the key a symlink resolves to (keys with `--prefix`;
/// a target outside the prefix is never served).
fn link_policy(config: &Config) -> crate::store::LinkPolicy {
    let (access, prefix) = (config.access.clone(), config.prefix.clone());
    Arc::new(move |requested: &str, resolved: &str| {
        match (
            requested.strip_prefix(&prefix),
            resolved.strip_prefix(&prefix),
        ) {
            (Some(requested), Some(resolved)) => access.admits_link(requested, resolved),
            _ => false,
        }
    })
}

impl PipelineArgs {
    /// The pipeline configuration, with `prefix` from the store settings.
    ///
    /// # Errors
    /// When a value cannot be used in a header.
    pub fn config(&self, prefix: &str) -> Result<Config, ConfigError> {
        let header =
            |v: &str, name| HeaderValue::from_str(v).map_err(|_| ConfigError::HeaderValue(name));
        let transforms = self.transform.limits();
        Ok(Config {
            prefix: prefix.to_owned(),
            cache_control: header(&self.cache_control, "--cache-control")?,
            not_found_cache_control: header(
                &self.not_found_cache_control,
                "--not-found-cache-control",
            )?,
            cors: Cors::from_origins(&self.cors_origins)
                .map_err(|_| ConfigError::HeaderValue("--cors-origin"))?,
            access: self.access.access()?,
            transform_slots: std::sync::Arc::new(tokio::sync::Semaphore::new(
                transforms.concurrency,
            )),
            transforms,
            store_timeout: Duration::from_secs(self.store_timeout),
            max_ranges: usize::try_from(self.max_ranges).unwrap_or(usize::MAX),
            iiif: self.iiif.settings(),
            ..Config::default()
        })
    }
}

impl ServeArgs {
    /// How many worker threads to run.
    pub fn worker_count(&self) -> usize {
        self.workers.map_or_else(
            || std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            usize::from,
        )
    }

    /// The settings of each worker's listener: the drain period after a shutdown signal,
    /// its share of --max-connections (at least one), the send limits.
    pub fn server_settings(&self) -> crate::server::Settings {
        let workers = self.worker_count() as u64;
        crate::server::Settings {
            drain: Duration::from_secs(self.drain_timeout),
            max_connections: usize::try_from(self.max_connections.div_ceil(workers))
                .unwrap_or(usize::MAX),
            send: crate::server::SendLimits {
                timeout: Duration::from_secs(self.send_timeout),
                min_rate: self.min_send_rate,
            },
        }
    }
}
