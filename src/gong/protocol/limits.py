"""Every limit on what senders and admins give Gong, stated once; everything else refers here.

DingTalk's own limits (the body size, the ``at`` targets, the keywords, the default rate limit)
and Gong's bounds on a robot's, group's and member's settings: the domain checks, the management
API's schema (and so its OpenAPI document), the web app's forms, the CLI's help and the storage
columns all take their numbers from here. The errcode catalogue (:mod:`gong.protocol.errors`)
quotes DingTalk's wire strings as they are, numbers included. The integrations' own settings
(source secrets, event names, templates) are bounded in :mod:`gong.integrations.config`.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_UPSTREAM_BLOCK",
    "DEFAULT_UPSTREAM_LIMIT",
    "DEFAULT_UPSTREAM_WINDOW",
    "DINGTALK_RATE_BLOCK",
    "DINGTALK_RATE_LIMIT",
    "DINGTALK_RATE_WINDOW",
    "MAX_ALERT_MESSAGE_BYTES",
    "MAX_AT_TARGETS",
    "MAX_AVATAR_URL",
    "MAX_BODY_BYTES",
    "MAX_DEDUPE_WINDOW",
    "MAX_IP_ALLOW",
    "MAX_IP_ENTRY",
    "MAX_KEYWORDS",
    "MAX_KEYWORD_LENGTH",
    "MAX_MENTION_LABELS",
    "MAX_MOBILE",
    "MAX_MSG_UUID",
    "MAX_NAME",
    "MAX_OUTGOING_ANSWER",
    "MAX_OUTGOING_TOKEN",
    "MAX_OUTGOING_URL",
    "MAX_RATE_BLOCK",
    "MAX_RATE_LIMIT",
    "MAX_RATE_WINDOW",
    "MAX_UPSTREAM_LIMIT",
    "MAX_UPSTREAM_SECRET",
    "MAX_UPSTREAM_URL",
    "MAX_UPSTREAM_WINDOW",
    "MAX_USER_ID",
    "MIN_UPSTREAM_WINDOW",
]

# -- Messages (the robot API) -------------------------------------------------------------------

#: DingTalk refuses a request body larger than this many bytes (errcode 460101).
MAX_BODY_BYTES = 20_000
#: Gong's own copy of an alert group holds every alert, up to this many bytes (the upstream
#: copy is split or summarised to fit ``MAX_BODY_BYTES``).
MAX_ALERT_MESSAGE_BYTES = 256_000
#: The longest quiet window a robot may have, in seconds (a day).
MAX_DEDUPE_WINDOW = 86_400
#: Most alert labels a robot may take owners from.
MAX_MENTION_LABELS = 20
#: The longest ``msgUuid`` Gong accepts, in characters; its storage columns are this wide.
MAX_MSG_UUID = 200
#: DingTalk notifies at most this many people per message; further targets are ignored.
MAX_AT_TARGETS = 50

# -- A robot's security settings ----------------------------------------------------------------

#: DingTalk allows at most ten keywords per robot.
MAX_KEYWORDS = 10
#: The longest keyword (a robot's, or an upstream's digest keyword), in characters.
MAX_KEYWORD_LENGTH = 64
#: The most entries of a robot's IP allow list.
MAX_IP_ALLOW = 100
#: The longest IP allow-list entry (an IPv4 address or CIDR range), in characters.
MAX_IP_ENTRY = 40

# -- A robot's rate limit -----------------------------------------------------------------------

#: DingTalk's rate limit, every robot's default: this many messages per window…
DINGTALK_RATE_LIMIT = 20
#: …of this many seconds…
DINGTALK_RATE_WINDOW = 60
#: …then the robot is blocked for this many seconds.
DINGTALK_RATE_BLOCK = 600
#: The most messages per window a robot's rate limit may allow (0 means unlimited).
MAX_RATE_LIMIT = 1_000_000
#: The longest rate-limit window, in seconds (a day).
MAX_RATE_WINDOW = 86_400
#: The longest block after the limit (or pause after an upstream's throttle), in seconds.
MAX_RATE_BLOCK = 86_400

# -- A relayed robot's upstream -----------------------------------------------------------------

#: Default sends per window to an upstream: one below DingTalk's, so a late send cannot tip it.
DEFAULT_UPSTREAM_LIMIT = DINGTALK_RATE_LIMIT - 1
#: Default upstream window, in seconds: DingTalk's.
DEFAULT_UPSTREAM_WINDOW = DINGTALK_RATE_WINDOW
#: Default pause after an upstream's throttle answer, in seconds: DingTalk's block.
DEFAULT_UPSTREAM_BLOCK = DINGTALK_RATE_BLOCK
#: The most sends per window an upstream may be paced to (0 means unpaced).
MAX_UPSTREAM_LIMIT = 1_000
#: The shortest upstream window, in seconds.
MIN_UPSTREAM_WINDOW = 1
#: The relay keeps an hour of send history; an upstream's window cannot be longer.
MAX_UPSTREAM_WINDOW = 3_600
#: The longest upstream webhook URL, in characters.
MAX_UPSTREAM_URL = 2_000
#: The longest upstream signing secret (``SEC…``), in characters.
MAX_UPSTREAM_SECRET = 200

# -- A robot's outgoing callback ----------------------------------------------------------------

#: The longest outgoing callback URL, in characters.
MAX_OUTGOING_URL = 2_000
#: The longest outgoing token (sent in the ``token`` header), in characters.
MAX_OUTGOING_TOKEN = 200
#: The largest answer read from a robot's service, in bytes: it is posted as a message.
MAX_OUTGOING_ANSWER = MAX_BODY_BYTES

# -- Groups, members and robots -----------------------------------------------------------------

#: The longest name of a group, member or robot, in characters.
MAX_NAME = 200
#: The longest member mobile (as in ``atMobiles``), in characters.
MAX_MOBILE = 32
#: The longest member userId (as in ``atUserIds``), in characters.
MAX_USER_ID = 100
#: The longest robot avatar URL, in characters.
MAX_AVATAR_URL = 1000
