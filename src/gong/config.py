"""Gong's settings: one object, read from ``GONG_*`` environment variables, passed explicitly.

Every setting, its default and what it does is listed in ``docs/configuration.md`` (generated
from this class by ``gong config --markdown``); the sample file ``gong.env.example`` comes from the
same source. :meth:`Settings.load` also reads ``gong.env`` files (the working directory's, then
the data directory's), as every command and the server do.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal

from platformdirs import user_data_dir
from pydantic import Field, PrivateAttr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gong.domain.timetext import is_zone, server_zone
from gong.protocol.errors import Dialect, RateLimitAnswer
from gong.protocol.limits import MAX_BODY_BYTES

__all__ = ["Settings", "default_data_dir"]


def default_data_dir() -> Path:
    """The per-user data directory (``~/.local/share/gong`` on Linux): the same wherever a
    ``gong`` command or ``make run`` is started."""
    return Path(user_data_dir("gong", appauthor=False))


class Settings(BaseSettings):
    """Everything that can be configured. Environment variables are ``GONG_`` + the name."""

    model_config = SettingsConfigDict(
        env_prefix="GONG_", extra="ignore", validate_default=True, env_file_encoding="utf-8"
    )
    _files: list[Path] = PrivateAttr(default_factory=list)

    data_dir: Path = Field(
        default=None,
        validate_default=True,
        description="Directory for the SQLite database and other local state. Empty: the "
        "per-user data directory (`~/.local/share/gong` on Linux, `~/Library/Application "
        "Support/gong` on macOS, `%LOCALAPPDATA%\\gong` on Windows), wherever `gong` is started.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; `postgresql://…` selects PostgreSQL. "
        "Empty: SQLite at `<data_dir>/gong.db`.",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis URL (`redis://host:6379/0`); needed for more than one worker "
        "or instance.",
    )
    redis_prefix: str = Field(
        default="gong", description="Prefix of every Redis key and channel Gong uses."
    )
    host: str = Field(default="127.0.0.1", description="Address `gong serve` binds to.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port `gong serve` listens on.")
    tls_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="Also serve HTTPS on this port, with the certificate `gong tls init` made "
        "(for DingTalk clients that hard-code `https://oapi.dingtalk.com`; docs/clients.md). "
        "0: HTTP only.",
    )
    workers: int = Field(default=1, ge=1, le=64, description="Worker processes of `gong serve`.")
    public_url: str | None = Field(
        default=None,
        description="Base URL users reach Gong at, used in webhook URLs. "
        "Empty: `http://<host>:<port>`.",
    )
    timezone: str = Field(
        default="",
        validate_default=True,
        description="IANA time zone (`Asia/Shanghai`) of times Gong writes into messages, for "
        "groups that set none of their own. Empty: the machine's (`TZ`, `/etc/localtime`).",
    )
    default_language: str = Field(
        default="zh-CN",
        description="Language of the web app for people who chose none and whose browser asks "
        "for none Gong speaks, and of the CLI when `LANGUAGE`, `LC_ALL`, `LC_MESSAGES` and `LANG` "
        "name none: `zh-CN` or `en`.",
    )
    errmsg_dialect: Dialect = Field(
        default=Dialect.MODERN,
        description="`modern` (today's DingTalk wording) or `legacy` (the older English strings "
        "and codes 300001 / 130101).",
    )
    rate_limit_answer: RateLimitAnswer = Field(
        default=RateLimitAnswer.DOCUMENTED,
        description="The answer to a rate-limited call: `410100` (`发送速度太快而限流`, as "
        "documented; `130101` in the legacy dialect), `130101` (`send too fast, exceed 20 times "
        "per minute`, DingTalk until 2022) or `660026` (`sending too many messages per minute`, "
        "DingTalk as seen in 2026).",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated addresses or CIDR ranges of reverse proxies whose "
        "`X-Forwarded-For` / `X-Real-IP` give the real client address.",
    )
    sqlite_synchronous: Literal["NORMAL", "FULL", "EXTRA"] = Field(
        default="FULL",
        description="SQLite `synchronous` pragma. FULL survives power loss; NORMAL only a crash.",
    )
    config_refresh_seconds: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description="How often a server checks for robot and group changes made elsewhere.",
    )
    dedup_hours: int = Field(
        default=24, ge=1, description="How long a `msgUuid` is remembered per robot."
    )
    refusals_kept: int = Field(
        default=100, ge=1, description="Refused calls remembered per robot, newest first."
    )
    integration_max_body: int = Field(
        default=5_000_000,
        ge=MAX_BODY_BYTES,
        description="Largest body accepted from integration senders (GitHub, GitLab, …), in bytes.",
    )
    body_timeout: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Longest a client may take to send a request body, in seconds, from the "
        "first read; then the request is refused (robot API: errcode 40035; web app and REST "
        "API: HTTP 408) and the connection closed.",
    )
    template_time_limit: float = Field(
        default=1.0,
        gt=0,
        le=30,
        description="Longest a template robot's template may render, in seconds; then it is "
        "stopped and the delivery refused.",
    )
    template_max_output: int = Field(
        default=100_000,
        ge=1_000,
        le=10_000_000,
        description="Most characters a template robot's template may output.",
    )
    template_workers: int = Field(
        default=2,
        ge=1,
        le=16,
        description="Worker processes that render templates (template robots and previews) "
        "under hard time and memory limits; renders past what they and a short queue take are "
        "answered 系统繁忙 (errcode -1).",
    )
    template_memory_mb: int = Field(
        default=256,
        ge=32,
        le=16_384,
        description="Memory one template render may take in its worker process, in MB; past it "
        "the render is stopped and the delivery refused.",
    )
    relay_enabled: bool = Field(
        default=True,
        description="Run the relay worker in this process (forwards relayed robots' messages "
        "to their upstream).",
    )
    relay_poll_seconds: float = Field(
        default=0.5,
        gt=0,
        le=60,
        description="How often the relay looks for work queued by other processes.",
    )
    relay_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="Timeout of each request to an upstream."
    )
    relay_max_attempts: int = Field(
        default=25,
        ge=1,
        description="Attempts of one upstream send (network errors, HTTP 5xx, errcode -1) "
        "before it is dead-lettered. Throttle answers do not count.",
    )
    relay_backoff_max_seconds: int = Field(
        default=300,
        ge=1,
        description="Longest pause between attempts; pauses double from 1 s up to this.",
    )
    relay_retention_days: int = Field(
        default=7,
        ge=1,
        description="How long delivery records of sent or failed messages are kept.",
    )
    outgoing_allow_private: bool = Field(
        default=False,
        description="Let every outbound request (outgoing robot callbacks and relay sends to "
        "upstreams) reach loopback, private and link-local addresses (off: only public "
        "addresses; this server itself is refused always).",
    )
    outgoing_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="Timeout of each outgoing robot callback attempt."
    )
    outgoing_attempts: int = Field(
        default=3,
        ge=1,
        le=10,
        description="Attempts of one outgoing callback (network errors, timeouts and HTTP 5xx are "
        "retried; HTTP 4xx and malformed answers are not).",
    )
    outgoing_backoff_seconds: float = Field(
        default=0.5,
        ge=0,
        le=30,
        description="Pause before the second attempt of a callback; it doubles for each "
        "further one.",
    )
    admin_token: str | None = Field(
        default=None,
        description="If set, this admin API token is accepted in addition to stored ones.",
    )
    secret_key: str | None = Field(
        default=None,
        description="Key that signs web app session cookies. Empty: one is generated at first "
        "start and kept in the database, so every instance sharing it agrees.",
    )
    session_days: int = Field(
        default=14, ge=1, le=365, description="How long a web app sign-in lasts, in days."
    )
    login_attempts: int = Field(
        default=10,
        ge=1,
        description="Sign-in attempts allowed per minute, per client IP and per username; "
        "past it, sign-in is refused for 5 minutes (counted in the database, or in Redis when "
        "it is set, so a restart does not lift it).",
    )
    sse_heartbeat_seconds: float = Field(
        default=15.0,
        gt=0,
        le=300,
        description="How often the live event stream sends a heartbeat to idle browsers.",
    )
    demo: bool = Field(
        default=False,
        description="On a fresh database, create a demo group and robot and print a curl line.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO",
        description="Logging threshold. Libraries that would log requests, headers or SQL "
        "(httpx, httpcore, SQLAlchemy, aiosqlite, …) log only warnings and errors, even at DEBUG.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="`text` for people, `json` for log collectors."
    )
    access_log: bool = Field(
        default=False,
        description="Log one line per request, the robot API included (logger `gong.access`: "
        "method, path without its query string, status, time). Off: no request is logged; "
        "uvicorn's own access log, which would show query strings, is always off.",
    )

    @field_validator("data_dir", mode="before")
    @classmethod
    def _data_dir(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return default_data_dir()
        return value

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        from gong.i18n import LANGUAGES, language_of

        language = language_of(value)
        if language is None:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return language

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        value = value.strip() or server_zone()
        if not is_zone(value):
            raise ValueError(f"{value!r} is not an IANA time zone (for example Asia/Shanghai)")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            ipaddress.ip_network(entry, strict=False)
        return value

    @classmethod
    def load(cls, cwd: Path | None = None, **given: Any) -> Settings:
        """The settings from ``given`` (a command's options), the environment and the settings
        files.

        ``given`` wins over ``GONG_*`` environment variables, which win over a ``gong.env`` in
        the working directory (``cwd``), which wins over a ``gong.env`` in the data directory.
        The files read are in :attr:`files`.
        """
        local = (cwd or Path.cwd()) / "gong.env"
        files = [local] if local.is_file() else []
        settings = cls(_env_file=tuple(files) or None, **given)
        stored = settings.data_dir / "gong.env"
        if stored.is_file() and all(stored.resolve() != f.resolve() for f in files):
            files.insert(0, stored)
            settings = cls(_env_file=tuple(files), **given)
        settings._files = [f.resolve() for f in files]
        return settings

    @property
    def files(self) -> list[Path]:
        """The settings files :meth:`load` read, the weakest first."""
        return list(self._files)

    @property
    def database_path(self) -> Path | None:
        """The SQLite database file, when Gong uses SQLite."""
        url = self.sqlalchemy_url
        if not url.startswith("sqlite"):
            return None
        path = url.split(":///", 1)[1] if ":///" in url else ""
        return Path(path) if path and path != ":memory:" else None

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with the async driver SQLAlchemy needs."""
        url = self.database_url
        if not url:
            return f"sqlite+aiosqlite:///{(self.data_dir / 'gong.db').resolve()}"
        for prefix in ("postgresql://", "postgres://", "postgresql+psycopg://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix) :]
        if url.startswith("sqlite://") and "+aiosqlite" not in url:
            return "sqlite+aiosqlite://" + url[len("sqlite://") :]
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def message_url(self, group_id: int, message_id: int) -> str | None:
        """The web app's page showing the message in its group, for links written into
        messages sent elsewhere (digests, resolved lines); None without ``GONG_PUBLIC_URL``,
        since only a public URL reaches readers outside this machine."""
        if not self.public_url:
            return None
        return f"{self.base_url}/groups/{group_id}?at={message_id}#m-{message_id}"

    def webhook_url(self, access_token: str) -> str:
        return f"{self.base_url}/robot/send?access_token={access_token}"
