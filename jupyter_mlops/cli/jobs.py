"""Job commands: list, show, log, cancel and the end-to-end selftest."""

from __future__ import annotations

import argparse
from typing import Any

from .render import JOB_COLUMNS, Result, job_record, job_row, log_result, page_result
from .tree import Context, Tree, bounded, id_type, log_options, paging

SELFTEST_TIMEOUT = 300.0


def _jobs_list(ctx: Context, a: argparse.Namespace) -> Result:
    answer = ctx.services.jobs.list(state=a.state, kind=a.kind, active=a.active, limit=a.limit, cursor=a.cursor)
    return page_result("jobs", answer, JOB_COLUMNS, job_row)


def _jobs_show(ctx: Context, a: argparse.Namespace) -> Result:
    job = ctx.services.jobs.get(a.id)
    return Result(f"job {job['id']} ({job['kind']}): {job['state']}", job, record=job_record(job))


def _jobs_log(ctx: Context, a: argparse.Namespace) -> Result:
    """A page of the job's log; with --follow every line after --after goes to `ctx.on_log`
    until the job ends (run inline when it is queued and no server worker is alive), and a
    job that did not succeed is an error (the CLI exits 1)."""
    jobs = ctx.services.jobs
    if not a.follow:
        return log_result(f"job {a.id}", jobs.log(a.id, after=a.after, limit=a.limit), a.after)
    followed = ctx.follow(
        jobs.get(a.id),
        timeout=a.timeout,
        on_job=ctx.on_progress,
        on_line=ctx.on_log or (lambda _line: None),
        after=a.after,
    )
    done = followed.require_success(f"job {a.id}")
    return Result(f"job {a.id} ({done['kind']}) succeeded (run {followed.where})", done, record=job_record(done))


def _jobs_cancel(ctx: Context, a: argparse.Namespace) -> Result:
    job = ctx.services.jobs.cancel(a.id)
    return Result(f"job {job['id']}: cancel requested ({job['state']})", job, record=job_record(job))


def _jobs_selftest(ctx: Context, a: argparse.Namespace) -> Result:
    """Submit `diagnostic.count`; run it inline unless a server worker is alive, else wait on the row."""
    params: dict[str, Any] = {"n": a.n, "delay": a.delay}
    if a.fail_at is not None:
        params["fail_at"] = a.fail_at
    job = ctx.services.jobs.submit("diagnostic.count", params, owner=ctx.actor)
    followed = ctx.follow(job, timeout=a.timeout, on_job=ctx.on_progress)
    done = followed.require_success(f"selftest job {job['id']}")
    return Result(f"selftest job {job['id']} succeeded (run {followed.where})", done, record=job_record(done))


def register(tree: Tree) -> None:
    """Add the job commands to `tree`."""
    _, jobs = tree.group("jobs", "durable jobs: list, show, log, cancel, selftest")
    p = tree.command(jobs, "list", "list jobs newest first", _jobs_list)
    p.add_argument("--state", help="queued, running, succeeded, failed, cancelled or interrupted")
    p.add_argument("--active", action="store_true", help="only queued and running jobs")
    p.add_argument("--kind", help="only jobs of this kind")
    paging(p)
    p = tree.command(jobs, "show", "show one job with its progress", _jobs_show)
    p.add_argument("id", metavar="ID", type=id_type)
    log_options(
        tree.command(
            jobs,
            "log",
            "a job's log lines (--follow: live until it ends, running it here when no server worker is alive)",
            _jobs_log,
        ),
        "job",
    )
    p = tree.command(jobs, "cancel", "cancel a queued or running job", _jobs_cancel, writes=True)
    p.add_argument("id", metavar="ID", type=id_type)
    p = tree.command(
        jobs,
        "selftest",
        "run the diagnostic.count job end to end (inline when no server worker is alive)",
        _jobs_selftest,
        writes=True,
    )
    p.add_argument("--n", metavar="N", type=bounded(1, 100_000), default=10, help="steps to count (default 10)")
    p.add_argument(
        "--delay", metavar="S", type=bounded(0, 60, float), default=0.1, help="seconds per step (default 0.1)"
    )
    p.add_argument(
        "--timeout",
        metavar="S",
        type=bounded(1, 86_400, float),
        default=SELFTEST_TIMEOUT,
        help="when a server worker runs it: give up waiting after S seconds",
    )
    p.add_argument(
        "--fail-at",
        metavar="N",
        type=bounded(1, 100_000),
        help="make the job fail at step N (to see a failure end to end)",
    )
