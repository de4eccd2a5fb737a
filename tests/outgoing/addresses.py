"""Every spelling of an address the outbound guard refuses, with the reason it gives: one list
for outgoing callbacks (tests/outgoing/test_guard.py) and relay upstreams (tests/relay/).

Each URL uses port 9, which the test settings' server does not serve, so the refusal is for the
address itself (a loopback address on this server's own port is refused as "this Gong server
itself"). Names and numeric spellings (``2130706433``, ``0x7f.0x0.0x0.0x1``) resolve without a
DNS server: the C library reads them, and ``localhost`` comes from /etc/hosts.
"""

from __future__ import annotations

HINT = "; GONG_OUTGOING_ALLOW_PRIVATE=1 allows internal addresses"
LOOPBACK = "a loopback address" + HINT
PRIVATE = "a private address" + HINT
LINK_LOCAL = "a link-local address" + HINT

#: (URL, what the refusal says after "… URL points at ").
REFUSED: list[tuple[str, str]] = [
    # loopback, in every spelling
    ("http://127.0.0.1:9/", "127.0.0.1, " + LOOPBACK),
    ("http://127.0.0.1:8080/robot/send?access_token=x", "127.0.0.1, " + LOOPBACK),
    ("http://127.1:9/", "127.1 (127.0.0.1), " + LOOPBACK),
    ("http://127.0.1:9/", "127.0.1 (127.0.0.1), " + LOOPBACK),
    ("http://127.255.255.254:9/", "127.255.255.254, " + LOOPBACK),
    ("http://2130706433:9/", "2130706433 (127.0.0.1), " + LOOPBACK),
    ("http://0x7f000001:9/", "0x7f000001 (127.0.0.1), " + LOOPBACK),
    ("http://0x7f.0x0.0x0.0x1:9/", "0x7f.0x0.0x0.0x1 (127.0.0.1), " + LOOPBACK),
    ("http://0177.0.0.1:9/", "0177.0.0.1 (127.0.0.1), " + LOOPBACK),
    ("http://017700000001:9/", "017700000001 (127.0.0.1), " + LOOPBACK),
    ("http://127.000.000.001:9/", "127.000.000.001 (127.0.0.1), " + LOOPBACK),
    ("http://localhost:9/", "localhost (127.0.0.1), " + LOOPBACK),
    ("http://LOCALHOST:9/", "localhost (127.0.0.1), " + LOOPBACK),
    ("http://[::1]:9/", "::1, " + LOOPBACK),
    ("http://[0:0:0:0:0:0:0:1]:9/", "0:0:0:0:0:0:0:1, " + LOOPBACK),
    ("http://[::ffff:127.0.0.1]:9/", "::ffff:127.0.0.1, " + LOOPBACK),
    ("http://[::ffff:7f00:1]:9/", "::ffff:7f00:1, " + LOOPBACK),
    # IPv6 forms that carry a refused IPv4 address
    (
        "http://[::127.0.0.1]:9/",
        "::127.0.0.1, an IPv4-compatible address of 127.0.0.1, " + LOOPBACK,
    ),
    (
        "http://[::ffff:0:127.0.0.1]:9/",
        "::ffff:0:127.0.0.1, an IPv4-translated address of 127.0.0.1, " + LOOPBACK,
    ),
    ("http://[2002:7f00:1::]:9/", "2002:7f00:1::, a 6to4 address of 127.0.0.1, " + LOOPBACK),
    (
        "http://[64:ff9b::127.0.0.1]:9/",
        "64:ff9b::127.0.0.1, a NAT64 address of 127.0.0.1, " + LOOPBACK,
    ),
    (
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:9/",
        "2001:0:4136:e378:8000:63bf:80ff:fffe, a Teredo address of 127.0.0.1, " + LOOPBACK,
    ),
    ("http://[2002:a00:1::]:9/", "2002:a00:1::, a 6to4 address of 10.0.0.1, " + PRIVATE),
    (
        "http://[64:ff9b::10.0.0.1]:9/",
        "64:ff9b::10.0.0.1, a NAT64 address of 10.0.0.1, " + PRIVATE,
    ),
    ("http://[64:ff9b:1::a00:1]:9/", "64:ff9b:1::a00:1, " + PRIVATE),
    (
        "http://[64:ff9b::169.254.169.254]:9/",
        "64:ff9b::169.254.169.254, a NAT64 address of 169.254.169.254, " + LINK_LOCAL,
    ),
    (
        "http://[2002:a9fe:a9fe::]:9/",
        "2002:a9fe:a9fe::, a 6to4 address of 169.254.169.254, " + LINK_LOCAL,
    ),
    (
        "http://[2001:0:5db8:d822:0:0:a247:27dd]:9/",
        "2001:0:5db8:d822:0:0:a247:27dd, a Teredo address (a tunnel to an IPv4 address hidden "
        "in it)" + HINT,
    ),
    # this machine, always
    ("http://0.0.0.0:9/", "0.0.0.0, the unspecified address"),
    ("http://0:9/", "0 (0.0.0.0), the unspecified address"),
    ("http://[::]:9/", "::, the unspecified address"),
    # private and shared
    ("http://10.0.0.1:9/", "10.0.0.1, " + PRIVATE),
    ("http://10.255.255.254:9/", "10.255.255.254, " + PRIVATE),
    ("http://0xa000001:9/", "0xa000001 (10.0.0.1), " + PRIVATE),
    ("http://172.16.0.1:9/", "172.16.0.1, " + PRIVATE),
    ("http://172.31.255.254:9/", "172.31.255.254, " + PRIVATE),
    ("http://192.168.0.1:9/", "192.168.0.1, " + PRIVATE),
    ("http://100.64.0.1:9/", "100.64.0.1, " + PRIVATE),
    ("http://[fd00::1]:9/", "fd00::1, " + PRIVATE),
    ("http://[fc00::1]:9/", "fc00::1, " + PRIVATE),
    ("http://[::ffff:10.0.0.1]:9/", "::ffff:10.0.0.1, " + PRIVATE),
    # link-local: cloud metadata
    ("http://169.254.169.254:9/latest/meta-data/", "169.254.169.254, " + LINK_LOCAL),
    ("http://2852039166:9/", "2852039166 (169.254.169.254), " + LINK_LOCAL),
    ("http://[::ffff:169.254.169.254]:9/", "::ffff:169.254.169.254, " + LINK_LOCAL),
    ("http://[fe80::1]:9/", "fe80::1, " + LINK_LOCAL),
    ("http://[fe80::1%25eth0]:9/", "fe80::1%25eth0, " + LINK_LOCAL),
    # multicast, always
    ("http://224.0.0.1:9/", "224.0.0.1, a multicast address"),
    ("http://239.255.255.250:9/", "239.255.255.250, a multicast address"),
    ("http://[ff02::1]:9/", "ff02::1, a multicast address"),
    (
        "http://[2002:e000:1::]:9/",
        "2002:e000:1::, a 6to4 address of 224.0.0.1, a multicast address",
    ),
    # reserved, broadcast, benchmarking and documentation ranges
    ("http://255.255.255.255:9/", "255.255.255.255, " + PRIVATE),
    ("http://240.0.0.1:9/", "240.0.0.1, " + PRIVATE),
    ("http://198.18.0.1:9/", "198.18.0.1, " + PRIVATE),
    ("http://192.0.2.1:9/", "192.0.2.1, " + PRIVATE),
    ("http://[2001:db8::1]:9/", "2001:db8::1, " + PRIVATE),
    # this Gong server (the test settings' public URL)
    ("http://gong.test/robot/send", "this Gong server itself"),
]


def refusals(subject: str, why: str) -> set[str]:
    """The messages that say ``why`` (``localhost`` may resolve to ::1 first elsewhere)."""
    message = f"{subject} points at {why}"
    return {message, message.replace("localhost (127.0.0.1)", "localhost (::1)")}
