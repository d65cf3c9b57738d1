"""The Jupyter server extension: configuration, routes, and services started in the background."""
from __future__ import annotations

import asyncio
import os
import threading
from typing import TYPE_CHECKING, Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Dict, Int, List, Unicode, default

from .server.base import ServiceHolder
from .server.routes import handlers

if TYPE_CHECKING:
    from .services import Services


#: Seconds after the server's loop starts before the store and worker are built.
START_DELAY = 1.0


class MLOpsApp(ExtensionApp):
    """Model registry, dependency doctor, model hub and image builds for this workspace."""

    name = "jupyter_mlops"
    load_other_extensions = True

    workspace_dir = Unicode(
        "", config=True, help="Workspace folder holding .mlops/ (default: the server's root_dir)."
    )
    db_url = Unicode(
        "", config=True,
        help="SQLAlchemy URL of the store (default: sqlite:///<workspace>/.mlops/mlops.db); "
             "a PostgreSQL URL lets a team share one registry.",
    )
    models_dir = Unicode(
        "", config=True, help="Model cache folder, Hugging Face layout (default: <workspace>/models)."
    )
    protected_packages = List(
        Unicode(), config=True,
        help="Distribution names or globs the dependency doctor never replaces, on top of torch, torchvision, "
             "torchaudio, triton, pytorch-triton-rocm, nvidia-* and rocm-* (and any +rocm/+cu/+xpu build).",
    )
    hf_endpoint = Unicode(
        config=True,
        help="Hugging Face Hub URL model downloads use (default: $HF_ENDPOINT, else https://huggingface.co).",
    )
    download_disk_margin = Int(
        1 << 30, config=True,
        help="Bytes that must stay free on the model cache's disk after a download; a download that "
             "would leave less is refused before it starts.",
    )

    docker_host = Unicode(
        "", config=True,
        help="Docker daemon image builds use, e.g. unix:///run/user/1000/docker.sock (default: $DOCKER_HOST, "
             "else unix:///var/run/docker.sock).",
    )
    build_base_images = Dict(
        value_trait=Unicode(), config=True,
        help="Base image of generated Dockerfiles by accelerator target: keys rocm, cuda, cpu (defaults "
             "rocm/pytorch:latest, pytorch/pytorch:latest, python:3.12-slim).",
    )

    @default("hf_endpoint")
    def _default_hf_endpoint(self) -> str:
        return os.environ.get("HF_ENDPOINT") or "https://huggingface.co"

    max_jobs = Int(2, config=True, help="How many jobs the server's worker runs at once.")
    run_worker = Bool(True, config=True, help="Run the job worker inside the server.")

    def initialize_settings(self) -> None:
        """Hand the handlers a holder; the services (store, migrations, worker) are built
        in a thread once the server runs, so SQLAlchemy and Alembic never slow its start."""
        self._worker: Any = None
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
        from .workspace import resolve

        root = self.workspace_dir or self.serverapp.root_dir
        try:
            services = Services(resolve(root, self.db_url or None, self.models_dir or None),
                                protected_packages=self.protected_packages, hf_endpoint=self.hf_endpoint,
                                download_disk_margin=self.download_disk_margin, docker_host=self.docker_host,
                                build_base_images=self.build_base_images)
        except Exception as exc:
            self.log.error("jupyter_mlops: the store could not start: %s", exc)
            raise
        self.log.info("jupyter_mlops: workspace %s, store %s", services.workspace.root, services.store.url)
        if self.run_worker:
            from .jobs.worker import Worker

            self._worker = Worker(services.store, max_jobs=self.max_jobs, scratch=services.workspace.state_dir,
                                  standby=True)
            services.jobs.on_submit = self._worker.wake
            self._worker_thread = threading.Thread(target=self._worker.serve, name="mlops-worker", daemon=True)
            self._worker_thread.start()
        return services

    async def stop_extension(self) -> None:
        """Stop the worker: running jobs end and become interrupted."""
        if self._worker is not None:
            self._worker.stop()
            await asyncio.to_thread(self._worker_thread.join, 15)
