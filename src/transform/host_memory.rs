//! How much memory this process may use, for the default transform memory budget: the
//! Lambda function's size, else the cgroup's limit (v2 `memory.max`, v1
//! `memory.limit_in_bytes`), else the machine's MemTotal. Pure over the files' text
//! ([`process_limit`], [`default_budget`]); [`HostMemory::read`] gathers it.

const MIB: u64 = 1 << 20;
/// The default budget is at most this, whatever the machine: beyond it the transform slots
/// (CPU) bound a server long before memory does.
pub const DEFAULT_CAP_MIB: u64 = 1024;
/// Nor less than this: one 1280 px thumbnail of a 24 MP JPEG needs about 16 MiB.
pub const DEFAULT_FLOOR_MIB: u64 = 16;
/// Without any limit known (not Linux): what a small container would give.
const UNKNOWN_LIMIT: u64 = 512 * MIB;
/// cgroup v1 writes "no limit" as the largest page-aligned i64 (9223372036854771712).
const V1_UNLIMITED: u64 = 1 << 62;

/// Where the limit came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitSource {
    /// `--transform-memory` / `IMGORIGIN_TRANSFORM_MEMORY`.
    Flag,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (MB).
    Lambda,
    /// cgroup v2 `memory.max`.
    CgroupV2,
    /// cgroup v1 `memory.limit_in_bytes`.
    CgroupV1,
    /// `MemTotal` in `/proc/meminfo`.
    MemTotal,
    /// Nothing readable.
    Unknown,
}

impl LimitSource {
    /// How the log names it.
    pub fn describe(self) -> &'static str {
        match self {
            LimitSource::Flag => "--transform-memory",
            LimitSource::Lambda => "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            LimitSource::CgroupV2 => "cgroup v2 memory.max",
            LimitSource::CgroupV1 => "cgroup v1 memory.limit_in_bytes",
            LimitSource::MemTotal => "MemTotal in /proc/meminfo",
            LimitSource::Unknown => "no memory limit found",
        }
    }
}

/// The host's memory facts as text, `None` where absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostMemory {
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`.
    pub lambda_mb: Option<String>,
    /// This process's cgroup v2 `memory.max` (`max` = no limit).
    pub cgroup_v2_max: Option<String>,
    /// cgroup v1 `memory.limit_in_bytes`.
    pub cgroup_v1_limit: Option<String>,
    /// `/proc/meminfo`.
    pub meminfo: Option<String>,
}

impl HostMemory {
    /// Reads the variable and files (each missing one is `None`). The cgroup v2 file is the
    /// one of this process's own cgroup (`/proc/self/cgroup`), else the root's, which is the
    /// container's own in a cgroup namespace.
    pub fn read() -> HostMemory {
        let file = |path: &str| std::fs::read_to_string(path).ok();
        let own = file("/proc/self/cgroup").and_then(|c| {
            let path = c
                .lines()
                .find_map(|l| l.strip_prefix("0::"))?
                .trim()
                .to_owned();
            (path != "/").then(|| format!("/sys/fs/cgroup{path}/memory.max"))
        });
        HostMemory {
            lambda_mb: std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").ok(),
            cgroup_v2_max: own
                .and_then(|p| file(&p))
                .or_else(|| file("/sys/fs/cgroup/memory.max")),
            cgroup_v1_limit: file("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
            meminfo: file("/proc/meminfo"),
        }
    }
}

/// The memory limit in bytes and where it came from: Lambda, else a cgroup limit, else
/// MemTotal; a cgroup limit above MemTotal (or none) gives MemTotal.
pub fn process_limit(host: &HostMemory) -> Option<(u64, LimitSource)> {
    if let Some(mb) = text(&host.lambda_mb).and_then(|v| v.parse::<u64>().ok()) {
        return Some((mb.saturating_mul(1_000_000), LimitSource::Lambda));
    }
    let total = text(&host.meminfo)
        .and_then(mem_total)
        .map(|b| (b, LimitSource::MemTotal));
    let v2 = text(&host.cgroup_v2_max)
        .and_then(|v| v.parse::<u64>().ok())
        .map(|b| (b, LimitSource::CgroupV2));
    let v1 = text(&host.cgroup_v1_limit)
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&b| b < V1_UNLIMITED)
        .map(|b| (b, LimitSource::CgroupV1));
    match (v2.or(v1), total) {
        (Some(cgroup), Some(total)) if total.0 < cgroup.0 => Some(total),
        (Some(cgroup), _) => Some(cgroup),
        (None, total) => total,
    }
}

fn text(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim)
}

/// `MemTotal:` of /proc/meminfo, in bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let kib = meminfo.lines().find_map(|l| l.strip_prefix("MemTotal:"))?;
    let kib: u64 = kib.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

/// The default budget in MiB: half the limit, within [`DEFAULT_FLOOR_MIB`] and
/// [`DEFAULT_CAP_MIB`]. Half, because the process itself (runtime, connections, streamed
/// bodies), the allocator's slack and estimates that miss need the rest.
pub fn default_budget(limit: Option<(u64, LimitSource)>) -> (u64, LimitSource) {
    let (bytes, source) = limit.unwrap_or((UNKNOWN_LIMIT, LimitSource::Unknown));
    let mib = (bytes / 2 / MIB).clamp(DEFAULT_FLOOR_MIB, DEFAULT_CAP_MIB);
    (mib, source)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(
        lambda: Option<&str>,
        v2: Option<&str>,
        v1: Option<&str>,
        total_kib: Option<u64>,
    ) -> HostMemory {
        HostMemory {
            lambda_mb: lambda.map(str::to_owned),
            cgroup_v2_max: v2.map(str::to_owned),
            cgroup_v1_limit: v1.map(str::to_owned),
            meminfo: total_kib.map(|k| format!("MemFree:  1 kB\nMemTotal:       {k} kB\n")),
        }
    }

    #[test]
    fn limit_sources_in_order() {
        use LimitSource::*;
        const GIB_KIB: u64 = 1 << 20;
        // (host facts) -> (budget MiB, source)
        let cases = [
            // Lambda wins, in MB (10^6): 256 MB is 122 MiB of budget.
            (
                host(Some("256\n"), Some("max"), None, Some(4 * GIB_KIB)),
                (122, Lambda),
            ),
            (host(Some("10240"), None, None, None), (1024, Lambda)),
            // cgroup v2, bytes; "max" is no limit, so MemTotal.
            (
                host(None, Some("536870912\n"), None, Some(8 * GIB_KIB)),
                (256, CgroupV2),
            ),
            (
                host(None, Some("max\n"), None, Some(8 * GIB_KIB)),
                (1024, MemTotal),
            ),
            // cgroup v1; its "unlimited" value is no limit.
            (
                host(None, None, Some("1073741824"), Some(8 * GIB_KIB)),
                (512, CgroupV1),
            ),
            (
                host(None, None, Some("9223372036854771712"), Some(GIB_KIB)),
                (512, MemTotal),
            ),
            // A cgroup limit above the machine's memory: the machine's.
            (
                host(None, Some("68719476736"), None, Some(GIB_KIB)),
                (512, MemTotal),
            ),
            // Floor and nothing known.
            (host(None, Some("16777216"), None, None), (16, CgroupV2)),
            (
                host(Some("not a number"), Some("garbage"), None, None),
                (256, Unknown),
            ),
            (host(None, None, None, None), (256, Unknown)),
        ];
        for (facts, want) in cases {
            assert_eq!(default_budget(process_limit(&facts)), want, "{facts:?}");
        }
    }
}
