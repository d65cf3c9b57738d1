"""The Jupyter server extension: settings, routes, and services started in the background."""

from __future__ import annotations

import asyncio
import os
import threading
from typing import TYPE_CHECKING, Any

from jupyter_server.extension.application import ExtensionApp

from .config import SERVER_SETTINGS_ENV, MLOpsSettings, Settings, server_settings
from .server.base import ServiceHolder
from .server.routes import handlers

if TYPE_CHECKING:
    from .services import Services


#: Seconds after the server's loop starts before the store and worker are built.
START_DELAY = 1.0


class MLOpsApp(ExtensionApp, MLOpsSettings):
    """Model registry, dependency doctor, model hub and image builds for this workspace.

    Its settings are the traits of `MLOpsSettings` (`c.MLOpsApp.db_url = ...`)."""

    name = "jupyter_mlops"
    load_other_extensions = True

    def initialize_settings(self) -> None:
        """Work out the effective settings and hand them to the kernels and terminals this
        server starts (in `$JUPYTER_MLOPS_SERVER_SETTINGS`); hand the handlers a holder whose
        services (store, migrations, worker) are built in a thread once the server runs, so
        SQLAlchemy and Alembic never slow its start."""
        self._worker: Any = None
        self._handed_before = os.environ.get(SERVER_SETTINGS_ENV)
        self.effective: Settings | None = None
        self._settings_error: Exception | None = None
        try:
            self.effective = server_settings(self)
        except Exception as exc:  # said by every request (503) rather than stopping the server
            self.log.error("jupyter_mlops: the settings are not valid: %s", getattr(exc, "message", exc))
            self._settings_error = exc
        else:
            os.environ[SERVER_SETTINGS_ENV] = self.effective.handed_down()
            self.settings["mlops_settings"] = self.effective
        self._holder = ServiceHolder(self._build_services)
        self.settings["mlops_services"] = self._holder

    def initialize_handlers(self) -> None:
        self.handlers.extend(handlers())

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        # A moment after the loop runs, so importing SQLAlchemy in the background does not
        # hold the GIL while the server answers its first requests; a request that needs
        # the store before then starts it at once.
        asyncio.get_running_loop().call_later(START_DELAY, self._holder.start)

    def _build_services(self) -> Services:
        from .services import Services

        if self.effective is None:
            from .errors import Unavailable

            why = getattr(self._settings_error, "message", None) or str(self._settings_error)
            raise Unavailable(f"the jupyter_mlops settings are not valid: {why}")
        settings = self.effective
        try:
            services = Services(settings)
        except Exception as exc:
            self.log.error("jupyter_mlops: the store could not start: %s", exc)
            raise
        self.log.info("jupyter_mlops: workspace %s, store %s", services.workspace.root, settings.shown("db_url"))
        if settings.run_worker:
            from .jobs.worker import Worker

            self._worker = Worker(
                services.store,
                max_jobs=settings.max_jobs,
                scratch=services.workspace.state_dir,
                standby=True,
                place=services.jobs.place,
            )
            services.jobs.on_submit = self._worker.wake
            self._worker_thread = threading.Thread(target=self._worker.serve, name="mlops-worker", daemon=True)
            self._worker_thread.start()
        return services

    async def stop_extension(self) -> None:
        """Stop the worker (running jobs end and become interrupted); take the hand-down back."""
        if self._handed_before is None:
            os.environ.pop(SERVER_SETTINGS_ENV, None)
        else:
            os.environ[SERVER_SETTINGS_ENV] = self._handed_before
        if self._worker is not None:
            self._worker.stop()
            await asyncio.to_thread(self._worker_thread.join, 15)
