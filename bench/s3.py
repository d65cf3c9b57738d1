"""Object storage speed: fetch and publish of a model of 1 GB in 10 files against an S3 server
on 127.0.0.1 (`rclone serve s3`), through our jobs (run by a worker set up as the server's)
vs `rclone copy` of the same files on the same server (the peer), alternating, each run into
an empty cache / a fresh prefix; prints medians, the ratios (target <= 1.10) and how often
progress reached the store during each transfer (target >= 2 updates a second).

    python bench/s3.py [--runs 5 --mb 1000 --files 10]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from s3_support import S3Server, start_rclone  # noqa: E402

BUCKET = "bench"


class Ours:
    """Services and a worker thread with a standby runner, as the server runs them."""

    def __init__(self, root: Path, server: S3Server) -> None:
        from jupyter_mlops.config import Settings
        from jupyter_mlops.jobs.worker import Worker
        from jupyter_mlops.services import Services

        self.services = Services(Settings.of(root, models_dir=str(root / "models"), s3_endpoint_url=server.endpoint,
                                             s3_addressing_style="path", download_disk_margin=0))
        self.worker = Worker(self.services.store, standby=True, place=self.services.jobs.place)
        self.services.jobs.on_submit = self.worker.wake
        self.thread = threading.Thread(target=self.worker.serve, daemon=True)
        self.thread.start()
        time.sleep(3)  # the server has been up a while: its standby runner is ready

    def run(self, start: Any) -> tuple[float, float]:
        """Seconds from submitting the job to its success, and progress updates a second seen in the store."""
        seen: list[float] = []
        t0 = time.perf_counter()
        job = start()
        deadline = time.monotonic() + 600
        last, final = None, None
        while time.monotonic() < deadline:  # bounded
            final = self.services.jobs.get(job["id"])
            if final["state"] not in ("queued", "running"):
                break
            done = final["progress"]["done"]
            if done != last and final["progress"]["unit"] == "B":
                if done:
                    seen.append(time.monotonic())
                last = done
            time.sleep(0.02)
        elapsed = time.perf_counter() - t0
        if final is None or final["state"] != "succeeded":
            raise RuntimeError(f"the job ended {final and final['state']}: {final and final['error']}")
        span = seen[-1] - seen[0] if len(seen) > 1 else 0.0
        return elapsed, (len(seen) - 1) / span if span > 0 else 0.0

    def stop(self) -> None:
        self.worker.stop()
        self.thread.join(30)
        self.services.store.dispose()


def rclone_copy(server: S3Server, source: str, destination: str) -> float:
    """Seconds for `rclone copy source destination` (a remote `s3:` of the server, defaults otherwise)."""
    env = {**os.environ, "RCLONE_CONFIG_S3_TYPE": "s3", "RCLONE_CONFIG_S3_PROVIDER": "Other",
           "RCLONE_CONFIG_S3_ENDPOINT": server.endpoint, "RCLONE_CONFIG_S3_ACCESS_KEY_ID": server.key,
           "RCLONE_CONFIG_S3_SECRET_ACCESS_KEY": server.secret, "RCLONE_CONFIG_S3_FORCE_PATH_STYLE": "true"}
    rclone = shutil.which("rclone") or str(Path(sys.executable).parent / "rclone")
    t0 = time.perf_counter()
    subprocess.run([rclone, "copy", "--config", "/dev/null", source, destination], env=env, check=True,
                   capture_output=True, timeout=600)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mb", type=int, default=1000)
    parser.add_argument("--files", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-s3-") as tmp:
        base = Path(tmp)
        server = start_rclone(base / "s3")
        os.environ.update(AWS_ACCESS_KEY_ID=server.key, AWS_SECRET_ACCESS_KEY=server.secret, AWS_REGION="us-east-1",
                          AWS_CONFIG_FILE=str(base / "none"), AWS_SHARED_CREDENTIALS_FILE=str(base / "none"),
                          AWS_EC2_METADATA_DISABLED="true")
        try:
            model = base / "workspace" / "model"
            model.mkdir(parents=True)
            per_file = args.mb * 1_000_000 // args.files
            for i in range(args.files):
                with open(model / f"model-{i:05d}-of-{args.files:05d}.safetensors", "wb") as f:
                    f.write(os.urandom(per_file))
            server.client().create_bucket(Bucket=BUCKET)
            ours = Ours(base / "workspace", server)
            cache = base / "workspace" / "models"
            times: dict[str, list[float]] = {k: [] for k in ("ours fetch", "rclone fetch", "ours publish",
                                                              "rclone publish")}
            rates: dict[str, list[float]] = {"fetch": [], "publish": []}
            # the model on the server once, for the fetches
            rclone_copy(server, str(model), f"s3:{BUCKET}/fetch-me")
            for run in range(args.runs):
                shutil.rmtree(cache, ignore_errors=True)
                elapsed, rate = ours.run(lambda: ours.services.storage_files.start_fetch(
                    {"uri": f"s3://{BUCKET}/fetch-me"}, "bench"))
                times["ours fetch"].append(elapsed)
                rates["fetch"].append(rate)
                dst = base / f"rclone-fetch-{run}"
                times["rclone fetch"].append(rclone_copy(server, f"s3:{BUCKET}/fetch-me", str(dst)))
                shutil.rmtree(dst)
                elapsed, rate = ours.run(lambda: ours.services.storage_files.start_publish(
                    {"source": "model", "destination": f"s3://{BUCKET}/ours-{run}"}, "bench"))
                times["ours publish"].append(elapsed)
                rates["publish"].append(rate)
                times["rclone publish"].append(rclone_copy(server, str(model), f"s3:{BUCKET}/rclone-{run}"))
                for prefix in (f"ours-{run}", f"rclone-{run}"):  # keep the disk small
                    shutil.rmtree(base / "s3" / BUCKET / prefix, ignore_errors=True)
            ours.stop()
        finally:
            server.stop()
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{args.mb} MB in {args.files} files, S3 on 127.0.0.1 (rclone serve s3), {args.runs} alternating runs, medians:")
    for what in ("fetch", "publish"):
        a, b = med[f"ours {what}"], med[f"rclone {what}"]
        print(f"  {what:7s} ours (job) {a:6.2f} s | rclone copy {b:6.2f} s | ratio {a / b:5.3f} (target <= 1.10) | "
              f"progress {statistics.median(rates[what]):.1f} updates/s (target >= 2)")
        print(f"           all runs: ours {[round(x, 2) for x in times[f'ours {what}']]} "
              f"rclone {[round(x, 2) for x in times[f'rclone {what}']]}")


if __name__ == "__main__":
    main()
