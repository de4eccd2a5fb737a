"""Web Push subscriptions (RFC 8030): what a browser hands over, the rules it must meet, and
what a push message carries.

A browser subscribes through its push service and gives Gong three things: the ``endpoint``
(a URL of the push service, which Gong POSTs to), ``p256dh`` (the browser's P-256 public key)
and ``auth`` (a 16-byte secret); the last two encrypt each message for that browser alone
(RFC 8291). The keys are secrets of the browser: never logged, never shown.

A push service that answers 404 or 410 says the subscription is gone: it is deleted at once.
Other failures are counted; :data:`MAX_FAILURES` in a row drop the subscription too.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from gong.domain.errors import Invalid
from gong.domain.notify import Notification, Reason
from gong.i18n import core

__all__ = [
    "GROUP_TTL_S",
    "MAX_ENDPOINT",
    "MAX_FAILURES",
    "MAX_PER_ACCOUNT",
    "MENTION_TTL_S",
    "PUSH_TEXT_MAX",
    "PushStore",
    "PushSubscription",
    "clean_subscription",
    "push_payload",
    "push_ttl",
    "push_urgency",
    "subscribe",
    "unb64url",
]

#: The longest endpoint URL stored (``push_subscriptions.endpoint``).
MAX_ENDPOINT = 2000
#: Consecutive failed deliveries after which a subscription is dropped.
MAX_FAILURES = 5
#: Browsers (subscriptions) kept per account; a new one beyond it replaces the oldest.
MAX_PER_ACCOUNT = 20
#: The longest message text a push carries (push services take about 4 KB in all).
PUSH_TEXT_MAX = 500
#: How long a push service keeps a message for a browser that is offline, in seconds.
MENTION_TTL_S = 86_400
GROUP_TTL_S = 3_600


@dataclass(frozen=True, slots=True)
class PushSubscription:
    endpoint: str
    #: base64url, as the browser gave them.
    p256dh: str
    auth: str
    id: int = 0
    user_id: int = 0
    failures: int = 0

    def __repr__(self) -> str:  # the keys are the browser's secrets
        return f"PushSubscription(id={self.id}, user_id={self.user_id}, origin={self.origin!r})"

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` of the endpoint: the VAPID audience, and what logs name."""
        parts = urlsplit(self.endpoint)
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def unb64url(value: str) -> bytes:
    """Decode base64url with or without padding.

    Raises:
        ValueError: not base64url.
    """
    text = value.strip()
    if not text.isascii() or any(c in text for c in "+/"):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None


def clean_subscription(
    endpoint: Any, p256dh: Any, auth: Any, *, allow_http: bool
) -> PushSubscription:
    """A browser's subscription, checked: an https endpoint (http too when internal targets are
    allowed, ``GONG_OUTGOING_ALLOW_PRIVATE``), a P-256 public key and a 16-byte secret.

    Where the endpoint points is checked by the outbound guard (``gong.outgoing.guard``).

    Raises:
        Invalid: naming what is wrong.
    """
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise Invalid(core.lazy("a push subscription needs its endpoint URL"))
    endpoint = endpoint.strip()
    if len(endpoint) > MAX_ENDPOINT:
        raise Invalid(core.lazy("the endpoint is longer than %(n)s characters", n=MAX_ENDPOINT))
    parts = urlsplit(endpoint)
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise Invalid(core.lazy("the push endpoint must be an https:// URL"))
    if parts.username is not None or parts.password is not None:
        raise Invalid(core.lazy("the push endpoint must not carry a user name or password"))
    try:
        key = unb64url(p256dh) if isinstance(p256dh, str) else b""
    except ValueError:
        key = b""
    if len(key) != 65 or key[0] != 4:
        raise Invalid(
            core.lazy("keys.p256dh must be a P-256 public key (65 bytes, base64url, uncompressed)")
        )
    try:
        secret = unb64url(auth) if isinstance(auth, str) else b""
    except ValueError:
        secret = b""
    if len(secret) != 16:
        raise Invalid(core.lazy("keys.auth must be 16 bytes, base64url"))
    return PushSubscription(endpoint=endpoint, p256dh=p256dh.strip(), auth=auth.strip())


def push_payload(notification: Notification) -> dict[str, Any]:
    """What the service worker receives (``static/sw.js`` shows it): the title is the group,
    the body ``sender: text``; one notification per group (``tag``)."""
    text = notification.text
    if len(text) > PUSH_TEXT_MAX:
        text = text[: PUSH_TEXT_MAX - 1] + "…"
    return {
        **notification.to_json(),
        "text": text,
        "title": notification.group,
        "body": f"{notification.sender}: {text}",
        "tag": f"gong-group-{notification.group_id}",
    }


def push_urgency(reason: Reason) -> str:
    """RFC 8030 ``Urgency``: mentions are ``high``, the rest ``normal``."""
    return "normal" if reason is Reason.GROUP else "high"


def push_ttl(reason: Reason) -> int:
    """RFC 8030 ``TTL``: a mention waits a day for an offline browser, other messages an hour."""
    return GROUP_TTL_S if reason is Reason.GROUP else MENTION_TTL_S


class PushStore(Protocol):
    """The subscriptions of accounts' browsers (``gong.storage.push`` implements it)."""

    async def save(self, user_id: int, subscription: PushSubscription) -> PushSubscription:
        """Store (or move to ``user_id``, with new keys) the subscription of an endpoint."""
        ...

    async def remove(self, endpoint: str, user_id: int | None = None) -> bool:
        """Delete the subscription of an endpoint (only ``user_id``'s, when given)."""
        ...

    async def of_users(self, user_ids: set[int]) -> list[PushSubscription]: ...

    async def delivered(self, subscription_ids: Sequence[int], at_ms: int) -> None:
        """Pushes were accepted: their failures in a row start again from zero."""
        ...

    async def failed(self, subscription_id: int, max_failures: int) -> bool:
        """Count a failed push; delete the subscription at ``max_failures`` in a row. Whether
        it was deleted."""
        ...


async def subscribe(
    store: PushStore,
    check_endpoint: Callable[[str], Awaitable[None]],
    user_id: int,
    endpoint: Any,
    p256dh: Any,
    auth: Any,
    *,
    allow_http: bool,
) -> PushSubscription:
    """Keep a browser's subscription for an account: checked (:func:`clean_subscription`), its
    endpoint allowed by the outbound guard (``check_endpoint``), then stored.

    Raises:
        Invalid: the subscription breaks a rule, or its endpoint points where Gong's requests
            may not go.
    """
    subscription = clean_subscription(endpoint, p256dh, auth, allow_http=allow_http)
    await check_endpoint(subscription.endpoint)
    return await store.save(user_id, subscription)
