"""MM7 settings from the environment: the MMSC the `mms` channel submits to, and who may
post to `POST /callbacks/mm7`."""

from pydantic import Field

from gateway.config import EnvModel, Networks, address_in, getter


class Mm7SubmitConfig(EnvModel):
    """The MMSC the `mms` channel submits to, and who the gateway is there. Without an MMSC
    URL the channel is off: `mms` requests end failed, SMS are unaffected."""

    mmsc_url: str = Field(alias="MM7_MMSC_URL", default="")
    credentials_secret: str = Field(alias="MM7_MMSC_CREDENTIALS_SECRET", default="")
    vasp_id: str = Field(alias="MM7_VASP_ID", default="")
    vas_id: str = Field(alias="MM7_VAS_ID", default="")
    sender_address: str = Field(alias="MM7_SENDER_ADDRESS", default="")
    service_code: str = Field(alias="MM7_SERVICE_CODE", default="")
    mm7_version: str = Field(alias="MM7_VERSION", default="6.8.0")
    namespace: str = Field(
        alias="MM7_NAMESPACE",
        default="http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4",
    )


class Mm7CallbackConfig(EnvModel):
    credentials_secret: str = Field(alias="MM7_CREDENTIALS_SECRET", min_length=1)
    # Empty: any source address (HTTP Basic still applies).
    allowlist: Networks = Field(alias="MM7_ALLOWLIST", default_factory=list)
    bucket: str = Field(alias="BUCKET_NAME", min_length=1)
    event_bus: str = Field(alias="EVENT_BUS_NAME", min_length=1)

    def allows(self, source_ip: str | None) -> bool:
        return not self.allowlist or address_in(source_ip, self.allowlist)


mm7_submit_config = getter(Mm7SubmitConfig)
mm7_callback_config = getter(Mm7CallbackConfig)
