"""DingTalk clients that hard-code ``https://oapi.dingtalk.com`` reach Gong without a change to
their code: ``gong tls init`` makes a local CA and a certificate for that host, ``gong serve
--tls-port`` serves HTTPS with it, and the client process resolves the host to 127.0.0.1 (here a
resolver override loaded by the client's Python, as a hosts-file line would do) and trusts the
CA (``REQUESTS_CA_BUNDLE``, ``NODE_EXTRA_CA_CERTS``). Real clients, unpatched:
``dingtalk-webhook`` and ``apprise`` from PyPI, ``dingtalk-robot`` from npm
(``tests/clients/node``, installed with ``npm ci`` when missing)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.helpers import ADMIN, ServerProcess, free_port, gong_cli, need

NODE_CLIENTS = Path(__file__).resolve().parents[1] / "clients" / "node"

#: Loaded by the client's Python at start (``sitecustomize``): oapi.dingtalk.com:443 is Gong's
#: HTTPS port on 127.0.0.1. Nothing else about the client changes.
RESOLVER = textwrap.dedent(
    """
    import os, socket
    _real = socket.getaddrinfo
    _port = int(os.environ["GONG_TEST_TLS_PORT"])

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "oapi.dingtalk.com":
            return _real("127.0.0.1", _port, *args, **kwargs)
        return _real(host, port, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    """
)


@dataclass
class Site:
    server: ServerProcess
    group: int
    token: str
    secret: str
    ca: Path
    shim: Path
    tls_port: int


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data = tmp_path_factory.mktemp("tls")
    env = {"GONG_DATA_DIR": str(data)}
    gong_cli(["init"], env)
    files = json.loads(gong_cli(["tls", "init", "--name", "gong.internal"], env).stdout)
    assert set(files) == {"ca", "cert", "key"} and all(Path(p).is_file() for p in files.values())
    group = json.loads(gong_cli(["group", "create", "机房-北", "--json"], env).stdout)["id"]
    robot = json.loads(
        gong_cli(["robot", "create", str(group), "--name", "巡检", "--sign", "--json"], env).stdout
    )
    shim = data / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(RESOLVER)
    tls_port = free_port()
    server = ServerProcess(env={}, data_dir=data, args=["--tls-port", str(tls_port)])
    server.start()
    try:
        yield Site(
            server, group, robot["access_token"], robot["secret"], Path(files["ca"]), shim, tls_port
        )
    finally:
        server.stop()


def _client(site: Site, code: str, *, trust: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GONG_", "REQUESTS_", "SSL_"))}
    env.update(PYTHONPATH=str(site.shim), GONG_TEST_TLS_PORT=str(site.tls_port))
    if trust:
        env["REQUESTS_CA_BUNDLE"] = str(site.ca)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )


def _texts(site: Site) -> list[str]:
    answer = httpx.get(
        f"{site.server.url}/api/groups/{site.group}/messages", headers=ADMIN, timeout=10
    )
    return [
        m["content"]["text"]["content"] for m in answer.json()["messages"] if m["msgtype"] == "text"
    ]


def test_dingtalk_webhook_with_its_hard_coded_host(site: Site) -> None:
    code = (
        "import json; from dingtalk import DingTalk; "
        f"print(json.dumps(DingTalk({site.token!r}, {site.secret!r}).send_text('机房告警: 北区温度 41℃')))"
    )
    done = _client(site, code)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"errcode": 0, "errmsg": "ok"}
    assert "机房告警: 北区温度 41℃" in _texts(site)


def test_the_certificate_is_verified(site: Site) -> None:
    code = (
        "from dingtalk import DingTalk; "
        f"DingTalk({site.token!r}, {site.secret!r}).send_text('never arrives')"
    )
    done = _client(site, code, trust=False)  # without the CA: refused by the client itself
    assert done.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in done.stderr
    assert "never arrives" not in _texts(site)


def test_apprise_reaches_gong_and_its_double_encoded_sign_gets_a_hint(site: Site) -> None:
    """Apprise signs, then URL-encodes the signature twice: Gong (like DingTalk) refuses it,
    Apprise reports success anyway, and the refusal record says what went wrong."""
    code = (
        "import apprise; a = apprise.Apprise(); "
        f"a.add('dingtalk://{site.secret}@{site.token}/'); "
        "print(bool(a.notify(body='apprise via the hard-coded host')))"
    )
    done = _client(site, code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"  # what Apprise reports, though Gong refused the call
    refusals = httpx.get(
        f"{site.server.url}/api/robots/{_robot_id(site)}/refusals", headers=ADMIN, timeout=10
    ).json()
    assert refusals and refusals[0]["reason"] == "sign"
    assert refusals[0]["hint_code"] == "sign_encoded_twice"
    # Without the signature the same client posts fine (a keyword robot).
    env = {"GONG_DATA_DIR": str(site.server.data_dir)}
    open_robot = json.loads(
        gong_cli(
            [
                "robot",
                "create",
                str(site.group),
                "--name",
                "apprise",
                "--keyword",
                "apprise",
                "--json",
            ],
            env,
        ).stdout
    )
    code = (
        "import apprise; a = apprise.Apprise(); "
        f"a.add('dingtalk://{open_robot['access_token']}/'); "
        "print(bool(a.notify(body='apprise via the hard-coded host')))"
    )
    done = _client(site, code)
    assert done.returncode == 0 and done.stdout.strip() == "True", done.stderr
    assert "apprise via the hard-coded host" in _texts(site)


def _robot_id(site: Site) -> int:
    robots = httpx.get(
        f"{site.server.url}/api/groups/{site.group}/robots", headers=ADMIN, timeout=10
    ).json()
    return int(next(r["id"] for r in robots if r["access_token"] == site.token))


@pytest.fixture(scope="module")
def node_clients() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    need("Node.js and npm", bool(node and npm), "node or npm is not installed")
    if not (NODE_CLIENTS / "node_modules" / "dingtalk-robot").is_dir():
        done = subprocess.run(
            [str(npm), "ci", "--no-audit", "--no-fund"],
            cwd=NODE_CLIENTS,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    return NODE_CLIENTS


def test_an_npm_client_with_its_hard_coded_host(site: Site, node_clients: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GONG_", "NODE_"))}
    created = gong_cli(
        ["robot", "create", str(site.group), "--name", "node", "--keyword", "机房", "--json"],
        {"GONG_DATA_DIR": str(site.server.data_dir)},
    )
    token = json.loads(created.stdout)["access_token"]
    run = [
        str(shutil.which("node")),
        "--require",
        str(node_clients / "resolve-to-gong.js"),
        str(node_clients / "send.js"),
        token,
    ]
    env.update(GONG_TEST_TLS_PORT=str(site.tls_port), NODE_EXTRA_CA_CERTS=str(site.ca))
    done = subprocess.run(
        [*run, "机房巡检: node 客户端"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"errcode": 0, "errmsg": "ok"}
    assert "机房巡检: node 客户端" in _texts(site)
    # Without the CA, Node refuses the certificate.
    del env["NODE_EXTRA_CA_CERTS"]
    done = subprocess.run(
        [*run, "机房: never arrives"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0 and "certificate" in done.stderr.lower()
