"""The nginx configuration in front of the dashboard's replicas, rendered from nginx.conf.template.

Pure Python (no streamlit, no nginx needed to render), so it is tested on its own and used in
three places: `make class` (deploy/class_server.py: replicas on loopback ports, nginx run as
the current user from a temporary folder), the compose file (deploy/compose.nginx.conf,
regenerated with `python -m deploy.nginx_config --compose`), and the tests.

Example:
    plan = ProxyPlan(replicas=("127.0.0.1:8601", "127.0.0.1:8602"), listen="0.0.0.0:8501",
                     run_dir="/tmp/lstm-class")
    text = render(plan)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import socket
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
COMPOSE_CONFIG = Path(__file__).resolve().parent / "compose.nginx.conf"

COOKIE = "lstm_replica"
# Host names every deployment answers to. IP literals are accepted too: DNS rebinding needs a
# name the attacker controls, and students often type the server's address.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
IP_LITERALS = (r'"~^\d{1,3}(\.\d{1,3}){3}$"', r'"~^\[[0-9a-fA-F:.]+\]$"')  # quoted: braces

_HOST_NAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$")
_ADDRESS = re.compile(r"^[A-Za-z0-9.\-]+:\d{1,5}$")
_RATE = re.compile(r"^\d+r/[sm]$")
_SIZE = re.compile(r"^\d+[km]?$")
_DURATION = re.compile(r"^\d+[smh]?$")


@dataclasses.dataclass(frozen=True)
class ProxyPlan:
    """Everything the nginx configuration depends on.

    Args:
        replicas: each Streamlit replica as "host:port" (loopback ports for `make class`,
            service names in compose). Replica i is called r<i> in the cookie and X-Replica.
        listen: nginx's own "address:port" (or just a port).
        run_dir: where nginx keeps its pid file and temporary files (must be writable).
        hosts: extra host names students may type (the school's DNS name); localhost, this
            machine's names and IP literals are always accepted.
        add_machine_names: also accept socket.gethostname() and getfqdn() (off for compose,
            where the machine is not known when the file is written).
        error_log, access_log: file paths, or "stderr" / "/dev/stdout" in a container.
        user: the user nginx's worker runs as; needed only when nginx is started by root
            (None: no `user` line, nginx's default).
        upload_max_body: the upload request's body cap (1 MiB file + multipart framing).
        upload_rate, upload_burst: per client address, for /_stcore/upload_file/.
        websocket_timeout: how long a silent WebSocket is kept open.
    """

    replicas: tuple[str, ...]
    listen: str
    run_dir: str
    hosts: tuple[str, ...] = ()
    add_machine_names: bool = True
    error_log: str = "stderr"
    access_log: str = "off"
    user: str | None = None
    upload_max_body: str = "1040k"
    upload_rate: str = "20r/m"
    upload_burst: int = 10
    websocket_timeout: str = "3600s"

    def __post_init__(self):
        if not self.replicas:
            raise ValueError("at least one replica is needed")
        for address in self.replicas:
            if not _ADDRESS.match(address):
                raise ValueError(f"a replica is host:port, got {address!r}")
        if len(set(self.replicas)) != len(self.replicas):
            raise ValueError(f"the replicas must differ: {self.replicas}")
        if not re.match(r"^([0-9.]+:|\[[0-9a-fA-F:]+\]:)?\d{1,5}$", self.listen):
            raise ValueError(f"listen is [address:]port, got {self.listen!r}")
        for host in self.hosts:
            if not _HOST_NAME.match(host):
                raise ValueError(f"not a host name: {host!r}")
        for value, pattern, what in (
            (self.upload_rate, _RATE, "upload_rate (e.g. 20r/m)"),
            (self.upload_max_body, _SIZE, "upload_max_body (e.g. 1040k)"),
            (self.websocket_timeout, _DURATION, "websocket_timeout (e.g. 3600s)"),
        ):
            if not pattern.match(value):
                raise ValueError(f"{what}: got {value!r}")
        if self.upload_burst < 0:
            raise ValueError("upload_burst must be >= 0")
        for path in (self.run_dir, self.error_log, self.access_log):
            if not path or re.search(r"[\s;{}'\"]", path):
                raise ValueError(f"a path for nginx must not contain spaces, quotes, braces or ';': {path!r}")

    @property
    def replica_names(self) -> tuple[str, ...]:
        return tuple(f"r{index}" for index in range(len(self.replicas)))

    def server_names(self) -> list[str]:
        names = list(LOCAL_HOSTS)
        if self.add_machine_names:
            for name in (socket.gethostname(), socket.getfqdn()):
                if name and _HOST_NAME.match(name):
                    names.append(name)
        names.extend(self.hosts)
        unique = list(dict.fromkeys(name.lower() for name in names))
        return unique + list(IP_LITERALS)


def _quote(text: str) -> str:
    """A double-quoted nginx string (our texts hold no quote; a regex's backslashes stay as they are)."""
    if '"' in text:
        raise ValueError(f"no quotes here: {text!r}")
    return f'"{text}"'


def render(plan: ProxyPlan, template: Path = TEMPLATE) -> str:
    """The nginx.conf text for `plan`."""
    names = plan.replica_names
    # max_fails=0: a replica is never taken out of rotation for a while because of one failed
    # request (a replica that refuses an upload early and closes the connection is such a
    # "failure"); a refused connection still moves that one request on to the next server.
    any_servers = "\n".join(f"        server {address} max_fails=0;" for address in plan.replicas)
    groups = []
    for name, address in zip(names, plan.replicas):
        lines = [f"    upstream lstm_{name} {{", f"        server {address} max_fails=0;"]
        lines += [f"        server {other} backup;" for other in plan.replicas if other != address]
        groups.append("\n".join(lines + ["    }"]))
    cookie_to_upstream = "\n".join(f"        {name} lstm_{name};" for name in names)
    address_to_replica = "\n".join(
        f"        {_quote('~(^|, )' + re.escape(address) + '$')} {name};" for name, address in zip(names, plan.replicas)
    )
    values = {
        "USER_LINE": f"user {plan.user};" if plan.user else "# (no `user` line: the worker runs as whoever starts nginx)",
        "RUN_DIR": plan.run_dir,
        "ERROR_LOG": plan.error_log,
        "ACCESS_LOG": plan.access_log,
        "COOKIE": COOKIE,
        "ANY_SERVERS": any_servers,
        "REPLICA_UPSTREAMS": "\n".join(groups),
        "COOKIE_TO_UPSTREAM": cookie_to_upstream,
        "ADDRESS_TO_REPLICA": address_to_replica,
        "LISTEN": plan.listen,
        "SERVER_NAMES": " ".join(plan.server_names()),
        "UPLOAD_RATE": plan.upload_rate,
        "UPLOAD_BURST": str(plan.upload_burst),
        "UPLOAD_MAX_BODY": plan.upload_max_body,
        "WS_TIMEOUT": plan.websocket_timeout,
    }
    text = template.read_text(encoding="utf-8")
    text = re.sub(r"@([A-Z_]+)@", lambda match: values[match.group(1)], text)
    return text


def worker_user() -> str | None:
    """The `user` line's value when nginx is started by root (its worker would otherwise run as
    nobody, who cannot write our temporary folder); None for anyone else (no line needed)."""
    if os.geteuid() != 0:
        return None
    import grp
    import pwd

    entry = pwd.getpwuid(os.geteuid())
    return f"{entry.pw_name} {grp.getgrgid(entry.pw_gid).gr_name}"


def compose_plan(replicas: int = 2, hosts: tuple[str, ...] = ()) -> ProxyPlan:
    """The plan of the compose file: services app1..appN on port 8501, nginx unprivileged on 8080."""
    return ProxyPlan(
        replicas=tuple(f"app{index}:8501" for index in range(1, replicas + 1)),
        listen="8080",
        run_dir="/tmp",
        hosts=hosts,
        add_machine_names=False,
        error_log="stderr",
        access_log="/dev/stdout",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compose", action="store_true", help=f"write the compose file's config to {COMPOSE_CONFIG.name}")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--hosts", default="", help="comma-separated extra host names")
    args = parser.parse_args(argv)
    hosts = tuple(host for host in args.hosts.split(",") if host)
    if not args.compose:
        parser.error("only --compose is rendered from here; `make class` renders its own")
    text = render(compose_plan(args.replicas, hosts))
    COMPOSE_CONFIG.write_text(text, encoding="utf-8")
    print(f"wrote {COMPOSE_CONFIG} ({args.replicas} replicas)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

