"""Real deliveries of the fixtures: each source's body and headers, signed with a test secret.

The headers are the ones each sender sets (see ``fixtures/<source>/INDEX.md``); signatures are
computed here exactly as the sender computes them, with :data:`SECRET` (Travis: with a test RSA
key, or the real signature captured with ``travis/failed_push.json``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
GOLDEN = HERE / "golden"
SECRET = "It's a Secret to Everybody"

#: Fixture sources and the robot kind that reads them.
SOURCES = (
    "github",
    "gitlab",
    "codeup",
    "jira",
    "travis",
    "trello",
    "alertmanager",
    "grafana",
    "gitea",
    "jenkins",
    "sentry",
    "harbor",
    "uptime-kuma",
)

_GITHUB_EVENTS = {
    "ping": "ping",
    "push": "push",
    "push_many_commits": "push",
    "create_tag": "create",
    "delete_tag": "delete",
    "pull_request_opened": "pull_request",
    "pull_request_closed_merged": "pull_request",
    "pull_request_review_requested": "pull_request",
    "issues_opened": "issues",
    "issues_closed": "issues",
    "issue_comment_created": "issue_comment",
    "release_published": "release",
    "workflow_run_completed_success": "workflow_run",
    "workflow_run_completed_failure": "workflow_run",
    "check_run_completed_failure": "check_run",
    "check_suite_completed_success": "check_suite",
    "code_scanning_alert_closed_by_user": "code_scanning_alert",
    "code_scanning_alert_created": "code_scanning_alert",
    "code_scanning_alert_fixed": "code_scanning_alert",
    "dependabot_alert_created": "dependabot_alert",
    "dependabot_alert_fixed": "dependabot_alert",
    "deployment_created": "deployment",
    "deployment_status_in_progress": "deployment_status",
    "deployment_status_success": "deployment_status",
    "discussion_answered": "discussion",
    "discussion_comment_created": "discussion_comment",
    "discussion_created": "discussion",
    "fork": "fork",
    "pull_request_review_comment_created": "pull_request_review_comment",
    "pull_request_review_dismissed": "pull_request_review",
    "pull_request_review_submitted": "pull_request_review",
    "release_released": "release",
    "secret_scanning_alert_reopened": "secret_scanning_alert",
    "star_created": "star",
    "workflow_job_completed_failure": "workflow_job",
    "workflow_job_completed_success": "workflow_job",
}
#: Gitea fixture → ``X-Gitea-Event`` (the first word of the name otherwise).
_GITEA_EVENTS = {
    "create_branch": "create",
    "delete_branch": "delete",
    "pull_request_opened": "pull_request",
    "pull_request_comment": "pull_request_comment",
    "issues_opened": "issues",
    "issue_comment_created": "issue_comment",
    "release_published": "release",
    "workflow_run_completed_failure": "workflow_run",
    "workflow_job_completed_failure": "workflow_job",
}
#: ``X-Gitea-Event-Type`` where it differs from ``X-Gitea-Event`` (reviews).
_GITEA_TYPES = {
    "pull_request_approved": "pull_request_review_approved",
    "pull_request_rejected": "pull_request_review_rejected",
    "pull_request_comment": "pull_request_review_comment",
}
#: Sentry-Hook-Resource by fixture name (the legacy WebHooks plugin sends none).
_SENTRY_RESOURCES = ("metric_alert", "event_alert", "installation", "comment", "issue", "error")
_GITLAB_EVENTS = {
    "push": "Push Hook",
    "tag_push": "Tag Push Hook",
    "merge_request": "Merge Request Hook",
    "issue": "Issue Hook",
    "note": "Note Hook",
    "pipeline": "Pipeline Hook",
    "job": "Job Hook",
    "deployment": "Deployment Hook",
    "release": "Release Hook",
    "feature_flag": "Feature Flag Hook",
    "wiki_page": "Wiki Page Hook",
    "emoji": "Emoji Hook",
}


def fixtures(source: str) -> list[str]:
    """The payload fixtures of a source (``*.json`` other than ``*.headers.json``)."""
    return sorted(
        p.stem for p in (FIXTURES / source).glob("*.json") if not p.name.endswith(".headers.json")
    )


def all_fixtures() -> list[tuple[str, str]]:
    return [(source, name) for source in SOURCES for name in fixtures(source)]


def payload(source: str, name: str) -> bytes:
    return (FIXTURES / source / f"{name}.json").read_bytes()


@functools.cache
def travis_test_key() -> rsa.RSAPrivateKey:
    """A test RSA key standing in for Travis CI's private key."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def travis_test_public_pem() -> str:
    public = travis_test_key().public_key()
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def travis_sign(document: bytes) -> str:
    signature = travis_test_key().sign(document, padding.PKCS1v15(), hashes.SHA1())
    return base64.b64encode(signature).decode()


def trello_sign(body: bytes, callback_url: str, secret: str = SECRET) -> str:
    digest = hmac.new(secret.encode(), body + callback_url.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _hex(secret: str, body: bytes, digest: str = "sha256") -> str:
    return hmac.new(secret.encode(), body, digest).hexdigest()


@dataclass
class Delivery:
    body: bytes
    headers: dict[str, str]


def deliver(
    source: str,
    name: str,
    *,
    document: bytes | None = None,
    secret: str | None = SECRET,
    callback_url: str = "",
    form: bool = False,
) -> Delivery:
    """The request a source makes for one fixture (or ``document``), signed when ``secret``."""
    raw = payload(source, name) if document is None else document
    headers = {"Content-Type": "application/json"}
    body = raw
    if source == "github":
        headers.update(
            {
                "User-Agent": "GitHub-Hookshot/7c1b2b9",
                "X-GitHub-Event": _GITHUB_EVENTS.get(name, name.split("__")[0]),
                "X-GitHub-Delivery": str(uuid.uuid4()),
                "X-GitHub-Hook-ID": "109948940",
                "X-GitHub-Hook-Installation-Target-Type": "repository",
                "X-GitHub-Hook-Installation-Target-ID": "186853002",
            }
        )
        if form:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urlencode({"payload": raw.decode()}).encode()
        if secret:
            headers["X-Hub-Signature-256"] = "sha256=" + _hex(secret, body)
            headers["X-Hub-Signature"] = "sha1=" + _hex(secret, body, "sha1")
    elif source in ("gitlab", "codeup"):
        event = next(v for k, v in _GITLAB_EVENTS.items() if name.startswith(k))
        if source == "gitlab":
            headers.update(
                {
                    "User-Agent": "GitLab/17.5.0",
                    "X-Gitlab-Event": event,
                    "X-Gitlab-Instance": "https://gitlab.example.com",
                    "X-Gitlab-Webhook-UUID": str(uuid.uuid4()),
                    "X-Gitlab-Event-UUID": str(uuid.uuid4()),
                    "Idempotency-Key": str(uuid.uuid4()),
                }
            )
            if secret:
                headers["X-Gitlab-Token"] = secret
        else:
            headers["Codeup-Event"] = event
            if secret:
                headers["X-Codeup-Token"] = secret
    elif source == "jira":
        headers.update(
            {
                "Content-Type": "application/json; charset=UTF-8",
                "User-Agent": "Atlassian Webhook HTTP Client",
                "X-Atlassian-Webhook-Identifier": str(uuid.uuid4()),
                "X-Atlassian-Webhook-Retry": "0",
                "X-Atlassian-Webhook-Flow": "Primary",
            }
        )
        if secret:
            headers["X-Hub-Signature"] = "sha256=" + _hex(secret, body)
    elif source == "travis":
        repo = json.loads(raw)["repository"]
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Travis-Repo-Slug": f"{repo['owner_name']}/{repo['name']}",
            "User-Agent": "Travis CI Notifications",
        }
        if name == "failed_push" and document is None:
            captured = json.loads((FIXTURES / "travis" / "failed_push.headers.json").read_text())
            headers["Signature"] = captured["headers"]["Signature"]
        elif secret:
            headers["Signature"] = travis_sign(raw)
        body = urlencode({"payload": raw.decode()}).encode()
    elif source == "trello":
        headers["User-Agent"] = "Trello-Webhooks/1.0"
        if secret:
            headers["X-Trello-Webhook"] = trello_sign(body, callback_url, secret)
    elif source == "alertmanager":
        headers["User-Agent"] = "Alertmanager/0.27.0"
        if secret:
            headers["Authorization"] = f"Bearer {secret}"
    elif source == "grafana":
        headers["User-Agent"] = "Grafana"
        if secret:
            headers["X-Grafana-Alerting-Signature"] = _hex(secret, body)
    elif source == "gitea":
        event = _GITEA_EVENTS.get(name, name.split("__")[0])
        delivery_id = str(uuid.uuid4())
        for product in ("Gitea", "Gogs"):
            headers[f"X-{product}-Delivery"] = delivery_id
            headers[f"X-{product}-Event"] = event
            headers[f"X-{product}-Event-Type"] = _GITEA_TYPES.get(event, event)
        headers["X-GitHub-Delivery"] = delivery_id
        headers["X-GitHub-Event"] = event
        if secret:
            signature = _hex(secret, body)
            headers["X-Gitea-Signature"] = signature
            headers["X-Gogs-Signature"] = signature
            headers["X-Hub-Signature-256"] = "sha256=" + signature
    elif source == "jenkins":
        if name.startswith("notification"):
            headers["User-Agent"] = "Java/17.0.13"
            if secret:
                headers["X-Gong-Token"] = secret
        else:  # Gong's format, from a Jenkinsfile's httpRequest step
            headers["User-Agent"] = "Apache-HttpClient/4.5.14 (Java/17.0.13)"
            if secret:
                headers["Authorization"] = f"Bearer {secret}"
    elif source == "sentry":
        resource = next(r for r in _SENTRY_RESOURCES if name.startswith(r))
        headers.update(
            {
                "Request-ID": str(uuid.uuid4()),
                "Sentry-Hook-Resource": resource,
                "Sentry-Hook-Timestamp": "1764940000",
            }
        )
        if secret:
            headers["Sentry-Hook-Signature"] = _hex(secret, body)
    elif source == "harbor":
        headers["User-Agent"] = "Go-http-client/1.1"
        if secret:  # the webhook policy's Auth Header, sent verbatim
            headers["Authorization"] = secret
    elif source == "uptime-kuma":
        headers["User-Agent"] = "axios/0.28.1"
        if secret:  # the notification's Additional Headers
            headers["Authorization"] = f"Bearer {secret}"
    return Delivery(body, headers)
