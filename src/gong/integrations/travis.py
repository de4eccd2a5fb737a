"""Travis CI webhooks: build results (passed, fixed, broken, failed, still failing, errored, …).

Travis posts a form with the JSON in its ``payload`` field, and signs that JSON text with its
private key: ``Signature`` is the base64 RSA PKCS#1 v1.5 SHA-1 signature. Travis has no shared
secret, so a Travis robot checks the signature by default (``travis_verify``) against Travis's
public keys, those of travis-ci.com and travis-ci.org unless ``travis_public_key`` names another
(Travis CI Enterprise). The event is the build's ``status_message`` in snake case (``passed``,
``still_failing``); ``pending`` (a build started) is shown only when ``only_events`` names it.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pydantic import Field

from gong.domain.models import RobotKind
from gong.integrations.git import Commit
from gong.integrations.source import (
    Builder,
    Delivery,
    Event,
    IntegrationConfig,
    Payload,
    Source,
    bad_signature,
    dispatch,
    invalid,
    parse,
)
from gong.integrations.text import action_card, duration, escape, link
from gong.protocol.messages import Message

__all__ = ["TRAVIS_COM_KEY", "TRAVIS_ORG_KEY", "Travis", "load_public_key"]

#: ``config.notifications.webhook.public_key`` of https://api.travis-ci.com/config.
TRAVIS_COM_KEY = """-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnQU2j9lnRtyuW36arNOc
dzCzyKVirLUi3/aLh6UfnTVXzTnx8eHUnBn1ZeQl7Eh3J3qqdbIKl6npS27ONzCy
3PIcfjpLPaVyGagIL8c8XgDEvB45AesC0osVP5gkXQkPUM3B2rrUmp1AZzG+Fuo0
SAeNnS71gN63U3brL9fN/MTCXJJ6TvMt3GrcJUq5uq56qNeJTsiowK6eiiWFUSfh
e1qapOdMFmcEs9J/R1XQ/scxbAnLcWfl8lqH/MjMdCMe0j3X2ZYMTqOHsb3cQGSS
dMPwZGeLWV+OaxjJ7TrJ+riqMANOgqCBGpvWUnUfo046ACOx7p6u4fFc3aRiuqYK
VQIDAQAB
-----END PUBLIC KEY-----
"""

#: ``config.notifications.webhook.public_key`` of https://api.travis-ci.org/config.
TRAVIS_ORG_KEY = """-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvtjdLkS+FP+0fPC09j25
y/PiuYDDivIT86COVedvlElk99BBYTrqNaJybxjXbIZ1Q6xFNhOY+iTcBr4E1zJu
tizF3Xi0V9tOuP/M8Wn4Y/1lCWbQKlWrNQuqNBmhovF4K3mDCYswVbpgTmp+JQYu
Bm9QMdieZMNry5s6aiMA9aSjDlNyedvSENYo18F+NYg1J0C0JiPYTxheCb4optr1
5xNzFKhAkuGs4XTOA5C7Q06GCKtDNf44s/CVE30KODUxBi0MCKaxiXw/yy55zxX2
/YdGphIyQiA5iO1986ZmZCLLW8udz9uhW5jUr3Jlp9LbmphAC61bVSf4ou2YsJaN
0QIDAQAB
-----END PUBLIC KEY-----
"""

_DEFAULT_KEYS = (TRAVIS_COM_KEY, TRAVIS_ORG_KEY)


@functools.lru_cache(maxsize=64)
def load_public_key(pem: str) -> rsa.RSAPublicKey:
    """An RSA public key from PEM text.

    Raises:
        ValueError: the text is not a PEM RSA public key.
    """
    key = serialization.load_pem_public_key(pem.strip().encode() + b"\n")
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the key is not an RSA public key")
    return key


def _verifies(pem: str, signature: bytes, data: bytes) -> bool:
    try:
        load_public_key(pem).verify(signature, data, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
    except InvalidSignature:
        return False
    return True


class Repository(Payload):
    name: str
    owner_name: str
    url: str | None = None


class Job(Payload):
    id: int
    number: str
    state: str | None = None
    result: int | None = None
    allow_failure: bool | None = False


class Build(Payload):
    number: str
    type: str = "push"
    state: str
    status_message: str
    duration: int | None = None
    build_url: str
    commit: str = ""
    branch: str = ""
    message: str = ""
    compare_url: str | None = None
    author_name: str = ""
    committer_name: str = ""
    pull_request: bool = False
    pull_request_number: int | None = None
    pull_request_title: str | None = None
    tag: str | None = None
    repository: Repository
    matrix: list[Job] = Field(default_factory=list)


#: ``status_message`` → (mark, phrase).
STATUSES: dict[str, tuple[str, str]] = {
    "passed": ("✅", "passed"),
    "fixed": ("✅", "was fixed"),
    "broken": ("❌", "is broken"),
    "failed": ("❌", "failed"),
    "still_failing": ("❌", "is still failing"),
    "errored": ("❌", "errored"),
    "canceled": ("⚪", "was canceled"),
    "pending": ("🕓", "is pending"),
}
_GITHUB = re.compile(r"^(https://github\.com/[^/]+/[^/]+)/")


def event_name(status_message: str) -> str:
    """``Still Failing`` → ``still_failing``."""
    return "_".join(status_message.lower().split())


def build(document: dict[str, Any]) -> Message:
    b = parse(Build, document, "Travis build")
    slug = f"{b.repository.owner_name}/{b.repository.name}"
    found = _GITHUB.match(b.compare_url or "")
    repo_url = b.repository.url or (found.group(1) if found else None)
    status = event_name(b.status_message)
    mark, phrase = STATUSES.get(status, ("⚪", escape(b.status_message.lower())))
    if status == "pending" and b.state == "started":
        phrase = "started"
    facts = [link(slug, repo_url)]
    if b.tag:
        facts.append(f"tag **{escape(b.tag)}**")
    elif b.branch:
        facts.append(f"branch **{escape(b.branch)}**")
    if b.pull_request and b.pull_request_number is not None:
        pr = f"#{b.pull_request_number} {b.pull_request_title or ''}".strip()
        facts.append(f"pull request {link(pr, b.compare_url)}")
    else:
        facts.append(escape(b.type.replace("_", " ")))
    if b.author_name:
        facts.append(f"by **{escape(b.author_name)}**")
    if b.duration is not None and status != "pending":
        facts.append(f"took {duration(b.duration)}")
    parts = [f"#### {mark} Build #{escape(b.number)} {phrase}", " · ".join(facts)]
    if b.commit:
        url = f"{repo_url}/commit/{b.commit}" if repo_url else b.compare_url
        parts.append(Commit(b.commit, b.message, url, b.author_name or b.committer_name).line())
    failed = [j for j in b.matrix if j.result not in (None, 0) or j.state in ("failed", "errored")]
    if failed and status != "pending":
        jobs_base = b.build_url.rsplit("/builds/", 1)[0]
        lines = []
        for job in failed[:10]:
            line = f"- {link(job.number, f'{jobs_base}/jobs/{job.id}')}"
            if job.state in ("failed", "errored"):
                line += f" {escape(job.state)}"
            if job.allow_failure:
                line += " (allowed to fail)"
            lines.append(line)
        if len(failed) > 10:
            lines.append(f"- and {len(failed) - 10} more")
        parts.append("Failed jobs:\n\n" + "\n".join(lines))
    on = f" on {b.tag or b.branch}" if (b.tag or b.branch) else ""
    title = f"[{slug}] {mark} Build #{b.number} {phrase}{on}"
    return action_card(title, "\n\n".join(parts), "View build", b.build_url)


BUILDERS: dict[str, Builder] = dict.fromkeys(STATUSES, build)
QUIET = frozenset({"pending"})


class Travis(Source):
    kind = RobotKind.TRAVIS
    label = "Travis CI"

    def authenticate(self, delivery: Delivery, config: IntegrationConfig) -> None:
        if not config.travis_verify:
            return
        given = delivery.header("Signature")
        if not given:
            raise bad_signature("the Signature header is missing: Travis CI signs every webhook")
        try:
            signature = base64.b64decode(given.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise bad_signature("the Signature header is not base64") from None
        keys = (config.travis_public_key,) if config.travis_public_key else _DEFAULT_KEYS
        if not any(_verifies(pem, signature, delivery.document) for pem in keys):
            raise bad_signature(
                "the Signature does not verify with Travis CI's public key"
                + (" configured for this robot" if config.travis_public_key else "")
            )

    def event(
        self, delivery: Delivery, document: dict[str, Any], config: IntegrationConfig
    ) -> Event:
        status = document.get("status_message")
        if not isinstance(status, str) or not status:
            raise invalid("no status_message in the payload: this is not a Travis CI webhook")
        return dispatch(event_name(status), document, BUILDERS, QUIET)
