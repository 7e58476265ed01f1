//! `cargo lambda watch` as the Lambda platform for tests.

use super::procs::{find_tool, free_port, proc_status_kib, wait_for_port};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

/// `cargo lambda watch` emulating the Runtime API and Function URLs, with the already built
/// `imgorigin` binary as the function (`--only-lambda-apis`: no second build).
pub struct LambdaWatch {
    watch: Child,
    function: Child,
    pub addr: SocketAddr,
}

/// Path prefix of the emulated Function URL (function name `_`, as the emulator names it).
pub const LAMBDA_URL_PREFIX: &str = "/lambda-url/_";

impl LambdaWatch {
    pub fn start(env: &[(&str, String)]) -> LambdaWatch {
        Self::start_on(free_port(), env)
    }

    /// [`LambdaWatch::start`] on a given free port (to put it in the function's settings).
    pub fn start_on(port: u16, env: &[(&str, String)]) -> LambdaWatch {
        let exe = find_tool(
            "CARGO_LAMBDA",
            "cargo-lambda",
            "cargo install --locked cargo-lambda --version 1.9.2",
        );
        let mut watch = Command::new(exe);
        watch
            .args([
                "lambda",
                "watch",
                "--only-lambda-apis",
                "--disable-cors",
                "-A",
                "127.0.0.1",
                "-P",
                &port.to_string(),
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let watch = watch.spawn().expect("start cargo lambda watch");
        wait_for_port(port, "cargo lambda watch");
        let mut function = super::procs::imgorigin_command();
        function
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{port}/.rt"),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null());
        let function = function
            .spawn()
            .expect("start imgorigin as a Lambda function");
        LambdaWatch {
            watch,
            function,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    /// Peak RSS of the function process (VmHWM), in KiB.
    pub fn function_peak_rss_kib(&self) -> u64 {
        proc_status_kib(self.function.id(), "VmHWM:")
    }
}

impl Drop for LambdaWatch {
    fn drop(&mut self) {
        for child in [&mut self.function, &mut self.watch] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
