"""``Robot`` and ``AsyncRobot``: send robot messages to Gong or to DingTalk, correctly.

What they get right for you, each a mistake people make by hand:

- a fresh ``timestamp`` and ``sign`` for every request (never one computed at start-up), the
  Base64 URL-encoded exactly once, and any stale ``timestamp``/``sign`` already in the webhook
  URL dropped;
- ``@mobile`` / ``@userId`` written into the text when ``atMobiles`` / ``atUserIds`` name someone
  the text does not (DingTalk notifies only then);
- compact UTF-8 JSON, checked against the 20 000-byte limit before sending;
- success only when ``errcode`` is 0, whatever the HTTP status; any other answer raises the
  exception of its family (:mod:`gong.sdk.errors`);
- a ``msgUuid`` on every message, so the retries it makes (system busy, network errors; never
  anything else) cannot post a message twice;
- timeouts, and an optional client-side :class:`~gong.sdk.pacer.Pacer`.

Both accept an httpx transport (``httpx.MockTransport``, ``httpx.ASGITransport``) for tests.

The clients live in :mod:`gong.sdk.sync` (``Robot``) and :mod:`gong.sdk.aio` (``AsyncRobot``),
over what they share in :mod:`gong.sdk.base`; the message builders are in
:mod:`gong.sdk.messages`. This module gathers the client API in one place.
"""

from gong.sdk.aio import AsyncRobot
from gong.sdk.base import SendResult
from gong.sdk.messages import with_mentions
from gong.sdk.sync import Robot

__all__ = ["AsyncRobot", "Robot", "SendResult", "with_mentions"]
