# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: a minimal client for the Docker Engine API over its Unix
socket, standard library only. Request bodies travel over the socket (secret data included),
never on a command line."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import socket
from typing import Any, List, Mapping, Optional, Sequence, Tuple

try:
    from http.client import HTTPConnection
    from urllib.parse import quote, urlencode
except ImportError:  # pragma: no cover  # Python 2 is not supported by this collection
    HTTPConnection = object
    quote = urlencode = None

DEFAULT_SOCKET = "/var/run/docker.sock"


class DockerAPIError(Exception):
    def __init__(self, status: int, method: str, path: str, message: str) -> None:
        super(DockerAPIError, self).__init__("%s %s: HTTP %s: %s" % (method, path, status, message))
        self.status = status
        self.message = message


class _UnixConnection(HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        HTTPConnection.__init__(self, "localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


class DockerAPI:
    def __init__(self, socket_path: str = DEFAULT_SOCKET, timeout: float = 30) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    def raw(
        self, method: str, path: str, query: Optional[Mapping[str, Any]] = None, body: Any = None
    ) -> Tuple[int, bytes]:
        """(status, bytes) of one request."""
        if query:
            path = "%s?%s" % (path, urlencode(query))
        connection = _UnixConnection(self.socket_path, self.timeout)
        try:
            headers = {}
            data = None
            if body is not None:
                data = json.dumps(body).encode("utf-8")
                headers["Content-Type"] = "application/json"
            connection.request(method, path, body=data, headers=headers)
            reply = connection.getresponse()
            return reply.status, reply.read()
        finally:
            connection.close()

    def call(
        self,
        method: str,
        path: str,
        query: Optional[Mapping[str, Any]] = None,
        body: Any = None,
        ok: Sequence[int] = (200, 201, 204),
    ) -> Any:
        status, data = self.raw(method, path, query=query, body=body)
        if status not in ok:
            try:
                message = json.loads(data.decode("utf-8")).get("message", "")
            except ValueError:
                message = data.decode("utf-8", "replace")[:300]
            raise DockerAPIError(status, method, path.split("?", maxsplit=1)[0], message)
        if not data:
            return None
        try:
            return json.loads(data.decode("utf-8"))
        except ValueError:
            return data

    def get(self, path: str, **query: Any) -> Any:
        return self.call("GET", path, query=query or None)

    @staticmethod
    def filters(**values: Any) -> str:
        """The `filters` query parameter: {"label": ["a=b"]} as JSON."""
        return json.dumps(dict((k, v if isinstance(v, list) else [v]) for k, v in values.items()))

    @staticmethod
    def quote(value: str) -> str:
        return quote(value, safe="")


def demux_logs(data: bytes) -> List[str]:
    """Lines of a non-TTY container log stream (8-byte frame headers) or a TTY one."""
    out = []
    index = 0
    framed = len(data) >= 8 and data[0:1] in (b"\x00", b"\x01", b"\x02") and data[1:4] == b"\x00\x00\x00"
    if not framed:
        return data.decode("utf-8", "replace").splitlines()
    while index + 8 <= len(data):
        size = int.from_bytes(data[index + 4 : index + 8], "big")
        out.append(data[index + 8 : index + 8 + size])
        index += 8 + size
    return b"".join(out).decode("utf-8", "replace").splitlines()
