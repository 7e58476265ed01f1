//! External processes: the S3-protocol servers and the `imgorigin` binary under test.

use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const BUCKET: &str = "images";

/// Which store the server under test reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Local,
    /// s3s-fs: fast, Rust; ignores If-None-Match/If-Match on GET.
    S3sFs,
    /// moto: the reference for S3's status codes.
    Moto,
}

/// A store with its server (if any), seeded through the S3 API or the file system.
pub struct Backend {
    pub kind: Kind,
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
    client: Option<aws_sdk_s3::Client>,
}

/// Finds an external tool or fails with how to get it: a missing tool is a failure, never a
/// silent skip.
pub fn find_tool(env_var: &str, name: &str, install: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env_var) {
        return PathBuf::from(p);
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push(manifest.join(".venv/bin"));
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} not found (set {env_var} or put it on PATH). Install: {install}; tests/run.sh installs it")
        })
}

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

pub fn wait_for_port(port: u16, what: &str) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what} did not start listening on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Backend {
    pub async fn start(kind: Kind) -> Backend {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut backend = Backend {
            kind,
            dir,
            port: 0,
            child: None,
            client: None,
        };
        if kind != Kind::Local {
            backend.port = free_port();
            backend.spawn();
            let client = s3_client(&backend.endpoint());
            client
                .create_bucket()
                .bucket(BUCKET)
                .send()
                .await
                .expect("create bucket");
            backend.client = Some(client);
        }
        backend
    }

    fn spawn(&mut self) {
        let port = self.port.to_string();
        let mut cmd = match self.kind {
            Kind::S3sFs => {
                let exe = find_tool(
                    "S3S_FS",
                    "s3s-fs",
                    "cargo install --locked s3s-fs --version 0.14.1 --features binary",
                );
                let mut c = Command::new(exe);
                c.args([
                    "--host",
                    "127.0.0.1",
                    "--port",
                    &port,
                    "--access-key",
                    "test",
                    "--secret-key",
                    "test",
                ]);
                c.arg(self.dir.path());
                c
            }
            Kind::Moto => {
                let exe = find_tool(
                    "MOTO_SERVER",
                    "moto_server",
                    "python3 -m venv .venv && .venv/bin/pip install 'moto[server]'",
                );
                let mut c = Command::new(exe);
                c.args(["-H", "127.0.0.1", "-p", &port]);
                c
            }
            Kind::Local => return,
        };
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        self.child = Some(cmd.spawn().expect("start S3 server"));
        wait_for_port(self.port, "S3 server");
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the S3 server abruptly (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the S3 server again on the same port and data.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Arguments that make `imgorigin serve` read this store.
    pub fn serve_args(&self) -> Vec<String> {
        match self.kind {
            Kind::Local => vec!["--root".into(), self.dir.path().display().to_string()],
            _ => vec![
                "--bucket".into(),
                BUCKET.into(),
                "--endpoint".into(),
                self.endpoint(),
            ],
        }
    }

    pub async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
        cache_control: Option<&str>,
    ) {
        match &self.client {
            None => {
                let path = self.dir.path().join(key);
                std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
                std::fs::write(path, bytes).expect("write fixture");
            }
            Some(client) => {
                client
                    .put_object()
                    .bucket(BUCKET)
                    .key(key)
                    .content_type(content_type)
                    .set_cache_control(cache_control.map(str::to_owned))
                    .body(ByteStream::from(bytes))
                    .send()
                    .await
                    .expect("put fixture");
            }
        }
    }

    /// Uploads `pattern(len, seed)` through the S3 API (or writes it, for a directory) without
    /// holding it in memory; returns its SHA-256.
    pub async fn put_pattern(&self, key: &str, len: u64, seed: u64) -> String {
        let Some(client) = &self.client else {
            return super::write_pattern_file(&self.put_file(key), len, seed);
        };
        let staging = tempfile::tempdir().expect("tempdir");
        let file = staging.path().join("object");
        let sha = super::write_pattern_file(&file, len, seed);
        let body = ByteStream::from_path(&file).await.expect("body");
        client
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(body)
            .send()
            .await
            .expect("upload");
        sha
    }

    /// Places a large file straight into the store's directory (local, s3s-fs), so seeding
    /// does not dominate the test.
    pub fn put_file(&self, key: &str) -> PathBuf {
        let path = match self.kind {
            Kind::Local => self.dir.path().join(key),
            Kind::S3sFs => self.dir.path().join(BUCKET).join(key),
            Kind::Moto => panic!("moto keeps objects in memory"),
        };
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        path
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// The `imgorigin` binary in a hermetic environment: dummy credentials and region, no IMDS,
/// no inherited AWS or IMGORIGIN settings; its log on stderr only with IMGORIGIN_TEST_LOG.
/// Runs `imgorigin sign ARGS` with `keys` as IMGORIGIN_SIGNING_KEYS; its line of output.
pub fn imgorigin_sign(args: &[&str], keys: &str) -> String {
    let out = imgorigin_command()
        .arg("sign")
        .args(args)
        .env("IMGORIGIN_SIGNING_KEYS", keys)
        .output()
        .expect("imgorigin sign");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "imgorigin sign {args:?}: {stderr}");
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .trim()
        .to_owned()
}

pub fn imgorigin_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgorigin"));
    for var in [
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_SESSION_TOKEN",
        "IMGORIGIN_ROOT",
        "IMGORIGIN_BUCKET",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
        "AWS_USE_FIPS_ENDPOINT",
        "AWS_USE_DUALSTACK_ENDPOINT",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let log = std::env::var_os("IMGORIGIN_TEST_LOG").is_some();
    cmd.stderr(if log { Stdio::inherit() } else { Stdio::null() });
    cmd
}

/// The `imgorigin` binary, started with `serve`.
pub struct Imgorigin {
    child: Child,
    pub addr: SocketAddr,
    /// The admin listener, when `--admin-listen` was given.
    pub admin: Option<SocketAddr>,
    /// Its stdout after the listening lines: the access log.
    pub log: LogLines,
}

/// Lines a child writes to stdout, collected by a thread as they come.
#[derive(Clone, Default)]
pub struct LogLines(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl LogLines {
    /// Collects the lines of `out` until it closes.
    pub fn collect(out: impl std::io::Read + Send + 'static) -> LogLines {
        let lines = LogLines::default();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                sink.0.lock().expect("lines").push(line);
            }
        });
        lines
    }

    /// The lines so far.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().expect("lines").clone()
    }

    /// The access-log lines so far (EMF documents left out).
    pub fn access(&self) -> Vec<String> {
        let lines = self.0.lock().expect("lines");
        lines.iter().filter(|l| !is_emf(l)).cloned().collect()
    }

    /// The EMF documents so far.
    pub fn emf(&self) -> Vec<String> {
        let lines = self.0.lock().expect("lines");
        lines.iter().filter(|l| is_emf(l)).cloned().collect()
    }

    /// Waits (up to 5 s) until there are at least `n` access-log lines; returns them.
    pub fn wait_for(&self, n: usize) -> Vec<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while self.access().len() < n && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let lines = self.access();
        assert!(lines.len() >= n, "{} log lines, {n} expected", lines.len());
        lines
    }
}

impl LogLines {
    /// Waits (up to 5 s) until there are at least `n` EMF documents; returns them.
    pub fn wait_for_emf(&self, n: usize) -> Vec<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while self.emf().len() < n && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        self.emf()
    }
}

/// Whether a stdout line is an EMF document rather than an access-log line.
pub fn is_emf(line: &str) -> bool {
    line.starts_with('{') && line.contains("\"_aws\":{")
}

impl Imgorigin {
    pub fn start(args: &[String]) -> Imgorigin {
        Self::start_with_env(args, &[])
    }

    pub fn start_with_env(args: &[String], env: &[(&str, &str)]) -> Imgorigin {
        let mut cmd = imgorigin_command();
        cmd.arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .args(args);
        cmd.envs(env.iter().copied()).stdout(Stdio::piped());
        let mut child = cmd.spawn().expect("start imgorigin");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut read_addr = |prefix: &str| {
            let mut line = String::new();
            stdout.read_line(&mut line).expect("read a stdout line");
            line.trim()
                .strip_prefix(prefix)
                .unwrap_or_else(|| panic!("stdout line {line:?} lacks {prefix:?}"))
                .parse::<SocketAddr>()
                .expect("address")
        };
        let addr = read_addr("listening on http://");
        let admin = args
            .iter()
            .any(|a| a == "--admin-listen")
            .then(|| read_addr("admin listening on http://"));
        Imgorigin {
            child,
            addr,
            admin,
            log: LogLines::collect(stdout),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident set size so far (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        proc_status_kib(self.pid(), "VmHWM:")
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        self.signal("TERM");
        self.child.wait().expect("wait")
    }

    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status();
        assert!(ok.is_ok_and(|s| s.success()), "kill -{name}");
    }

    /// Waits for the process to exit by itself.
    pub fn terminate_wait(&mut self) -> ExitStatus {
        self.child.wait().expect("wait")
    }

    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }
}

impl Drop for Imgorigin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("field in /proc status")
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}
