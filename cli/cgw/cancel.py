"""`cgw cancel --campaign`: the gateway's own campaign cancel (`gateway.core.cancelling`), run
from the command line against the stack's table, many messages at once."""

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from cgw.endpoints import Endpoints
from gateway.aws.message_store import MessageRepository
from gateway.core.cancelling import CampaignCancelled, Canceller

# Conditional writes at once: 10,000 messages in well under a minute, within DynamoDB's
# on-demand limits for one table.
WORKERS = 16


def cancel_campaign(endpoints: Endpoints, campaign: str) -> CampaignCancelled:
    store = MessageRepository(endpoints.table_name, client=endpoints.dynamodb(WORKERS))
    return Canceller(store=store, campaigns=store).cancel_campaign(campaign, _in_pool)


def _in_pool(tasks: Sequence[Callable[[], None]]) -> None:
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="cancel") as pool:
        for future in [pool.submit(task) for task in tasks]:
            future.result()
