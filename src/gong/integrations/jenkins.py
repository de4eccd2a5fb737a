"""Jenkins builds: the Notification plugin's JSON, or Gong's own format for a pipeline step.

Two formats, told apart by their shape:

- the Notification plugin's (``{"name", "url", "build": {"phase", "status", "full_url", …}}``):
  the event is ``build.<phase>``, and ``.<status>`` when Jenkins gives one
  (``build.finalized.failure``). Jenkins sends COMPLETED and then FINALIZED (after the
  post-build actions) for each build; Gong shows FINALIZED, the one the plugin's "Job Finalized"
  and "Failed" event settings send, and acknowledges COMPLETED without a message;
- Gong's format (``{"job", "build", "result", "url", "stage", "branch", "commit",
  "duration_ms", "log"}``, :class:`GongBuild`), posted by a Jenkinsfile's ``httpRequest`` step
  when a build ends: the event is ``build.finalized.<result>`` as well.

Failed, unstable and aborted builds are shown; successful and not-built ones, and queued and
started builds, are opt-in. A failure shows its failing stage (given, or read from the
pipeline's log) and the end of the log in a code block. Jenkins does not sign its requests: with
a source secret the robot expects it as ``X-Gong-Token: <secret>`` or
``Authorization: Bearer <secret>``.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator

from gong.domain.models import RobotKind
from gong.integrations.source import (
    Builder,
    Delivery,
    Event,
    Ignored,
    IgnoreReason,
    IntegrationConfig,
    Payload,
    Source,
    bad_signature,
    check_bearer,
    dispatch,
    invalid,
    parse,
    same,
)
from gong.integrations.text import (
    action_card,
    cut,
    duration,
    escape,
    fenced,
    link,
    plural,
    short_sha,
)
from gong.protocol.messages import Message

__all__ = ["GongBuild", "Jenkins", "NotificationJob", "log_block"]

#: Lines and characters of a build's log shown at the end of a message.
LOG_LINES = 20
LOG_CHARS = 3_000
#: Failed tests listed by name; the rest are counted.
MAX_TESTS = 5

RESULTS = ("SUCCESS", "FAILURE", "UNSTABLE", "ABORTED", "NOT_BUILT")
#: Build result → (mark, phrase).
OUTCOMES: dict[str, tuple[str, str]] = {
    "SUCCESS": ("✅", "succeeded"),
    "FAILURE": ("❌", "failed"),
    "UNSTABLE": ("⚠️", "is unstable"),
    "ABORTED": ("⚪", "was aborted"),
    "NOT_BUILT": ("⚪", "was not built"),
}
_FAILED = frozenset({"FAILURE", "UNSTABLE", "ABORTED"})


# -- payloads ---------------------------------------------------------------------------------


class Scm(Payload):
    url: str | None = None
    branch: str | None = None
    commit: str | None = None
    culprits: list[str] | None = None


class TestSummary(Payload):
    total: int = 0
    failed: int = 0
    passed: int = 0
    skipped: int = 0
    failed_tests: list[str] | None = None


class NotificationBuild(Payload):
    number: int
    phase: str
    status: str | None = None
    full_url: str | None = None
    url: str | None = None
    display_name: str | None = None
    duration: int | None = None
    scm: Scm | None = None
    log: str | None = None
    notes: str | None = None
    test_summary: TestSummary | None = None


class NotificationJob(Payload):
    """The Notification plugin's document (its ``JobState``)."""

    name: str
    display_name: str | None = None
    url: str | None = None
    build: NotificationBuild


class GongBuild(Payload):
    """Gong's Jenkins format: what a pipeline's ``post`` section posts when a build ends."""

    job: str = Field(min_length=1)
    build: int | str
    result: str
    url: str | None = None
    stage: str | None = None
    branch: str | None = None
    commit: str | None = None
    duration_ms: float | None = None
    log: str | None = None

    @field_validator("result")
    @classmethod
    def _known(cls, value: str) -> str:
        result = value.strip().upper()
        if result not in RESULTS:
            raise ValueError(f"must be one of {', '.join(RESULTS)}")
        return result


# -- text -------------------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_STAGE_START = re.compile(r"^\[Pipeline\] \{ \((.+)\)\s*$", re.MULTILINE)
_STAGE_SKIPPED = re.compile(r'^Stage "(.+)" skipped due to', re.MULTILINE)


def log_block(log: str | None, lines: int = LOG_LINES, limit: int = LOG_CHARS) -> str:
    """The end of a build's log as a fenced code block, its text kept as it is.

    Only the last ``lines`` lines and ``limit`` characters are kept (cut at the front); colour
    codes and control characters are dropped, and a fence inside the log cannot close the
    block. A pipeline's ``[Pipeline] …`` step markers are left out. Empty when there is no
    log.
    """
    if not log or not log.strip():
        return ""
    front_cut = len(log) > limit * 4  # a 1 MB log: look at its end only
    text = log[-(limit * 4) :]
    text = _CONTROL.sub("", _ANSI.sub("", text.replace("\r\n", "\n").replace("\r", "\n")))
    rows = text.rstrip().split("\n")
    if front_cut and len(rows) > 1:
        rows = rows[1:]  # the first row may be cut in the middle
    # A pipeline's step markers ("[Pipeline] sh") say nothing about the failure.
    rows = [row for row in rows if not row.startswith("[Pipeline] ")]
    cut_rows = front_cut or len(rows) > lines
    rows = rows[-lines:]
    body = "\n".join(row.rstrip() for row in rows)
    if len(body) > limit:
        body, cut_rows = body[-limit:], True
        body = body.split("\n", 1)[-1] if "\n" in body else body
    more = "…\n" if cut_rows else ""
    return fenced(more + body)


def stage_from_log(log: str | None) -> str | None:
    """The pipeline stage a log ends in: the last one started, not skipped."""
    if not log:
        return None
    tail = log[-200_000:]
    skipped = set(_STAGE_SKIPPED.findall(tail))
    started = [s for s in _STAGE_START.findall(tail) if s not in skipped]
    return started[-1] if started else None


# -- builders ---------------------------------------------------------------------------------


def _message(
    *,
    job: str,
    job_url: str | None,
    number: str,
    result: str | None,
    phase: str,
    build_url: str | None,
    branch: str | None,
    commit: str | None,
    took_ms: float | None,
    culprits: list[str],
    stage: str | None,
    extra: list[str],
    log: str | None,
) -> Message:
    if phase == "QUEUED":
        mark, phrase = "🕓", "is queued"
    elif phase == "STARTED":
        mark, phrase = "🔄", "started"
    else:
        mark, phrase = OUTCOMES.get(result or "", ("⚪", f"finished ({result or 'no result'})"))
    failed = result in _FAILED and phase not in ("QUEUED", "STARTED")
    facts = [link(job, job_url)]
    if branch:
        facts.append(f"branch **{escape(branch)}**")
    if commit:
        facts.append(f"commit **{escape(short_sha(commit))}**")
    if culprits:
        facts.append("by " + ", ".join(f"**{escape(c)}**" for c in culprits[:5]))
    if took_ms is not None and took_ms > 0 and phase not in ("QUEUED", "STARTED"):
        facts.append(f"took {duration(took_ms / 1000)}")
    parts = [f"#### {mark} Build {escape(number)} {phrase}", " · ".join(facts)]
    if failed and stage:
        parts.append(f"Failed in stage **{escape(cut(stage, 200))}**")
    parts.extend(extra)
    block = log_block(log) if failed else ""
    if block:
        parts.append("Log (last lines):\n\n" + block)
    on = f" on {branch}" if branch else ""
    title = f"[{job}] {mark} Build {number} {phrase}{on}"
    return action_card(title, "\n\n".join(parts), "View build", build_url)


def _tests(summary: TestSummary | None) -> list[str]:
    if summary is None or summary.total <= 0:
        return []
    line = f"Tests: {summary.failed} failed, {summary.passed} passed"
    if summary.skipped:
        line += f", {summary.skipped} skipped"
    line += f" of {summary.total}"
    names = summary.failed_tests or []
    if not names:
        return [line]
    rows = [f"- {escape(cut(name, 200))}" for name in names[:MAX_TESTS]]
    if len(names) > MAX_TESTS:
        rows.append(f"- and {plural(len(names) - MAX_TESTS, 'more test')}")
    return [line + "\n\n" + "\n".join(rows)]


def notification(document: dict[str, Any]) -> Message:
    job = parse(NotificationJob, document, "Jenkins Notification plugin")
    build = job.build
    scm = build.scm or Scm()
    phase = build.phase.upper()
    result = build.status.upper() if build.status else None
    base = (build.full_url or "").removesuffix(f"{build.url or ''}") if build.url else ""
    job_url = (base + job.url) if base and job.url else None
    extra = _tests(build.test_summary)
    if build.notes and build.notes.strip():
        extra.append(escape(cut(build.notes.strip(), 500)))
    stage = stage_from_log(build.log) if result in _FAILED else None
    return _message(
        job=job.display_name or job.name,
        job_url=job_url,
        number=build.display_name or f"#{build.number}",
        result=result,
        phase=phase,
        build_url=build.full_url,
        branch=scm.branch,
        commit=scm.commit,
        took_ms=build.duration,
        culprits=scm.culprits or [],
        stage=stage,
        extra=extra,
        log=build.log,
    )


def gong_build(document: dict[str, Any]) -> Message:
    build = parse(GongBuild, document, "Jenkins build (Gong's format)")
    number = str(build.build)
    job_url = None
    if build.url and build.url.rstrip("/").endswith(f"/{number}"):
        job_url = build.url.rstrip("/").removesuffix(number)
    return _message(
        job=build.job,
        job_url=job_url,
        number=f"#{number}" if number.isdigit() else number,
        result=build.result,
        phase="FINALIZED",
        build_url=build.url,
        branch=build.branch,
        commit=build.commit,
        took_ms=build.duration_ms,
        culprits=[],
        stage=build.stage or stage_from_log(build.log),
        extra=[],
        log=build.log,
    )


#: The Notification plugin's events; ``build.completed`` is acknowledged without a message.
BUILDERS: dict[str, Builder] = {
    "build.queued": notification,
    "build.started": notification,
    "build.finalized": notification,
}
#: Gong's format: one event, a build that ended.
GONG_BUILDERS: dict[str, Builder] = {"build.finalized": gong_build}
#: Opt-in: successful and not-built builds, and builds queued or started.
QUIET = frozenset(
    {"build.queued", "build.started", "build.finalized.success", "build.finalized.not_built"}
)


class Jenkins(Source):
    kind = RobotKind.JENKINS
    label = "Jenkins"

    def verify(self, delivery: Delivery, secret: str, config: IntegrationConfig) -> None:
        token = delivery.header("X-Gong-Token")
        if token is not None:
            if not same(token, secret):
                raise bad_signature("X-Gong-Token does not match the source secret")
            return
        check_bearer(
            delivery.header("Authorization"),
            secret,
            "no X-Gong-Token or Authorization header: send the source secret as "
            "X-Gong-Token: <secret> or Authorization: Bearer <secret>",
        )

    def event(
        self, delivery: Delivery, document: dict[str, Any], config: IntegrationConfig
    ) -> Event:
        build = document.get("build")
        if isinstance(build, dict) and "phase" in build:
            phase, status = build.get("phase"), build.get("status")
            if not isinstance(phase, str) or not phase:
                raise invalid("Jenkins Notification plugin: field build.phase is not a string")
            name = f"build.{phase.lower()}"
            if isinstance(status, str) and status:
                name += f".{status.lower()}"
            if phase.upper() == "COMPLETED":
                raise Ignored(
                    name,
                    "is not shown: Jenkins sends build.finalized right after it, and Gong "
                    "shows that one",
                    IgnoreReason.NOT_HANDLED,
                )
            return dispatch(name, document, BUILDERS, QUIET)
        if "job" in document and "result" in document:
            result = document.get("result")
            kind = result.strip().lower() if isinstance(result, str) else ""
            name = f"build.finalized.{kind}" if kind else "build.finalized"
            return dispatch(name, document, GONG_BUILDERS, QUIET)
        raise invalid(
            "the body is neither the Jenkins Notification plugin's JSON "
            '({"name", "build": {"phase", "status", …}}) nor Gong\'s Jenkins format '
            '({"job", "build", "result", …}); see docs/integrations/jenkins.md'
        )
