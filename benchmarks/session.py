"""A user's session for benchmarks that act as one: requests carry the current access token,
which is renewed through the platform's own ``POST /api/v1/auth/refresh`` when it expires.

Access tokens live ``VEZA_ACCESS_TOKEN_TTL`` seconds (300 by default) and a benchmark's phases
may last an hour, so a benchmark keeps a `Session`, never one token. On a 401 ``token_expired``
the session refreshes once and sends the request again. Refresh tokens are single use (the
refresh token travels in the JSON body, the mode for clients that are not browsers): each
refresh spends one and returns the next, which the session keeps; presenting a spent one again
would sign the session out.

Requests go through a transport: the API in this process (`app_transport`, a Flask test client)
or a running server (`http_transport`).
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from veza.errors import VezaError

REFRESH_PATH = "/api/v1/auth/refresh"


@dataclass(frozen=True)
class Reply:
    """One answer of the API: its status and body."""

    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def code(self) -> str | None:
        """The problem's ``code`` (``token_expired``, ``invalid_token``...), if it is one."""
        try:
            doc = self.json()
        except ValueError:
            return None
        code = doc.get("code") if isinstance(doc, dict) else None
        return code if isinstance(code, str) else None


# method, path (with its query), headers, body -> the reply
Transport = Callable[[str, str, Mapping[str, str], bytes | None], Reply]


def app_transport(client: Any) -> Transport:
    """Send requests to the API in this process through a Flask test client."""

    def send(method: str, path: str, headers: Mapping[str, str], body: bytes | None) -> Reply:
        response = client.open(path, method=method, headers=dict(headers), data=body)
        return Reply(response.status_code, response.get_data())

    return send


def http_transport(base_url: str, *, timeout_s: float = 60.0) -> Transport:
    """Send requests to a running API at ``base_url`` (``http://host:port``)."""
    base = base_url.rstrip("/")

    def send(method: str, path: str, headers: Mapping[str, str], body: bytes | None) -> Reply:
        request = urllib.request.Request(f"{base}{path}", data=body, method=method,
                                         headers=dict(headers))
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                return Reply(response.status, response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return Reply(exc.code, exc.read())

    return send


class Session:
    """One account's session: its access and refresh tokens, renewed as the API asks."""

    def __init__(self, tokens: Mapping[str, Any], send: Transport | None = None) -> None:
        """``tokens`` as the API answers a login, a registration or a refresh; ``send`` may be
        set later (a benchmark that builds an app for each round points it at each one)."""
        self.access_token, self.refresh_token = _tokens(tokens)
        self.send = send
        self.refreshes = 0
        self._lock = threading.Lock()

    def request(self, method: str, path: str, *, body: bytes | None = None,
                json_body: Any = None, headers: Mapping[str, str] | None = None) -> Reply:
        """Send one request as this user; refresh once and send it again if the access token
        expired. Any other answer, a 401 included, is the caller's to judge."""
        sent = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent.setdefault("Content-Type", "application/json")
        token = self.access_token
        reply = self._send(method, path, {**sent, "Authorization": f"Bearer {token}"}, body)
        if reply.status != 401 or reply.code != "token_expired":
            return reply
        self._refresh(token)
        return self._send(method, path,
                          {**sent, "Authorization": f"Bearer {self.access_token}"}, body)

    def refresh(self) -> None:
        """Spend the refresh token for new tokens now.

        Raises:
            VezaError: if the API refuses it (the session was signed out, or the token expired
                or was already spent).
        """
        self._refresh(self.access_token)

    def _send(self, method: str, path: str, headers: Mapping[str, str],
              body: bytes | None) -> Reply:
        if self.send is None:
            raise VezaError("this session has no transport to send requests through",
                            code="benchmark_failed")
        return self.send(method, path, headers, body)

    def _refresh(self, stale: str) -> None:
        with self._lock:
            if self.access_token != stale:
                return  # another thread refreshed while this one's request was out
            reply = self._send("POST", REFRESH_PATH, {"Content-Type": "application/json"},
                               json.dumps({"refresh_token": self.refresh_token}).encode())
            if reply.status != 200:
                raise VezaError(f"the benchmark's session could not be refreshed: "
                                f"{REFRESH_PATH} answered {reply.status} "
                                f"{reply.body[:300].decode(errors='replace')}",
                                code="benchmark_failed")
            self.access_token, self.refresh_token = _tokens(reply.json())
            self.refreshes += 1


def _tokens(tokens: Any) -> tuple[str, str]:
    access = tokens.get("access_token") if isinstance(tokens, Mapping) else None
    refresh = tokens.get("refresh_token") if isinstance(tokens, Mapping) else None
    if not (isinstance(access, str) and access and isinstance(refresh, str) and refresh):
        raise VezaError("a session needs an access token and a refresh token (the JSON body "
                        "mode of /api/v1/auth, not the cookie mode)", code="benchmark_failed")
    return access, refresh
