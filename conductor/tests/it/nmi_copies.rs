//! An NMI is not idempotent: two copies of one inject_nmi request (a redelivery while
//! the first copy still works) interrupt the node once, and a later copy not at all.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::db::nodes;
use common::model::node::Node;
use common::model::states::PowerState;
use common::rpc::{Call, Caller, Handler, Reply, Request, RequestContext};
use conductor::Conductor;
use conductor::drivers::management::BootDevice;
use conductor::drivers::redfish::{Bmc, BootOverride, Connector, ResetType};
use serde_json::json;

use crate::support;
use support::database::Database;
use support::fixtures::{add_node, conductor_on, set_reservation};

/// A BMC that counts the NMIs it receives, shared by every connection to it.
#[derive(Clone, Default)]
struct CountingBmc {
    nmis: Arc<AtomicUsize>,
}

impl Connector for CountingBmc {
    fn connect(&self, _: &Node) -> Result<Box<dyn Bmc>, String> {
        Ok(Box::new(self.clone()))
    }
}

#[async_trait::async_trait]
impl Bmc for CountingBmc {
    fn address(&self) -> &str {
        "https://counting-bmc"
    }

    async fn power_state(&self) -> Result<PowerState, String> {
        Ok(PowerState::On)
    }

    async fn reset(&self, reset: ResetType) -> Result<(), String> {
        if reset == ResetType::Nmi {
            self.nmis.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }

    async fn boot_override(&self) -> Result<BootOverride, String> {
        Ok(BootOverride::default())
    }

    async fn set_boot_override(&self, _: BootDevice, _: bool) -> Result<(), String> {
        Ok(())
    }
}

const PATIENT: &[(&str, &str)] = &[
    ("SANLINK_NODE_LOCKED_RETRY_INTERVAL", "0.05"),
    ("SANLINK_NODE_LOCKED_RETRY_ATTEMPTS", "200"),
];

fn conductor(db: &Database, host: &str, bmc: &CountingBmc) -> Arc<Conductor> {
    let mut c = conductor_on(&db.url, host, PATIENT);
    c.bmcs = Arc::new(bmc.clone());
    Arc::new(c)
}

/// A redfish node (the BMC behind it is the counting one).
async fn redfish_node(c: &Conductor) -> Node {
    let mut node = add_node(c).await;
    node.driver = "redfish".into();
    node.driver_info = json!({"redfish_address": "https://counting-bmc"})
        .as_object()
        .cloned()
        .unwrap();
    node.interfaces = Default::default();
    conductor::drivers::hardware::fill_and_check(&mut node).unwrap();
    c.db.run(move |conn| nodes::update(conn, &node))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_copies_of_an_nmi_interrupt_the_node_once() {
    let db = Database::fresh();
    let bmc = CountingBmc::default();
    let (c1, c2) = (conductor(&db, "c1", &bmc), conductor(&db, "c2", &bmc));
    let node = redfish_node(&c1).await;
    let request = Request::new(
        RequestContext::new("req-nmi", Caller::default()),
        Duration::from_secs(30),
        Call::InjectNmi {
            uuid: node.uuid.clone(),
        },
    );
    // Both copies wait for the busy lock, as a redelivered copy does.
    set_reservation(&c1, node.id, Some("elsewhere")).await;
    let copies = [c1.clone(), c2.clone()].map(|c| {
        let request = request.clone();
        tokio::spawn(async move { c.handle(request).await })
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    set_reservation(&c1, node.id, None).await;
    for copy in copies {
        assert_eq!(copy.await.unwrap(), Ok(Reply::Done));
    }
    assert_eq!(bmc.nmis.load(Ordering::SeqCst), 1);
    // A later copy is answered, not applied.
    assert_eq!(c2.handle(request).await, Ok(Reply::Done));
    assert_eq!(bmc.nmis.load(Ordering::SeqCst), 1);
    // Another request is another NMI.
    let again = Request::new(
        RequestContext::new("req-nmi-2", Caller::default()),
        Duration::from_secs(30),
        Call::InjectNmi { uuid: node.uuid },
    );
    assert_eq!(c1.handle(again).await, Ok(Reply::Done));
    assert_eq!(bmc.nmis.load(Ordering::SeqCst), 2);
}
