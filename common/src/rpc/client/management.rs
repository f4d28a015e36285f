//! The node management RPCs: boot device, NMI and serial console.

use super::{ConductorClient, unexpected};
use crate::error::Error;
use crate::model::states::BootDevice;
use crate::rpc::{BootDeviceState, Call, ConsoleState, Reply, RequestContext};

impl ConductorClient {
    pub async fn get_boot_device(
        &self,
        context: &RequestContext,
        uuid: String,
    ) -> Result<BootDeviceState, Error> {
        match self.call(context, Call::GetBootDevice { uuid }).await? {
            Reply::BootDevice(state) => Ok(state),
            other => Err(unexpected(other)),
        }
    }

    pub async fn set_boot_device(
        &self,
        context: &RequestContext,
        uuid: String,
        device: String,
        persistent: bool,
    ) -> Result<(), Error> {
        let call = Call::SetBootDevice {
            uuid,
            device,
            persistent,
        };
        self.call(context, call).await.map(|_| ())
    }

    pub async fn get_supported_boot_devices(
        &self,
        context: &RequestContext,
        uuid: String,
    ) -> Result<Vec<BootDevice>, Error> {
        match self
            .call(context, Call::GetSupportedBootDevices { uuid })
            .await?
        {
            Reply::BootDevices(devices) => Ok(devices),
            other => Err(unexpected(other)),
        }
    }

    pub async fn inject_nmi(&self, context: &RequestContext, uuid: String) -> Result<(), Error> {
        self.call(context, Call::InjectNmi { uuid })
            .await
            .map(|_| ())
    }

    pub async fn get_console_information(
        &self,
        context: &RequestContext,
        uuid: String,
    ) -> Result<ConsoleState, Error> {
        match self
            .call(context, Call::GetConsoleInformation { uuid })
            .await?
        {
            Reply::Console(state) => Ok(state),
            other => Err(unexpected(other)),
        }
    }

    pub async fn set_console_mode(
        &self,
        context: &RequestContext,
        uuid: String,
        enabled: bool,
    ) -> Result<(), Error> {
        self.call(context, Call::SetConsoleMode { uuid, enabled })
            .await
            .map(|_| ())
    }
}
