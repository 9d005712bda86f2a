"""Source tables a team syncs with Airbyte: triggered and awaited from Dagster (docs/airbyte.md).

In this design Airbyte's destination is the warehouse's raw schema: a connection writes the
table ``raw.<table>`` that the dbt source ``exchange.<table>`` reads. So each configured sync is
an asset keyed like that dbt source (``["exchange", "support_tickets"]``), exactly as the file
loader's asset for the table would be, and lineage runs from the Airbyte connection to the
marts. A table is either Airbyte's or the file loader's, never both: the configured tables
are taken out of the loader's multi-asset (:func:`without_airbyte_tables`), so no asset key is
defined twice.

Configuration, all from the environment (read when the code location loads and when the
asset runs):

* ``EXCHANGE_AIRBYTE_CONNECTIONS``: ``table=connection-id`` pairs, comma-separated
  (``support_tickets=9f3c...``). Unset or empty: no Airbyte assets, the loader keeps every table.
* ``EXCHANGE_AIRBYTE_URL``: the public API's base URL (default
  ``http://localhost:8000/api/public/v1``, a local Airbyte; Airbyte Cloud is
  ``https://api.airbyte.com/v1``).
* ``EXCHANGE_AIRBYTE_TOKEN``: a bearer token, or ``EXCHANGE_AIRBYTE_CLIENT_ID`` and
  ``EXCHANGE_AIRBYTE_CLIENT_SECRET`` (an application's credentials, exchanged for a token at
  ``<url>/applications/token`` by the SDK).
* ``EXCHANGE_AIRBYTE_TIMEOUT_SECONDS`` (default 3600), ``EXCHANGE_AIRBYTE_POLL_SECONDS``
  (default 10), ``EXCHANGE_AIRBYTE_RETRY_SECONDS`` (default 60: how long 429/5xx answers and
  dropped connections are retried, with exponential backoff, by the SDK's retry config).

A sync that does not succeed fails the materialization with an :class:`AirbyteSyncError` whose
message names the table, the connection and the Airbyte job id (when a job was created):
job failed, job cancelled, job still running at the timeout (the job is then cancelled, so it
does not write after Dagster gave up), the API refusing the credentials (401/403), and 5xx
answers that persist through the retries.
"""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import dagster as dg
import httpx
from airbyte_api import AirbyteAPI, api, errors, models, utils

from orchestration.assets.landing import TABLE_KEYS
from warehouse import settings

AIRBYTE_GROUP = "airbyte"
DEFAULT_URL = settings.Settings().airbyte_url
TERMINAL_FAILURES = {models.JobStatusEnum.FAILED, models.JobStatusEnum.CANCELLED}
# "incomplete" is an attempt that failed with another attempt to come: still running.
SUCCEEDED = models.JobStatusEnum.SUCCEEDED


class AirbyteSyncError(RuntimeError):
    """A sync did not succeed; the message names the table, connection and job id."""

    def __init__(self, message: str, job_id: int | None = None):
        super().__init__(message)
        self.job_id = job_id


class AirbyteConfigError(ValueError):
    """EXCHANGE_AIRBYTE_CONNECTIONS names a table that is not a source table, or is malformed."""


def parse_connections(value: str | None) -> dict[str, str]:
    """``"support_tickets=<id>, users=<id>"`` -> ``{"support_tickets": "<id>", ...}``."""
    connections: dict[str, str] = {}
    for item in (value or "").split(","):
        item = item.strip()
        if not item:
            continue
        table, sep, connection_id = (part.strip() for part in item.partition("="))
        if not sep or not table or not connection_id:
            raise AirbyteConfigError(
                f"EXCHANGE_AIRBYTE_CONNECTIONS: {item!r} is not table=connection-id"
            )
        if table not in TABLE_KEYS:
            raise AirbyteConfigError(
                f"EXCHANGE_AIRBYTE_CONNECTIONS: {table!r} is not a source table "
                f"(one of {', '.join(TABLE_KEYS)})"
            )
        if table in connections:
            raise AirbyteConfigError(f"EXCHANGE_AIRBYTE_CONNECTIONS: {table!r} given twice")
        connections[table] = connection_id
    return connections


@dataclass(frozen=True)
class AirbyteSettings:
    server_url: str = DEFAULT_URL
    token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    timeout_seconds: float = 3600.0
    poll_seconds: float = 10.0
    retry_seconds: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "AirbyteSettings":
        """From ``EXCHANGE_AIRBYTE_*`` (``warehouse/settings.py``), or from ``env``."""
        current = settings.current() if env is None else settings.Settings.from_env(env)
        return cls(
            server_url=current.airbyte_url,
            token=current.airbyte_token,
            client_id=current.airbyte_client_id,
            client_secret=current.airbyte_client_secret,
            timeout_seconds=current.airbyte_timeout_seconds,
            poll_seconds=current.airbyte_poll_seconds,
            retry_seconds=current.airbyte_retry_seconds,
        )

    def security(self) -> models.Security:
        if self.token:
            return models.Security(bearer_auth=self.token)
        if self.client_id and self.client_secret:
            return models.Security(
                client_credentials=models.SchemeClientCredentials(
                    client_id=self.client_id,
                    client_secret=self.client_secret,
                )
            )
        raise AirbyteConfigError(
            "no Airbyte credentials: set EXCHANGE_AIRBYTE_TOKEN, or EXCHANGE_AIRBYTE_CLIENT_ID "
            "and EXCHANGE_AIRBYTE_CLIENT_SECRET"
        )

    def retry_config(self) -> utils.RetryConfig:
        return utils.RetryConfig(
            "backoff",
            utils.BackoffStrategy(
                initial_interval=500,
                max_interval=10_000,
                exponent=2.0,
                max_elapsed_time=int(self.retry_seconds * 1000),
                jitter_ms=0,
            ),
            retry_connection_errors=True,
        )

    def client(self, http_client: httpx.Client | None = None) -> AirbyteAPI:
        return AirbyteAPI(
            security=self.security(),
            server_url=self.server_url,
            client=http_client,
            retry_config=self.retry_config(),
            timeout_ms=60_000,
        )


@dataclass(frozen=True)
class SyncResult:
    table: str
    connection_id: str
    job_id: int
    status: str
    rows_synced: int | None
    bytes_synced: int | None
    seconds: float


def _api_error(e: Exception) -> str:
    if isinstance(e, errors.SDKError):
        status = e.raw_response.status_code
        hint = " (the credentials were refused)" if status in (401, 403) else ""
        return f"HTTP {status}{hint}: {e.body[:300] if e.body else ''}".rstrip(": ")
    return f"{type(e).__name__}: {e}"


def sync_connection(
    client: AirbyteAPI,
    table: str,
    connection_id: str,
    *,
    timeout_seconds: float,
    poll_seconds: float,
    log: Callable[[str], None] = lambda _message: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncResult:
    """Trigger a sync of the connection and wait for its job to end; raise unless it succeeded."""
    where = f"Airbyte sync of {table} (connection {connection_id})"
    started = clock()
    try:
        created = client.jobs.create_job(
            request=models.JobCreateRequest(
                connection_id=connection_id, job_type=models.JobTypeEnum.SYNC
            )
        )
    except Exception as e:  # SDKError, connection error after the retries
        raise AirbyteSyncError(f"{where}: could not start the job: {_api_error(e)}") from e
    job = created.job_response
    if job is None:
        raise AirbyteSyncError(f"{where}: the API answered without a job")
    job_id = job.job_id
    log(f"{where}: job {job_id} {job.status.value}")
    while job.status != SUCCEEDED:
        if job.status in TERMINAL_FAILURES:
            raise AirbyteSyncError(
                f"{where}: job {job_id} {job.status.value} (see the job's logs in Airbyte)",
                job_id,
            )
        if clock() - started >= timeout_seconds:
            try:
                client.jobs.cancel_job(request=api.CancelJobRequest(job_id=job_id))
                cancelled = "cancelled"
            except Exception as e:
                cancelled = f"could not be cancelled ({_api_error(e)})"
            raise AirbyteSyncError(
                f"{where}: job {job_id} still {job.status.value} after {timeout_seconds:g}s: "
                f"timed out, job {cancelled}",
                job_id,
            )
        sleep(poll_seconds)
        try:
            job = client.jobs.get_job(request=api.GetJobRequest(job_id=job_id)).job_response
        except Exception as e:
            raise AirbyteSyncError(
                f"{where}: job {job_id}: could not read its status: {_api_error(e)}", job_id
            ) from e
        if job is None:
            raise AirbyteSyncError(f"{where}: job {job_id}: the API answered without a job", job_id)
    return SyncResult(
        table,
        connection_id,
        job_id,
        job.status.value,
        job.rows_synced,
        job.bytes_synced,
        clock() - started,
    )


def _spec(table: str, connection_id: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=TABLE_KEYS[table],
        description=(
            f"raw.{table}, written by the Airbyte connection {connection_id} (its destination is "
            "the warehouse's raw schema); materializing triggers a sync and waits for it."
        ),
        group_name=AIRBYTE_GROUP,
        kinds={"airbyte"},
        metadata={
            "dagster/table_name": f"raw.{table}",
            "airbyte/connection_id": connection_id,
        },
    )


def build_airbyte_assets(
    connections: Mapping[str, str],
    http_client: Callable[[], httpx.Client | None] = lambda: None,
) -> dg.AssetsDefinition | None:
    """One subsettable multi-asset: a sync per configured table, run one after another."""
    if not connections:
        return None
    by_key = {TABLE_KEYS[table]: table for table in connections}

    @dg.multi_asset(
        specs=[_spec(table, cid) for table, cid in connections.items()],
        can_subset=True,
        name="airbyte_syncs",
    )
    def airbyte_syncs(context: dg.AssetExecutionContext):
        airbyte = AirbyteSettings.from_env()
        client = airbyte.client(http_client())
        for key in context.selected_asset_keys:
            table = by_key[key]
            result = sync_connection(
                client,
                table,
                connections[table],
                timeout_seconds=airbyte.timeout_seconds,
                poll_seconds=airbyte.poll_seconds,
                log=context.log.info,
            )
            metadata = {
                "airbyte/job_id": result.job_id,
                "airbyte/connection_id": result.connection_id,
                "seconds": round(result.seconds, 1),
            }
            if result.rows_synced is not None:
                metadata["rows_synced"] = result.rows_synced
            if result.bytes_synced is not None:
                metadata["bytes_synced"] = result.bytes_synced
            yield dg.MaterializeResult(asset_key=key, metadata=metadata)

    return airbyte_syncs


def without_airbyte_tables(
    landing: dg.AssetsDefinition, connections: Mapping[str, str]
) -> dg.AssetsDefinition:
    """The loader's multi-asset without the tables Airbyte syncs (one definition per key)."""
    if not connections:
        return landing
    airbyte_keys = {TABLE_KEYS[table] for table in connections}
    keep = set(landing.keys) - airbyte_keys
    return landing.subset_for(keep, selected_asset_check_keys=None)


AIRBYTE_CONNECTIONS: dict[str, str] = parse_connections(settings.current().airbyte_connections)
airbyte_syncs = build_airbyte_assets(AIRBYTE_CONNECTIONS)
