"""The function processes: imgorigin in its two invoke modes and the recipe's Node handler
(loadtest/recipe/index.mjs, verbatim, under the minimal Runtime API loop runtime.mjs), each one
Lambda execution environment polling its own fake Runtime API."""

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import procs

from .constants import BUCKET, RECIPE_DIR
from .runtime_api import Invocation, RuntimeApi

IMGORIGIN_FUNCTIONS = ("imgorigin-stream", "imgorigin-buffered")
RECIPE_FUNCTIONS = ("recipe", "recipe-sharp")


class Function:
    """One Lambda execution environment: a process polling its own RuntimeApi."""

    def __init__(self, name: str, argv: list[str], env: dict, log: Path, cwd=None):
        self.name = name
        self.api = RuntimeApi()
        env = {**env, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self.api.port}"}
        self.log_path = log
        self.log = open(log, "ab")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                                     start_new_session=True)
        deadline = time.monotonic() + 60
        while self.api.first_next is None:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({self.proc.returncode}) before its first "
                                   f"`next`; see {log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not ask for an event within 60 s; see {log}")
            time.sleep(0.0005)
        self.init_ms = (self.api.first_next - self.started) * 1000

    def invoke(self, payload: bytes) -> Invocation:
        return self.api.invoke(payload)

    def pids(self):
        return procs.process_tree(self.proc.pid)

    def cpu_s(self) -> float:
        return procs.cpu_seconds(self.pids())

    def rss_kib(self) -> int:
        total = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1])
            except OSError:
                pass
        return total

    def peak_kib(self) -> int:
        return procs.peak_rss_kib(self.pids())

    def reset_peak(self):
        procs.reset_peak_rss(self.pids())

    def log_bytes(self) -> int:
        self.log.flush()
        return self.log_path.stat().st_size

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.api.close()
        self.log.close()


def base_env() -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("IMGORIGIN_", "AWS_", "NODE_"))}
    env.update({
        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
    })
    return env


@dataclass
class FunctionKind:
    id: str
    label: str
    arch: str  # the architecture it is deployed with
    mode: str  # stream | buffered (how Lambda takes its answer)
    argv: list
    env: dict
    cwd: Path | None = None


def function_kinds(args, endpoint: str) -> dict[str, FunctionKind]:
    template_mb = str(args.template_memory)
    img = [args.imgorigin]
    common = {**base_env(), "IMGORIGIN_BUCKET": BUCKET, "IMGORIGIN_ENDPOINT": endpoint,
              "IMGORIGIN_CACHE_CONTROL": "public, max-age=31536000",
              "IMGORIGIN_METRICS": "emf", "IMGORIGIN_METRICS_NAMESPACE": "imgorigin",
              "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": template_mb,
              "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/imgorigin"}
    node = os.environ.get("NODE", "node")
    recipe_env = {**base_env(), "AWS_ENDPOINT_URL_S3": endpoint,
                  "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
                  "AWS_LAMBDA_FUNCTION_NAME": "image-proxy",
                  "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/image-proxy",
                  "UV_THREADPOOL_SIZE": "2"}
    return {
        "imgorigin-stream": FunctionKind(
            "imgorigin-stream", "imgorigin stream", "arm64", "stream", img,
            {**common, "IMGORIGIN_INVOKE_MODE": "stream",
             "AWS_LAMBDA_FUNCTION_NAME": "imgorigin-stream"}),
        "imgorigin-buffered": FunctionKind(
            "imgorigin-buffered", "imgorigin buffered", "arm64", "buffered", img,
            {**common, "IMGORIGIN_INVOKE_MODE": "buffered", "IMGORIGIN_MAX_RANGES": "64",
             "AWS_LAMBDA_FUNCTION_NAME": "imgorigin-buffered"}),
        "recipe": FunctionKind(
            "recipe", "recipe (Node 20)", "x86_64", "buffered",
            [node, str(RECIPE_DIR / "runtime.mjs"), str(RECIPE_DIR / "index.mjs")],
            recipe_env, RECIPE_DIR),
        "recipe-sharp": FunctionKind(
            "recipe-sharp", "recipe + sharp", "x86_64", "buffered",
            [node, str(RECIPE_DIR / "runtime.mjs"), str(RECIPE_DIR / "index-sharp.mjs")],
            recipe_env, RECIPE_DIR),
    }
