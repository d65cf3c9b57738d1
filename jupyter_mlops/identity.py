"""Who acts: the name recorded in the audit history and as a job's owner."""

from __future__ import annotations

import getpass
import os


def current_user() -> str:
    """Who is acting outside the server (a kernel, the CLI): `$JUPYTERHUB_USER`, else the login."""
    return os.environ.get("JUPYTERHUB_USER") or getpass.getuser()
