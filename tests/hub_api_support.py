"""A JupyterHub-API-compatible HTTP server on 127.0.0.1, for the group membership a kernel,
the CLI or a server under Jupyter's own login asks the Hub for (`identity.current_actor`)."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class HubAPI:
    """A JupyterHub-API-compatible server on 127.0.0.1: `GET /hub/api/user` answers the
    model of the user a token belongs to (`users`: token -> model), else 403."""

    def __init__(self, users: dict[str, dict[str, Any]]) -> None:
        self.users = users
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
                model = hub.users.get(token) if scheme == "token" and self.path == "/hub/api/user" else None
                body = json.dumps(model or {"status": 403, "message": "Forbidden"}).encode()
                self.send_response(200 if model else 403)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hub/api"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
