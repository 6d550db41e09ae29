"""`Custom::OrangeReceiptSubscription`: the deployed receipt URL registered with Orange for
every configured account on Create and Update, the subscriptions removed on Delete.

The physical id lists the subscriptions (`encode_refs`), so a Delete, and the Delete
CloudFormation sends for the previous id once an Update registered anew, knows what to
remove. The receipt URL's token is read from its secret here, never passed as a property, and
redacted from whatever is answered.
"""

import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from gateway.aws.custom_resource import CustomResourceRequest, Outcome
from gateway.orange.subscriptions import (
    NO_SUBSCRIPTIONS,
    ReceiptSubscriptions,
    RegistrationFailed,
    decode_refs,
    encode_refs,
    receipt_url,
)

API_URL_PROPERTY = "ApiUrl"  # the API's base URL, as the ApiUrl output gives it
REDACTED = "[receipt-token]"


class ReceiptSubscriptionResource:
    def __init__(
        self, *, subscriptions: ReceiptSubscriptions, receipt_token: Callable[[], str]
    ) -> None:
        self._subscriptions = subscriptions
        self._receipt_token = receipt_token
        self._token: str | None = None

    def redact(self, text: str) -> str:
        return text.replace(self._token, REDACTED) if self._token else text

    def handle(self, request: CustomResourceRequest, cancelled: threading.Event) -> Outcome:
        if request.request_type == "Delete":
            return self._delete(request)
        return self._register(request, cancelled)

    def _register(self, request: CustomResourceRequest, cancelled: threading.Event) -> Outcome:
        # A failed Update keeps the current id: what it registered points at the same URL and
        # is superseded when CloudFormation's rollback registers again.
        kept = request.physical_resource_id if request.request_type == "Update" else None
        api_url = request.properties.get(API_URL_PROPERTY)
        if not isinstance(api_url, str) or urlsplit(api_url).scheme not in ("http", "https"):
            reason = f"the {API_URL_PROPERTY} property must be the API's base URL"
            return Outcome.failed(kept or NO_SUBSCRIPTIONS, reason)
        self._token = self._receipt_token()
        try:
            registration = self._subscriptions.register(
                receipt_url(api_url, self._token), cancelled=cancelled.is_set
            )
        except RegistrationFailed as failure:
            # A failed Create answers with what it did register: CloudFormation's rollback
            # then deletes exactly that.
            registered = ", ".join(map(str, failure.registered)) or "none"
            reason = f"{failure} (registered before it: {registered})"
            return Outcome.failed(kept or encode_refs(failure.registered), reason)
        refs = registration.refs
        skipped = "; ".join(f"{account}: {why}" for account, why in registration.skipped.items())
        return Outcome.success(
            encode_refs(refs),
            data={
                "SubscriptionIds": ",".join(ref.subscription_id for ref in refs),
                "Accounts": ",".join(ref.account for ref in refs),
                "Skipped": skipped,
            },
            reason=f"skipped {skipped}" if skipped else "",
        )

    def _delete(self, request: CustomResourceRequest) -> Outcome:
        physical = request.physical_resource_id or NO_SUBSCRIPTIONS
        try:
            refs = decode_refs(physical)
        except ValueError:
            # Not one of ours: the id of a Create that failed before it registered anything.
            return Outcome.success(physical, reason="no subscription to remove")
        removal = self._subscriptions.delete(refs)
        if removal.failed:
            reason = "; ".join(f"{ref}: {why}" for ref, why in removal.failed.items())
            return Outcome.failed(physical, f"not deleted: {reason}")
        left = "; ".join(f"{ref}: {why}" for ref, why in removal.left.items())
        return Outcome.success(
            physical,
            data={
                "Deleted": ",".join(map(str, removal.deleted)),
                "AlreadyGone": ",".join(map(str, removal.gone)),
                "Left": left,
            },
            reason=f"left at Orange: {left}" if left else "",
        )
