"""Run a lesson as a student does, through a Jupyter server's own API: REST for the session, a websocket for
the kernel. The class test (``tests/hub``) and the capacity benchmark (``benchmarks/hub_capacity.py``) use
it to drive many students' servers behind a JupyterHub at once.

::

    server = ServerClient("http://127.0.0.1:8000/user/ada/", token)
    result = server.run_notebook("advlab/03_adversarial_examples.ipynb")
    result.ok, result.seconds, result.errors

Each code cell is sent as one ``execute_request`` on the kernel's websocket (the Jupyter messaging protocol,
as JupyterLab sends it); its outputs are collected until the kernel is idle again. Nothing here imports the
course's helpers or TensorFlow: it runs anywhere ``requests`` and ``websocket-client`` do.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import time
import urllib.parse
import uuid

import requests
import websocket


class KernelDied(RuntimeError):
    """The kernel died (or was restarted) while a cell ran."""


@dataclasses.dataclass
class CellResult:
    index: int
    outputs: list[dict]
    seconds: float


@dataclasses.dataclass
class RunResult:
    """One lesson run: the outputs of every code cell that ran, and what went wrong, if anything."""

    path: str
    cells: list[CellResult]
    seconds: float
    errors: list[str]
    kernel_id: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors

    def text(self) -> str:
        """Everything the cells printed (streams and plain-text results), in order."""
        parts = []
        for cell in self.cells:
            for output in cell.outputs:
                if output.get("output_type") == "stream":
                    parts.append(output.get("text", ""))
                elif "data" in output:
                    parts.append(output["data"].get("text/plain", ""))
        return "".join(parts)


class ServerClient:
    """A student's single-user Jupyter server, reached at ``base_url`` (ending in ``/``) with an API ``token``."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 30.0):
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.token = token
        self.timeout = timeout
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"token {token}"

    def api(self, method: str, path: str, **kwargs):
        response = self.http.request(method, self.base_url + "api/" + path, timeout=self.timeout, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def contents(self, path: str) -> dict:
        return self.api("GET", f"contents/{urllib.parse.quote(path)}")

    def start_session(self, path: str, kernel: str = "python3") -> str:
        """Open ``path`` as a notebook session (as JupyterLab does when a student opens it); returns the kernel id."""
        session = self.api("POST", "sessions", json={"path": path, "type": "notebook", "name": path.split("/")[-1],
                                                     "kernel": {"name": kernel}})
        return session["kernel"]["id"]

    def restart_kernel(self, kernel_id: str) -> None:
        self.api("POST", f"kernels/{kernel_id}/restart")

    def kernel_status(self, kernel_id: str) -> str:
        return self.api("GET", f"kernels/{kernel_id}")["execution_state"]

    def wait_ready(self, kernel_id: str, timeout: float = 120.0) -> None:
        """Wait until the kernel answers a ``kernel_info_request`` (as JupyterLab does before it runs anything).

        The server reports a new kernel as "starting" until a client connects, so asking it is not enough.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                ws = self._socket(kernel_id)
            except (websocket.WebSocketException, OSError):
                time.sleep(1)
                continue
            try:
                msg_id = self._send(ws, "kernel_info_request", {})
                asked = time.monotonic()
                while time.monotonic() < min(deadline, asked + 10):
                    ws.settimeout(2)
                    try:
                        msg = json.loads(ws.recv() or "{}")
                    except websocket.WebSocketTimeoutException:
                        continue
                    if msg.get("msg_type") == "kernel_info_reply" and \
                            msg.get("parent_header", {}).get("msg_id") == msg_id:
                        return
            except (websocket.WebSocketException, OSError):
                time.sleep(1)
            finally:
                ws.close()
        raise TimeoutError(f"kernel {kernel_id} did not answer within {timeout:.0f} s")

    @staticmethod
    def _send(ws: websocket.WebSocket, msg_type: str, content: dict) -> str:
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": msg_type, "session": uuid.uuid4().hex,
                       "username": "student", "version": "5.3",
                       "date": datetime.datetime.now(datetime.timezone.utc).isoformat()},
            "parent_header": {}, "metadata": {}, "buffers": [], "channel": "shell", "content": content}))
        return msg_id

    def _socket(self, kernel_id: str) -> websocket.WebSocket:
        url = self.base_url.replace("http", "ws", 1) + f"api/kernels/{kernel_id}/channels"
        return websocket.create_connection(url, header=[f"Authorization: token {self.token}"], timeout=self.timeout)

    def execute(self, ws: websocket.WebSocket, code: str, timeout: float) -> list[dict]:
        """Run ``code`` in the kernel behind ``ws``; return its outputs (nbformat-like dicts).

        Raises :class:`KernelDied` when the kernel dies or restarts meanwhile, ``TimeoutError`` after ``timeout``.
        """
        msg_id = self._send(ws, "execute_request", {"code": code, "silent": False, "store_history": True,
                                                    "user_expressions": {}, "allow_stdin": False,
                                                    "stop_on_error": True})
        outputs, idle, replied = [], False, False
        deadline = time.monotonic() + timeout
        while not (idle and replied):
            ws.settimeout(max(1.0, min(30.0, deadline - time.monotonic())))
            try:
                raw = ws.recv()
            except websocket.WebSocketTimeoutException:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"a cell ran for more than {timeout:.0f} s") from None
                continue
            except (websocket.WebSocketConnectionClosedException, ConnectionError) as error:
                raise KernelDied(f"the kernel's connection closed: {error}") from None
            if not raw:
                raise KernelDied("the kernel's connection closed")
            msg = json.loads(raw)
            kind, content = msg.get("msg_type") or msg["header"]["msg_type"], msg.get("content", {})
            if kind == "status" and content.get("execution_state") in ("restarting", "dead", "autorestarting"):
                raise KernelDied(f"the kernel is {content['execution_state']}")
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if kind == "status" and content.get("execution_state") == "idle":
                idle = True
            elif kind == "execute_reply":
                replied = True
            elif kind == "stream":
                outputs.append({"output_type": "stream", "name": content["name"], "text": content["text"]})
            elif kind in ("display_data", "execute_result"):
                outputs.append({"output_type": kind, "data": content.get("data", {})})
            elif kind == "error":
                outputs.append({"output_type": "error", "ename": content["ename"], "evalue": content["evalue"]})
        return outputs

    def run_notebook(self, path: str, *, cell_timeout: float = 300.0, kernel_id: str | None = None,
                     on_cell=None) -> RunResult:
        """Run every code cell of the notebook at ``path`` (relative to the server's root) top to bottom.

        Stops at the first error (as *Run All* does) or when the kernel dies. ``on_cell(index)`` is called before
        each code cell runs (a test can kill the kernel at a chosen cell).
        """
        notebook = self.contents(path)["content"]
        kernel_id = kernel_id or self.start_session(path)
        self.wait_ready(kernel_id)
        started = time.perf_counter()
        cells, errors = [], []
        ws = self._socket(kernel_id)
        try:
            for index, cell in enumerate(notebook["cells"]):
                if cell["cell_type"] != "code" or not "".join(cell["source"]).strip():
                    continue
                if on_cell is not None:
                    on_cell(index)
                cell_start = time.perf_counter()
                try:
                    outputs = self.execute(ws, "".join(cell["source"]), cell_timeout)
                except (KernelDied, TimeoutError) as error:
                    errors.append(f"cell {index}: {error}")
                    break
                cells.append(CellResult(index, outputs, time.perf_counter() - cell_start))
                failed = [f"cell {index}: {o['ename']}: {o['evalue']}" for o in outputs if o["output_type"] == "error"]
                if failed:
                    errors.extend(failed)
                    break
        finally:
            ws.close()
        return RunResult(path, cells, time.perf_counter() - started, errors, kernel_id)

    def run_code(self, code: str, *, timeout: float = 120.0) -> RunResult:
        """:func:`run_code` on this server."""
        return run_code(self, code, timeout=timeout)


def run_code(server: ServerClient, code: str, *, timeout: float = 120.0) -> RunResult:
    """Run one piece of code in a fresh kernel of ``server`` (then shut it down); returns its outputs."""
    kernel_id = server.api("POST", "kernels", json={"name": "python3"})["id"]
    started = time.perf_counter()
    try:
        server.wait_ready(kernel_id)
        ws = server._socket(kernel_id)
        try:
            outputs = server.execute(ws, code, timeout)
        finally:
            ws.close()
    finally:
        try:
            server.api("DELETE", f"kernels/{kernel_id}")
        except requests.RequestException:
            pass
    errors = [f"{o['ename']}: {o['evalue']}" for o in outputs if o["output_type"] == "error"]
    return RunResult("<code>", [CellResult(0, outputs, time.perf_counter() - started)], time.perf_counter() - started,
                     errors, kernel_id)
