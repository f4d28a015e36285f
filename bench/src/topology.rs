//! The two ways sanlink runs, started as a deployment would start them:
//! embedded (`sanlink`: one process on SQLite, in-process transport) and production
//! (`api-gateway` + two `conductor`s over RabbitMQ on PostgreSQL or MariaDB).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use diesel::Connection;
use diesel::connection::SimpleConnection;

use crate::http::Endpoint;
use crate::service::{self, Launch, Proc};

/// The fresh database a production run gets, dropped afterwards.
pub const DATABASE: &str = "sanlink_bench";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topology {
    Embedded,
    Postgres,
    Mysql,
}

impl Topology {
    pub fn name(self) -> &'static str {
        match self {
            Topology::Embedded => "embedded (sanlink, SQLite)",
            Topology::Postgres => "production (api-gateway + 2 conductors, RabbitMQ, PostgreSQL)",
            Topology::Mysql => "production (api-gateway + 2 conductors, RabbitMQ, MariaDB)",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Topology::Embedded => "embedded_sqlite",
            Topology::Postgres => "production_postgres",
            Topology::Mysql => "production_mariadb",
        }
    }
}

/// Where the shared servers are.
#[derive(Clone, Debug)]
pub struct Servers {
    pub amqp_url: String,
    /// `scheme://user@host:port`, no database.
    pub postgres: String,
    pub mysql: String,
}

impl Servers {
    /// The server URL of a production topology's database.
    pub fn server_of(&self, topology: Topology) -> Option<&str> {
        match topology {
            Topology::Embedded => None,
            Topology::Postgres => Some(&self.postgres),
            Topology::Mysql => Some(&self.mysql),
        }
    }
}

/// (Re)creates database `name` on a server; returns its URL.
pub fn fresh_database(server: &str, name: &str) -> Result<String> {
    let server = server.trim_end_matches('/');
    if server.starts_with("postgres") {
        let mut conn = diesel::PgConnection::establish(&format!("{server}/postgres"))?;
        conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        conn.batch_execute(&format!("CREATE DATABASE {name}"))?;
    } else {
        let mut conn = diesel::MysqlConnection::establish(&format!("{server}/mysql"))?;
        conn.batch_execute(&format!(
            "DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name} CHARACTER SET utf8mb4"
        ))?;
    }
    Ok(format!("{server}/{name}"))
}

pub fn drop_database(server: &str, name: &str) -> Result<()> {
    let server = server.trim_end_matches('/');
    if server.starts_with("postgres") {
        let mut conn = diesel::PgConnection::establish(&format!("{server}/postgres"))?;
        conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
    } else {
        let mut conn = diesel::MysqlConnection::establish(&format!("{server}/mysql"))?;
        conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))?;
    }
    Ok(())
}

/// A started topology.
pub struct Running {
    pub topology: Topology,
    pub api: Endpoint,
    pub procs: Vec<Proc>,
    launches: Vec<Launch>,
}

/// Settings every process gets: quiet logs (the log is not what is measured).
fn base_env(work: &Path) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("SANLINK_DATA_DIR".into(), work.display().to_string());
    env.insert("SANLINK_LOG".into(), "warn".into());
    env.insert("NO_COLOR".into(), "1".into());
    env
}

fn launches(
    topology: Topology,
    bins: &Path,
    work: &Path,
    database_url: Option<&str>,
    servers: &Servers,
    settings: &Settings,
) -> Result<(Endpoint, Vec<Launch>)> {
    let api = Endpoint::new(format!("127.0.0.1:{}", service::free_port()?));
    let cpu = settings.cpu;
    let mut env = base_env(work);
    env.extend(settings.env.clone());
    env.insert("SANLINK_LISTEN".into(), api.authority.clone());
    if let Some(url) = database_url {
        env.insert("SANLINK_DATABASE_URL".into(), url.into());
    }
    let launch =
        |name: &str, program: &str, env: BTreeMap<String, String>, ready: Endpoint, path: &str| {
            Launch {
                name: name.into(),
                program: bins.join(program),
                args: Vec::new(),
                env,
                ready_url: ready,
                ready_path: path.into(),
                log: work.join(format!("{name}.log")),
                cpu,
            }
        };
    if topology == Topology::Embedded {
        let mut env = env;
        env.insert(
            "SANLINK_BOOT_LISTEN".into(),
            format!("127.0.0.1:{}", service::free_port()?),
        );
        return Ok((
            api.clone(),
            vec![launch("sanlink", "sanlink", env, api, "/")],
        ));
    }
    env.insert("SANLINK_AMQP_URL".into(), servers.amqp_url.clone());
    let prefix = format!(
        "sanlink-bench-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    env.insert("SANLINK_AMQP_PREFIX".into(), prefix);
    let mut all = Vec::new();
    for n in 1..=2 {
        let boot = Endpoint::new(format!("127.0.0.1:{}", service::free_port()?));
        let mut env = env.clone();
        env.insert(
            "SANLINK_CONDUCTOR_HOSTNAME".into(),
            format!("bench-conductor-{n}"),
        );
        env.insert("SANLINK_BOOT_LISTEN".into(), boot.authority.clone());
        all.push(launch(
            &format!("conductor-{n}"),
            "conductor",
            env,
            boot,
            "/healthz",
        ));
    }
    all.push(launch("api-gateway", "api-gateway", env, api.clone(), "/"));
    Ok((api, all))
}

/// How the service's processes run.
#[derive(Default)]
pub struct Settings {
    /// The core they are pinned to.
    pub cpu: Option<usize>,
    /// Settings beyond `base_env` (the Keystone pass's `SANLINK_AUTH_STRATEGY=keystone`).
    pub env: BTreeMap<String, String>,
}

/// Starts `topology` twice: once to create its schema, then again on the existing
/// database, which is the start that is timed and kept.
pub async fn start(
    topology: Topology,
    bins: &Path,
    work: &Path,
    servers: &Servers,
    settings: &Settings,
) -> Result<Running> {
    std::fs::create_dir_all(work)?;
    let database_url = match servers.server_of(topology) {
        Some(server) => Some(fresh_database(server, DATABASE)?),
        None => None,
    };
    let (api, launches) = launches(
        topology,
        bins,
        work,
        database_url.as_deref(),
        servers,
        settings,
    )?;
    for first_start in [true, false] {
        let mut procs = Vec::new();
        for launch in &launches {
            // In order: conductors before the gateway, as conftest.py and operators do.
            match launch.start().await {
                Ok(p) => procs.push(p),
                Err(e) => {
                    procs.iter_mut().for_each(service::stop);
                    return Err(e);
                }
            }
        }
        if first_start {
            procs.iter_mut().for_each(service::stop);
        } else {
            return Ok(Running {
                topology,
                api,
                procs,
                launches,
            });
        }
    }
    Err(anyhow!("unreachable"))
}

impl Running {
    pub fn stop(mut self, servers: &Servers) -> Result<()> {
        self.procs.iter_mut().rev().for_each(service::stop);
        if let Some(server) = servers.server_of(self.topology) {
            drop_database(server, DATABASE)?;
        }
        Ok(())
    }

    pub fn logs(&self) -> Vec<PathBuf> {
        self.launches.iter().map(|l| l.log.clone()).collect()
    }
}
