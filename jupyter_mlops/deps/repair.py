"""The repair job: check, plan, install the planned set, verify. Runs in the job
subprocess (kind `deps.repair`); everything it says goes to the job log."""

from __future__ import annotations

from typing import Any

from ..jobs.context import JobContext
from .install import install
from .plan import Plan, make_plan, protected_pins
from .probe import probe
from .service import Target, declaration_of, declared_after, diagnose, record_run, to_install
from .status import DEFAULT_PROTECTED

STEPS = 4


def _resolvable(
    env: Any, wanted: list[str], status: Any, options: list[str], installer: str | None, ctx: JobContext
) -> tuple[Plan, dict[str, str]]:
    """The plan for `wanted`; when the resolver refuses the whole set, plan each
    requirement alone and leave out those that cannot go in (with why)."""
    plan = make_plan(
        env, wanted, status.protected, declared=declared_after(status), index_options=options, installer=installer
    )
    if plan.resolver_error is None or len(wanted) == 1:
        return plan, ({} if plan.resolver_error is None else {wanted[0]: plan.resolver_error})
    ctx.log("the whole set cannot be resolved with the protected builds pinned; checking each requirement")
    skipped: dict[str, str] = {}
    for text in wanted:
        alone = make_plan(env, [text], status.protected, index_options=options, installer=installer)
        if alone.resolver_error is not None:
            skipped[text] = alone.resolver_error
    rest = [t for t in wanted if t not in skipped]
    unsatisfiable = {t.split(";")[0] for t in skipped}
    declared = [d for d in declared_after(status) if d not in unsatisfiable]
    return make_plan(
        env, rest, status.protected, declared=declared, index_options=options, installer=installer
    ), skipped


def repair(
    ctx: JobContext,
    python: str,
    project: str,
    extras: list[str] | None = None,
    groups: list[str] | None = None,
    requirement_files: list[str] | None = None,
    roots: list[str] | None = None,
    installer: str | None = None,
    protected_patterns: list[str] | None = None,
    actor: str = "",
    per_package_timeout: float = 300.0,
) -> dict[str, Any]:
    """Fix what is missing or outdated in the environment of `python`, never touching a
    protected build; returns what was installed, failed and skipped, and the new status."""
    target = Target(
        python,
        project,
        tuple(extras) if extras is not None else None,
        tuple(groups) if groups is not None else None,
        tuple(requirement_files) if requirement_files is not None else None,
        tuple(roots or ()),
    )
    patterns = tuple(protected_patterns) if protected_patterns else DEFAULT_PROTECTED
    ctx.progress(0, STEPS, "steps", "checking the environment")
    env, status = diagnose(target, patterns)
    wanted = to_install(status)
    ctx.log(f"environment: {env.python} ({len(env.distributions)} distributions)")
    for key, why in sorted(status.protected.items()):
        ctx.log(f"protected: {key} {env.distributions[key].version if key in env.distributions else ''} ({why})")
    result: dict[str, Any] = {
        "python": env.python,
        "installed": [],
        "failed": {},
        "skipped": {},
        "held_back": [],
        "restart_kernel": False,
    }
    if not wanted:
        ctx.progress(STEPS, STEPS, "steps", "nothing to fix")
        result["message"] = "nothing is missing or outdated"
        record_run(ctx.store, "repair", actor, target, needs_fix=False, summary=result, job_id=ctx.job_id)
        return result

    ctx.progress(1, STEPS, "steps", f"planning {len(wanted)} requirement(s)")
    options = declaration_of(target).index_options
    plan, skipped = _resolvable(env, wanted, status, options, installer, ctx)
    result["skipped"], result["held_back"] = skipped, plan.held_back
    for text, why in skipped.items():
        ctx.log(f"skipped {text}: {why}")
    for held in plan.held_back:
        ctx.log(f"note: {held['name']} {held['chosen']} chosen, not {held['newest']}: {held['why']}")
    if plan.problems or plan.resolver_error:
        reasons = plan.problems or [plan.resolver_error or ""]
        record_run(
            ctx.store,
            "repair",
            actor,
            target,
            needs_fix=True,
            summary={**result, "refused": reasons},
            job_id=ctx.job_id,
        )
        raise RuntimeError("the plan was refused: " + "; ".join(reasons))
    for change in plan.changes:
        ctx.log(f"plan: {change.kind} {change.name} {change.before or ''} -> {change.after}")

    ctx.progress(2, STEPS, "steps", f"installing {len(plan.requirements)} requirement(s) with {plan.installer}")
    outcome = install(
        env,
        plan.installer,
        plan.requirements,
        protected_pins(env, status.protected),
        options,
        ctx.log,
        per_package_timeout=per_package_timeout,
    )
    result["installed"], result["failed"] = outcome.installed, outcome.failed

    ctx.progress(3, STEPS, "steps", "verifying")
    after = probe(target.python)
    changed = [
        key
        for key in status.protected
        if key in env.distributions
        and (
            key not in after.distributions
            or after.distributions[key].record_sha256 != env.distributions[key].record_sha256
        )
    ]
    if changed:
        raise RuntimeError(f"protected distributions changed: {', '.join(changed)}; restore them by hand")
    _, status_after = diagnose(target, patterns)
    result.update(
        protected_unchanged=sorted(k for k in status.protected if k in env.distributions),
        status_after=status_after.summary,
        needs_fix_after=status_after.needs_fix,
        restart_kernel=bool(outcome.installed),
        message=("restart the kernel to use the new packages" if outcome.installed else "nothing was installed"),
    )
    record_run(ctx.store, "repair", actor, target, needs_fix=status_after.needs_fix, summary=result, job_id=ctx.job_id)
    ctx.progress(STEPS, STEPS, "steps", result["message"])
    return result
