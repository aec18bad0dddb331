"""The one AWS account the Bedrock stand-in serves: model access, and AWS Marketplace's first-use subscription.

Bedrock sells third-party models (Stability's among them) through AWS Marketplace. The first invocation of such a
model in an account subscribes the account, which works only when the calling identity may subscribe
(``aws-marketplace:Subscribe`` and ``aws-marketplace:ViewSubscriptions``); otherwise Bedrock answers
``AccessDeniedException`` with :data:`MARKETPLACE_DENIED`, and keeps answering so until an identity that may
subscribe invokes the model (or creates its agreement). From then on every identity of the account may invoke it.
Amazon's own models are not on Marketplace.

The stand-in has no IAM: an identity is the access key id of the request's SigV4 credential, and the
``marketplace_subscribers`` knob names the ones that hold the Marketplace permissions. ``marketplace_unsubscribed``
puts the account in the state of a fresh account that never used a Marketplace model; without it, every model is
subscribed already (the account the other tests and the local stack assume). Pure data and functions: the
stand-in keeps the agreements made since, and hands a snapshot (:class:`Account`) to each call.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from local.bedrock_catalog import ModelSpec

# Bedrock's words (public issues, 2025-2026, and AWS re:Post "Resolve AccessDeniedException errors for AWS Marketplace
# permissions in Amazon Bedrock"); the delay at the end varies between 2, 5 and 15 minutes across the reports.
MARKETPLACE_DENIED = (
    "Model access is denied due to IAM user or service role is not authorized to perform the required AWS "
    "Marketplace actions (aws-marketplace:ViewSubscriptions, aws-marketplace:Subscribe) to enable access to this "
    "model. Refer to the Amazon Bedrock documentation for further details. Your AWS Marketplace subscription for "
    "this model cannot be completed at this time. If you recently fixed this issue, try again after 2 minutes."
)
AVAILABLE, NOT_AVAILABLE = "AVAILABLE", "NOT_AVAILABLE"


@dataclass(frozen=True)
class Account:
    """The account as one call sees it: is it a fresh one, who may subscribe, which agreements it made since."""

    unsubscribed: bool = False  # the marketplace_unsubscribed knob
    subscribers: frozenset[str] = frozenset()  # access key ids allowed aws-marketplace:Subscribe
    agreements: frozenset[str] = frozenset()  # Marketplace models subscribed since the knob was set

    def has_agreement(self, model: ModelSpec) -> bool:
        """Whether the account may invoke ``model`` as far as AWS Marketplace is concerned."""
        return not model.on_marketplace or not self.unsubscribed or model.model_id in self.agreements

    def may_subscribe(self, access_key: str | None) -> bool:
        return access_key is not None and access_key in self.subscribers


def subscribe_denied(access_key: str | None) -> str:
    """IAM's refusal of ``aws-marketplace:Subscribe`` (CreateFoundationModelAgreement), naming the caller."""
    who = access_key or "anonymous"
    return (
        f"User: {who} is not authorized to perform: aws-marketplace:Subscribe on resource: * because no "
        "identity-based policy allows the aws-marketplace:Subscribe action"
    )


def availability(model: ModelSpec, offered_here: bool, account: Account) -> dict[str, Any]:
    """A GetFoundationModelAvailability answer. The stand-in has no IAM and no entitlements to refuse."""
    return {
        "modelId": model.model_id,
        "agreementAvailability": {"status": AVAILABLE if account.has_agreement(model) else NOT_AVAILABLE},
        "authorizationStatus": "AUTHORIZED",
        "entitlementAvailability": AVAILABLE,
        "regionAvailability": AVAILABLE if offered_here else NOT_AVAILABLE,
    }


def offer_token(model: ModelSpec) -> str:
    """The token of the model's one public offer: opaque to callers, the same on every call."""
    return f"standin-offer-token-{hashlib.sha256(model.model_id.encode()).hexdigest()[:24]}"


def offers(model: ModelSpec) -> list[dict[str, Any]]:
    """The model's AWS Marketplace offers (ListFoundationModelAgreementOffers): one public offer, or none."""
    if not model.on_marketplace:
        return []
    token = offer_token(model)
    return [
        {
            "offerId": f"standin-offer-{token[-12:]}",
            "offerToken": token,
            "termDetails": {
                "usageBasedPricingTerm": {"rateCard": []},  # the stand-in knows no prices
                "legalTerm": {},
                "supportTerm": {},
            },
        }
    ]
