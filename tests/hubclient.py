"""A student at a class's JupyterHub, without a browser: log in with the Unix password, start JupyterLab,
run a notebook's cells in a kernel of it, over the hub's HTTPS and the kernel's WebSocket.

What a browser does when a student opens a notebook and presses Shift+Enter, through the same doors
(the hub's login form, its REST API, the proxy, the single-user server's kernels API), so the journey
"running a class" runs the students' cells where a class runs them: in a kernel the hub started as the
student, with the environment the hub gave it. test_hub walks the same in Chromium.
"""

from __future__ import annotations

import json
import ssl
import time
import uuid

import requests
import websocket


class HubStudent:
    """``user`` logged in at the hub ``base`` (https://127.0.0.1:PORT), trusting only the hub's ``cert``."""

    def __init__(self, base: str, user: str, password: str, cert: str) -> None:
        self.base, self.user, self.cert = base, user, cert
        self.session = requests.Session()
        self.session.verify = cert
        self.session.trust_env = False  # else REQUESTS_CA_BUNDLE in the environment overrides verify (requests#3829)
        self.token: str | None = None
        self.password = password

    def _log_in(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:  # the hub and its proxy take a few seconds to answer
            try:
                self.session.get(f"{self.base}/hub/login", timeout=10).raise_for_status()
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        xsrf = self.session.cookies.get("_xsrf", "")
        said = self.session.post(
            f"{self.base}/hub/login",
            data={"username": self.user, "password": self.password, "_xsrf": xsrf},
            timeout=60,
            allow_redirects=False,
        )
        assert said.status_code == 302, f"{self.user} could not log in at the hub: {said.status_code} {said.text[:300]}"
        made = self.session.post(
            f"{self.base}/hub/api/users/{self.user}/tokens",
            json={"note": "journey", "expires_in": 3600},
            headers={"X-XSRFToken": self.session.cookies.get("_xsrf", xsrf)},
            timeout=30,
        )
        assert made.status_code in (200, 201), made.text[:300]
        self.token = made.json()["token"]

    def _api(self, method: str, path: str, **kw) -> requests.Response:
        return self.session.request(method, f"{self.base}{path}", headers={"Authorization": f"token {self.token}"},
                                    timeout=60, **kw)  # fmt: skip

    def _server(self, timeout: float) -> None:
        self._api("POST", f"/hub/api/users/{self.user}/server")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            servers = self._api("GET", f"/hub/api/users/{self.user}").json().get("servers", {})
            if servers.get("", {}).get("ready"):
                return
            time.sleep(1)
        raise TimeoutError(f"{self.user}'s JupyterLab did not start in {timeout} s")

    def cells(self, cells: list[str], timeout: float) -> str:
        """Run ``cells`` in order in a new kernel of the student's JupyterLab; what they printed (stops at an error)."""
        if self.token is None:
            self._log_in(120)
        self._server(180)
        kernel = self._api("POST", f"/user/{self.user}/api/kernels", json={"name": "python3"})
        assert kernel.status_code == 201, kernel.text[:300]
        kid = kernel.json()["id"]
        url = f"{self.base.replace('https', 'wss', 1)}/user/{self.user}/api/kernels/{kid}/channels"
        ws = websocket.create_connection(
            url, header=[f"Authorization: token {self.token}"], sslopt={"ca_certs": self.cert, "cert_reqs": ssl.CERT_REQUIRED},
            timeout=timeout,
        )  # fmt: skip
        shown: list[str] = []
        try:
            for cell in cells:
                shown.append(self._execute(ws, cell, timeout))
        finally:
            ws.close()
            self._api("DELETE", f"/user/{self.user}/api/kernels/{kid}")
        return "".join(shown)

    def _execute(self, ws, code: str, timeout: float) -> str:
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": self.user, "session": uuid.uuid4().hex,
                       "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }))  # fmt: skip
        out: list[str] = []
        error: str | None = None
        idle = replied = False
        deadline = time.monotonic() + timeout
        while not (idle and replied):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.user}'s cell ran past {timeout} s; it printed:\n{''.join(out)}")
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind in ("execute_result", "display_data"):
                out.append(content.get("data", {}).get("text/plain", "") + "\n")
            elif kind == "error":
                error = "\n".join(content.get("traceback", [])) or f"{content['ename']}: {content['evalue']}"
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
            elif kind == "execute_reply":
                replied = True
        if error is not None:
            raise AssertionError(f"{self.user}'s cell failed in their JupyterLab:\n{code}\n{''.join(out)}{error}")
        return "".join(out)
