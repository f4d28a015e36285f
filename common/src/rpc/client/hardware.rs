//! The calls behind the hardware-facing node endpoints: RAID, vendor passthru and
//! rescue.

use serde_json::Value;

use super::{ConductorClient, unexpected};
use crate::error::Error;
use crate::model::states::ProvisionVerb;
use crate::rpc::{Call, PassthruResult, Reply, RequestContext};

impl ConductorClient {
    pub async fn set_target_raid_config(
        &self,
        context: &RequestContext,
        uuid: String,
        target_raid_config: Value,
    ) -> Result<(), Error> {
        let call = Call::SetTargetRaidConfig {
            uuid,
            target_raid_config,
        };
        self.call(context, call).await.map(|_| ())
    }

    pub async fn vendor_passthru(
        &self,
        context: &RequestContext,
        uuid: String,
        method: String,
        http_method: String,
        info: Value,
    ) -> Result<PassthruResult, Error> {
        let call = Call::VendorPassthru {
            uuid,
            method,
            http_method,
            info,
        };
        match self.call(context, call).await? {
            Reply::Passthru(result) => Ok(result),
            other => Err(unexpected(other)),
        }
    }

    pub async fn do_node_rescue(
        &self,
        context: &RequestContext,
        uuid: String,
        action: ProvisionVerb,
        rescue_password: Option<String>,
    ) -> Result<(), Error> {
        let call = Call::DoNodeRescue {
            uuid,
            action,
            rescue_password,
        };
        self.call(context, call).await.map(|_| ())
    }
}
