"""Integration robots: a robot's kind decides how ``/robot/send`` reads its body.

One module per source (``github``, ``gitlab``, ``codeup``, ``jira``, ``travis``, ``trello``,
``alertmanager``, ``grafana``) and the ``template`` robot. What they share: ``source`` (the
:class:`~gong.integrations.source.Source` protocol and the event filter), ``text`` (escaping,
quoting and the message shapes) and ``fitting`` (cutting a message to fit 20 000 bytes);
``git`` and ``alerts`` hold the wording that several sources use, and ``config`` the rules for a
robot's integration settings. GitHub's and GitLab's payload models are in ``github_models`` and
``gitlab_models``. ``gitea`` (Gitea and Forgejo, models in ``gitea_models``) and ``jenkins``
(the Notification plugin's JSON or Gong's own build format) are sources too.
``sentry``, ``harbor`` and ``uptime_kuma`` (Sentry, Harbor and Uptime Kuma) are sources too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from gong.domain.models import RobotKind
from gong.integrations.alertmanager import Alertmanager
from gong.integrations.codeup import Codeup
from gong.integrations.gitea import Gitea
from gong.integrations.github import GitHub
from gong.integrations.gitlab import GitLab
from gong.integrations.grafana import Grafana
from gong.integrations.harbor import Harbor
from gong.integrations.jenkins import Jenkins
from gong.integrations.jira import Jira
from gong.integrations.sentry import Sentry
from gong.integrations.source import Delivery, Ignored, IntegrationConfig, Source
from gong.integrations.template import (
    DEFAULT_MAX_OUTPUT,
    DEFAULT_TIME_LIMIT,
    TemplateSource,
    TextRenderer,
    render_text,
)
from gong.integrations.travis import Travis
from gong.integrations.trello import Trello
from gong.integrations.uptime_kuma import UptimeKuma
from gong.protocol.messages import Message

__all__ = [
    "Alertmanager",
    "Codeup",
    "Delivery",
    "GitHub",
    "GitLab",
    "Gitea",
    "Grafana",
    "Harbor",
    "Ignored",
    "IntegrationConfig",
    "Jenkins",
    "Jira",
    "Sentry",
    "Source",
    "TemplateSource",
    "Travis",
    "Trello",
    "UptimeKuma",
    "preview",
    "sources",
]


def sources(
    *,
    template_time_limit: float = DEFAULT_TIME_LIMIT,
    template_max_output: int = DEFAULT_MAX_OUTPUT,
    template_renderer: TextRenderer = render_text,
) -> dict[RobotKind, Source]:
    """Every integration kind's source, ready to process deliveries.

    ``template_renderer`` renders templates: in this process by default, or a
    :class:`~gong.integrations.render_pool.RenderPool`'s ``render_text`` (the server's).
    """
    found: list[Source] = [
        GitHub(),
        GitLab(),
        Codeup(),
        Jira(),
        Travis(),
        Trello(),
        Alertmanager(),
        Grafana(),
        Gitea(),
        Jenkins(),
        Sentry(),
        Harbor(),
        UptimeKuma(),
        TemplateSource(template_time_limit, template_max_output, template_renderer),
    ]
    return {source.kind: source for source in found}


def preview(
    source: Source,
    config: IntegrationConfig,
    document: bytes,
    headers: Mapping[str, str] | None = None,
    *,
    callback_url: str = "",
    now_ms: int = 0,
    tz: dt.tzinfo = dt.UTC,
) -> Message:
    """The message ``source`` makes of a saved payload, without checking a signature; times
    in it are written in ``tz`` (the robot's group's zone).

    Raises:
        Ignored: the event would be acknowledged and not shown (the reason says why).
        RobotError: the payload is not what the source expects (400401), or a template's
            output is not a valid message.
    """
    delivery = Delivery(
        headers={k.lower(): v for k, v in (headers or {}).items()},
        body=document,
        document=document,
        callback_url=callback_url,
        now_ms=now_ms,
        tz=tz,
    )
    return source.message(delivery, config).message
