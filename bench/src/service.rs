//! Starting and stopping the service under test as child processes pinned to the
//! service's core, and reading their memory and CPU time from /proc.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::affinity;
use crate::http::{Conn, Endpoint};

/// One process of the service.
pub struct Proc {
    pub name: String,
    child: Child,
    /// Launch to its first answered request.
    pub startup: Duration,
    /// VmRSS once started, before any load.
    pub idle_rss_kb: u64,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// VmHWM: the most resident memory the process (with its child processes, as
    /// Ironic's API workers are) ever had.
    pub fn peak_rss_kb(&self) -> u64 {
        tree(self.pid())
            .into_iter()
            .filter_map(|pid| status_kb(pid, "VmHWM"))
            .sum()
    }

    /// User plus system CPU time so far, of the process and its child processes.
    pub fn cpu_time(&self) -> Duration {
        tree(self.pid()).into_iter().filter_map(cpu_time).sum()
    }
}

/// A process and its descendants, from /proc/<pid>/task/<tid>/children.
pub fn tree(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        let tasks = fs::read_dir(format!("/proc/{}/task", all[i]));
        for task in tasks.into_iter().flatten().flatten() {
            let children = fs::read_to_string(task.path().join("children")).unwrap_or_default();
            all.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
        i += 1;
    }
    all
}

/// A field of /proc/<pid>/status in kB.
pub fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// utime + stime of a process (and its finished children) from /proc/<pid>/stat.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().ok()? + fields[12].parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    #[allow(unsafe_code)]
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Some(Duration::from_micros(ticks * 1_000_000 / hz.max(1)))
}

/// How to launch one process.
pub struct Launch {
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    /// Answers 2xx once the process serves.
    pub ready_url: Endpoint,
    pub ready_path: String,
    pub log: PathBuf,
    pub cpu: Option<usize>,
}

impl Launch {
    /// Starts the process and waits for its first answered request.
    pub async fn start(&self) -> Result<Proc> {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("open {}", self.log.display()))?;
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .envs(&self.env)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        if let Some(cpu) = self.cpu {
            affinity::pin_child(&mut command, cpu);
        }
        let launched = Instant::now();
        let mut child = command
            .spawn()
            .with_context(|| format!("start {}", self.program.display()))?;
        let mut conn = Conn::new(&self.ready_url);
        let deadline = launched + Duration::from_secs(120);
        loop {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "{} exited with {status}; see {}",
                    self.name,
                    self.log.display()
                );
            }
            if let Ok(answer) = conn.get(&self.ready_path).await
                && answer.status.is_success()
            {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!(
                    "{} did not answer in time; see {}",
                    self.name,
                    self.log.display()
                );
            }
            // Short: the start-up time is measured with this resolution.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let startup = launched.elapsed();
        let idle_rss_kb = tree(child.id())
            .into_iter()
            .filter_map(|pid| status_kb(pid, "VmRSS"))
            .sum();
        Ok(Proc {
            name: self.name.clone(),
            child,
            startup,
            idle_rss_kb,
        })
    }
}

/// Stops a process with SIGTERM, then SIGKILL if it lingers.
pub fn stop(proc: &mut Proc) {
    // SAFETY: kill only sends a signal, to a child this process started and has not reaped.
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(proc.child.id() as i32, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = proc.child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = proc.child.kill();
    let _ = proc.child.wait();
}

/// A free loopback port below the kernel's ephemeral range, each call a different one.
/// A port picked by binding port 0 comes from that range, where any outgoing
/// connection (a started service's own, to its database or broker) may take it before
/// the service that was given it binds it.
pub fn free_port() -> Result<u16> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const FIRST: u32 = 10_000;
    let end = ephemeral_start().unwrap_or(32_768).max(FIRST + 1);
    let span = end - FIRST;
    // Concurrent runs of the bench start in different places.
    let offset = std::process::id().wrapping_mul(7_919);
    for _ in 0..span {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (FIRST + offset.wrapping_add(n) % span) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no free port between {FIRST} and {end}")
}

/// The first port of the kernel's ephemeral range.
fn ephemeral_start() -> Option<u32> {
    let range = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    range.split_whitespace().next()?.parse().ok()
}

/// The service's binaries: next to the bench binary itself (same profile).
pub fn bin_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    Ok(exe.parent().unwrap_or(Path::new(".")).to_path_buf())
}

/// The machine's memory (MemTotal), in kB.
pub fn status_kb_meminfo() -> Option<u64> {
    let meminfo = fs::read_to_string("/proc/meminfo").ok()?;
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
