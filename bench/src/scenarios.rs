//! The fixtures every scenario works on, loaded through the API, and the scenarios.
//!
//! Worker `w` of `C` owns the write nodes `w, w + C, w + 2C, ...` and one node of its
//! own for the Nova-like sequence: no two workers ever want the same node lock, so a
//! 409 from the service is a real error, not contention made by the generator.

use std::cell::RefCell;

use anyhow::{Context, Result, bail};
use hyper::Method;
use serde_json::{Value, json};

use crate::http::{Answer, Conn};
use crate::load::Done;

/// Write nodes per worker.
const NODES_PER_WORKER: usize = 4;
/// Connectors present for the list scenario.
pub const LISTED_CONNECTORS: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// GET / : the cheapest answer, to show the generator outruns the service.
    Trivial,
    PostConnector,
    PostTarget,
    GetConnector,
    ListConnectors,
    NodeTargets,
    PatchConnector,
    DeleteConnector,
    NovaBootFromVolume,
}

impl Scenario {
    /// In the order they run: reads while exactly the fixtures exist, then writes.
    pub const ALL: [Scenario; 9] = [
        Scenario::Trivial,
        Scenario::GetConnector,
        Scenario::ListConnectors,
        Scenario::NodeTargets,
        Scenario::PostConnector,
        Scenario::PostTarget,
        Scenario::PatchConnector,
        Scenario::DeleteConnector,
        Scenario::NovaBootFromVolume,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Trivial => "GET / (trivial)",
            Scenario::PostConnector => "POST connector",
            Scenario::PostTarget => "POST target",
            Scenario::GetConnector => "GET one connector",
            Scenario::ListConnectors => "list 1000 connectors (detail)",
            Scenario::NodeTargets => "GET node's targets",
            Scenario::PatchConnector => "PATCH connector",
            Scenario::DeleteConnector => "DELETE connector",
            Scenario::NovaBootFromVolume => "Nova boot-from-volume sequence",
        }
    }

    /// Short key for the JSON output.
    pub fn key(self) -> &'static str {
        match self {
            Scenario::Trivial => "trivial",
            Scenario::PostConnector => "post_connector",
            Scenario::PostTarget => "post_target",
            Scenario::GetConnector => "get_connector",
            Scenario::ListConnectors => "list_connectors_1000",
            Scenario::NodeTargets => "node_targets",
            Scenario::PatchConnector => "patch_connector",
            Scenario::DeleteConnector => "delete_connector",
            Scenario::NovaBootFromVolume => "nova_bfv_sequence",
        }
    }

    /// (RPC round trips, database commits) one operation needs at the least, for the
    /// writes: each commits once in the conductor (updates and deletes take the node
    /// lock, change the row with the request's record and release the lock in that
    /// one transaction).
    pub fn floor_cost(self) -> Option<(u32, u32)> {
        match self {
            Scenario::PostConnector | Scenario::PostTarget => Some((1, 1)),
            Scenario::PatchConnector | Scenario::DeleteConnector => Some((1, 1)),
            // 2 creates + 2 deletes; its 2 lists read only.
            Scenario::NovaBootFromVolume => Some((4, 4)),
            _ => None,
        }
    }
}

/// What the scenarios work on.
pub struct Fixtures {
    workers: usize,
    /// Distinguishes this run's connector ids and volume ids from earlier runs'.
    tag: String,
    write_nodes: Vec<String>,
    nova_nodes: Vec<String>,
    read_connector: String,
    read_node: String,
    /// Per worker: connectors on its nodes, for PATCH.
    patchable: Vec<Vec<String>>,
    /// Per worker: connectors on its nodes it may delete (fixtures, then created ones).
    deletable: Vec<RefCell<Vec<String>>>,
}

fn uuid_of(answer: &Answer) -> Result<String> {
    answer.json()?["uuid"]
        .as_str()
        .map(str::to_string)
        .context("answer without uuid")
}

/// A fake-hardware node, powered off (volume updates need that).
async fn make_node(conn: &mut Conn) -> Result<String> {
    let node = uuid_of(
        &conn
            .post("/v1/nodes", &json!({"driver": "fake-hardware"}))
            .await?
            .ok()?,
    )?;
    let path = format!("/v1/nodes/{node}/states/power");
    let body = serde_json::to_vec(&json!({"target": "power off"}))?;
    conn.call(Method::PUT, &path, Some(body)).await?.ok()?;
    for _ in 0..600 {
        let state = conn.get(&format!("/v1/nodes/{node}")).await?.ok()?.json()?;
        if state["power_state"] == "power off" && state["target_power_state"].is_null() {
            return Ok(node);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    bail!("node {node} never powered off")
}

fn connector_body(node: &str, id: &str) -> Value {
    json!({"node_uuid": node, "type": "iqn", "connector_id": id})
}

fn target_body(node: &str, boot_index: u64, volume_id: &str) -> Value {
    json!({
        "node_uuid": node,
        "volume_type": "iscsi",
        "boot_index": boot_index,
        "volume_id": volume_id,
        "properties": {"target_iqn": format!("iqn.2026-01.bench:{volume_id}"),
                       "target_portal": "192.0.2.10:3260", "target_lun": 0},
    })
}

impl Fixtures {
    /// Loads the fixtures through the API, one worker per connection.
    pub async fn load(conns: &mut [Conn]) -> Result<Fixtures> {
        let workers = conns.len();
        let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        // Nodes: each worker makes its own write nodes and its Nova node.
        let made = futures_util::future::join_all(conns.iter_mut().map(|conn| async move {
            let mut nodes = Vec::new();
            for _ in 0..=NODES_PER_WORKER {
                nodes.push(make_node(conn).await?);
            }
            Ok::<_, anyhow::Error>(nodes)
        }))
        .await;
        let mut write_nodes = vec![String::new(); workers * NODES_PER_WORKER];
        let mut nova_nodes = Vec::new();
        for (w, nodes) in made.into_iter().enumerate() {
            let mut nodes = nodes?;
            nova_nodes.push(nodes.pop().expect("made one more"));
            for (k, node) in nodes.into_iter().enumerate() {
                write_nodes[w + k * workers] = node;
            }
        }
        let mut fixtures = Fixtures {
            workers,
            tag,
            write_nodes,
            nova_nodes,
            read_connector: String::new(),
            read_node: String::new(),
            patchable: vec![Vec::new(); workers],
            deletable: (0..workers).map(|_| RefCell::new(Vec::new())).collect(),
        };
        fixtures.load_connectors(conns).await?;
        fixtures.load_read_node(&mut conns[0]).await?;
        Ok(fixtures)
    }

    /// 1000 connectors spread over the write nodes, and one on each Nova node (Nova
    /// looks for the node's connector first).
    async fn load_connectors(&mut self, conns: &mut [Conn]) -> Result<()> {
        let this = &*self;
        let made = futures_util::future::join_all(conns.iter_mut().enumerate().map(
            |(w, conn)| async move {
                let mut mine = Vec::new();
                let mut i = w;
                while i < LISTED_CONNECTORS {
                    let node = &this.write_nodes[i % this.write_nodes.len()];
                    let id = format!("iqn.2026-01.bench:{}-fixture-{i}", this.tag);
                    let body = connector_body(node, &id);
                    let answer = conn.post("/v1/volume/connectors", &body).await?.ok()?;
                    mine.push(uuid_of(&answer)?);
                    i += this.workers;
                }
                let id = format!("iqn.2026-01.bench:{}-nova-{w}", this.tag);
                let body = connector_body(&this.nova_nodes[w], &id);
                conn.post("/v1/volume/connectors", &body).await?.ok()?;
                Ok::<_, anyhow::Error>(mine)
            },
        ))
        .await;
        for (w, mine) in made.into_iter().enumerate() {
            let mine = mine?;
            // Connector i sits on write node i % nodes, which worker (i % nodes) % C owns;
            // with nodes a multiple of C that is worker i % C = w.
            self.patchable[w] = mine.clone();
            *self.deletable[w].borrow_mut() = mine;
        }
        self.read_connector = self.patchable[0][0].clone();
        Ok(())
    }

    /// A node of its own with two targets, for the node's-targets read.
    async fn load_read_node(&mut self, conn: &mut Conn) -> Result<()> {
        let node = make_node(conn).await?;
        for boot_index in 0..2 {
            let volume = format!("{}-read-{boot_index}", self.tag);
            let body = target_body(&node, boot_index, &volume);
            conn.post("/v1/volume/targets", &body).await?.ok()?;
        }
        self.read_node = node;
        Ok(())
    }

    fn write_node(&self, worker: usize, seq: u64) -> &str {
        let k = seq as usize % NODES_PER_WORKER;
        &self.write_nodes[worker + k * self.workers]
    }

    /// One operation of `scenario` by `worker`.
    pub async fn op(&self, scenario: Scenario, conn: &mut Conn, worker: usize, seq: u64) -> Done {
        let result = match scenario {
            Scenario::Trivial => conn.get("/").await.and_then(Answer::ok).map(drop),
            Scenario::GetConnector => {
                let path = format!("/v1/volume/connectors/{}", self.read_connector);
                conn.get(&path).await.and_then(Answer::ok).map(drop)
            }
            Scenario::ListConnectors => {
                let path = "/v1/volume/connectors?detail=True&limit=1000";
                conn.get(path).await.and_then(Answer::ok).map(drop)
            }
            Scenario::NodeTargets => {
                let path = format!("/v1/nodes/{}/volume/targets", self.read_node);
                conn.get(&path).await.and_then(Answer::ok).map(drop)
            }
            Scenario::PostConnector => self.post_connector(conn, worker, seq).await,
            Scenario::PostTarget => self.post_target(conn, worker, seq).await,
            Scenario::PatchConnector => self.patch_connector(conn, worker, seq).await,
            Scenario::DeleteConnector => {
                let next = self.deletable[worker].borrow_mut().pop();
                let Some(uuid) = next else {
                    return Done::Exhausted;
                };
                delete(conn, &format!("/v1/volume/connectors/{uuid}")).await
            }
            Scenario::NovaBootFromVolume => self.nova_sequence(conn, worker, seq).await,
        };
        match result {
            Ok(()) => Done::Ok,
            Err(e) => Done::Failed(format!("{e:#}")),
        }
    }

    async fn post_connector(&self, conn: &mut Conn, worker: usize, seq: u64) -> Result<()> {
        let id = format!("iqn.2026-01.bench:{}-{worker}-{seq}", self.tag);
        let body = connector_body(self.write_node(worker, seq), &id);
        let answer = conn.post("/v1/volume/connectors", &body).await?.ok()?;
        // The DELETE scenario removes what this one made.
        self.deletable[worker].borrow_mut().push(uuid_of(&answer)?);
        Ok(())
    }

    async fn post_target(&self, conn: &mut Conn, worker: usize, seq: u64) -> Result<()> {
        let node = self.write_node(worker, seq);
        // A new boot index once every node of the worker has had the current one.
        let boot_index = 1 + seq / NODES_PER_WORKER as u64;
        let volume = format!("{}-{worker}-{seq}", self.tag);
        let body = target_body(node, boot_index, &volume);
        conn.post("/v1/volume/targets", &body).await?.ok()?;
        Ok(())
    }

    async fn patch_connector(&self, conn: &mut Conn, worker: usize, seq: u64) -> Result<()> {
        let mine = &self.patchable[worker];
        let uuid = &mine[seq as usize % mine.len()];
        let body = json!([{"op": "add", "path": "/extra/seq", "value": seq.to_string()}]);
        let path = format!("/v1/volume/connectors/{uuid}");
        let body = serde_json::to_vec(&body)?;
        conn.call(Method::PATCH, &path, Some(body)).await?.ok()?;
        Ok(())
    }

    /// What Nova's ironic driver does around a boot from volume, as one operation:
    /// look up the node's connectors, create its two targets, list them, delete them.
    async fn nova_sequence(&self, conn: &mut Conn, worker: usize, seq: u64) -> Result<()> {
        let node = &self.nova_nodes[worker];
        let connectors = format!("/v1/volume/connectors?node={node}&detail=True");
        conn.get(&connectors).await?.ok()?;
        let mut created = Vec::new();
        let result = async {
            for boot_index in 0..2 {
                let volume = format!("{}-nova-{worker}-{seq}-{boot_index}", self.tag);
                let body = target_body(node, boot_index, &volume);
                let answer = conn.post("/v1/volume/targets", &body).await?.ok()?;
                created.push(uuid_of(&answer)?);
            }
            conn.get(&format!("/v1/volume/targets?node={node}&detail=True"))
                .await?
                .ok()?;
            Ok::<_, anyhow::Error>(())
        }
        .await;
        // Deleting is part of the sequence, and also clears the way for the next one
        // after a failure.
        let mut deleted = Ok(());
        for uuid in created {
            let outcome = delete(conn, &format!("/v1/volume/targets/{uuid}")).await;
            deleted = deleted.and(outcome);
        }
        result.and(deleted)
    }
}

async fn delete(conn: &mut Conn, path: &str) -> Result<()> {
    conn.call(Method::DELETE, path, None).await?.ok()?;
    Ok(())
}
