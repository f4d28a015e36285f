//! The peer: OpenStack Ironic from PyPI, all-in-one (`ironic`: API and conductor in
//! one process, no message bus) on SQLite without authentication, with fake-hardware,
//! run through the same scenarios. Its virtual environment is kept between runs.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::http::Endpoint;
use crate::report::{FloorResult, TopologyResult};
use crate::service::{self, Launch};
use crate::topology::Topology;
use crate::{Args, run_scenarios};

/// What pip installs; `IRONIC_PACKAGE` overrides it (e.g. `ironic==29.0.0`).
const PACKAGE: &str = "ironic";

fn config(port: u16, database: &Path) -> String {
    // Every interface of fake-hardware set to its fake or no-op kind, so that nothing
    // reaches a real BMC; volume resources only need a storage interface enabled.
    format!(
        r#"[DEFAULT]
auth_strategy = noauth
rpc_transport = none
host = bench-ironic
enabled_hardware_types = fake-hardware
enabled_boot_interfaces = fake
enabled_console_interfaces = fake,no-console
enabled_deploy_interfaces = fake
enabled_inspect_interfaces = fake,no-inspect
enabled_management_interfaces = fake
enabled_network_interfaces = noop
enabled_power_interfaces = fake
enabled_raid_interfaces = fake,no-raid
enabled_rescue_interfaces = fake,no-rescue
enabled_storage_interfaces = noop,fake
enabled_vendor_interfaces = fake,no-vendor
enabled_bios_interfaces = fake,no-bios
enabled_firmware_interfaces = fake,no-firmware
default_storage_interface = noop
use_stderr = true

[api]
host_ip = 127.0.0.1
port = {port}
api_workers = 1

[database]
connection = sqlite:///{db}

[dhcp]
dhcp_provider = none

[conductor]
automated_clean = false
heartbeat_interval = 10
"#,
        db = database.display()
    )
}

fn check(status: std::process::ExitStatus, what: &str) -> Result<()> {
    if status.success() {
        Ok(())
    } else {
        bail!("{what} failed: {status}")
    }
}

/// The virtual environment with Ironic; created on first use.
fn venv(dir: &Path) -> Result<()> {
    if dir.join("bin/ironic").exists() {
        return Ok(());
    }
    eprintln!(
        "bench: installing Ironic into {} (takes minutes)",
        dir.display()
    );
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    check(
        Command::new(&python)
            .arg("-m")
            .arg("venv")
            .arg(dir)
            .status()?,
        "python -m venv",
    )?;
    let package = std::env::var("IRONIC_PACKAGE").unwrap_or_else(|_| PACKAGE.into());
    let pip = dir.join("bin/pip");
    pip_install(&pip, &["--upgrade", "pip"])?;
    pip_install(&pip, &[&package])
}

/// `pip install --quiet ARGS`, failing with the command's name.
fn pip_install(pip: &Path, args: &[&str]) -> Result<()> {
    let status = Command::new(pip)
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(args)
        .status()?;
    check(status, &format!("pip install {}", args.join(" ")))
}

pub async fn run(
    args: &Args,
    work: &Path,
    service_cpu: Option<usize>,
    floor: &FloorResult,
) -> Result<TopologyResult> {
    let venv_dir = work.join("ironic-venv");
    venv(&venv_dir)?;
    let dir = work.join("ironic");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let port = service::free_port()?;
    let conf = dir.join("ironic.conf");
    std::fs::write(&conf, config(port, &dir.join("ironic.sqlite")))?;
    let conf_arg = format!("--config-file={}", conf.display());
    let log = std::fs::File::create(dir.join("ironic-dbsync.log"))?;
    check(
        Command::new(venv_dir.join("bin/ironic-dbsync"))
            .args([conf_arg.as_str(), "create_schema"])
            .stdout(log.try_clone()?)
            .stderr(log)
            .status()
            .context("ironic-dbsync")?,
        "ironic-dbsync create_schema",
    )?;
    let api = Endpoint::new(format!("127.0.0.1:{port}"));
    let launch = Launch {
        name: "ironic".into(),
        program: venv_dir.join("bin/ironic"),
        args: vec![conf_arg],
        env: BTreeMap::new(),
        ready_url: api.clone(),
        ready_path: "/".into(),
        log: dir.join("ironic.log"),
        cpu: service_cpu,
    };
    // Timed on the existing database, as sanlink's start is.
    let mut proc = launch.start().await?;
    let result = run_scenarios(
        args,
        "ironic",
        "OpenStack Ironic (all-in-one, SQLite, no RPC)",
        &api,
        std::slice::from_ref(&proc),
        // Ironic commits to SQLite too (its own settings); no round trip.
        &FloorResult {
            commit_sqlite: floor.commit_sqlite,
            ..Default::default()
        },
        Topology::Embedded,
    )
    .await;
    service::stop(&mut proc);
    result.with_context(|| format!("ironic; log: {}", dir.join("ironic.log").display()))
}
