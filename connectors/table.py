"""The one table of connectors (after Healthchecks' ``TRANSPORTS``): every counterpart's
connectors, by name. The outbox finds the connector of an item here; the log follower asks
each of them which entries it acts on. Adding a counterpart adds its line here.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.core.exceptions import ImproperlyConfigured

from .base import Connector, ConnectorError, OutboxConnector
from .biobank import BiobankConnector
from .kanta.connector import KantaConsentConnector, ProviderQueryConnector
from .kanta.phr import KantaPhrConnector
from .offers import OfferConnector
from .providers.connector import ProviderFhirConnector, WebhookConnector

#: Every connector by its name (``OutboxItem.connector`` for flows through the outbox). The
#: follower asks them in this order, so the items one log entry causes are written in it.
_ALL: tuple[Connector, ...] = (
    KantaConsentConnector(),  # consents registered in Kanta
    KantaPhrConnector(),  # self-produced data stored in Kanta PHR
    ProviderQueryConnector(),  # providers' queries answered from Kanta
    ProviderFhirConnector(),  # self-produced data pushed to a provider's FHIR endpoint
    WebhookConnector(),  # consent changes told to providers' webhooks
    BiobankConnector(),  # donors released to biobank research
    OfferConnector(),  # needs-assessment offers delivered to citizens
)
CONNECTORS: dict[str, Connector] = {c.name: c for c in _ALL}
if "" in CONNECTORS or len(CONNECTORS) != len(_ALL):
    raise ImproperlyConfigured("every connector needs a name of its own")


def outbox_connectors() -> Iterator[OutboxConnector]:
    """The connectors whose flows go through the outbox, in table order."""
    return (c for c in CONNECTORS.values() if isinstance(c, OutboxConnector))


def connector_for(name: str) -> OutboxConnector:
    """The outbox connector of an item's ``connector`` name; a permanent error if none."""
    connector = CONNECTORS.get(name)
    if not isinstance(connector, OutboxConnector):
        raise ConnectorError(f"no outbox connector named {name!r}", permanent=True)
    return connector
