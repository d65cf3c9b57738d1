"""The one command tree behind `%mlops` and `jupyter mlops`.

`run(argv)` parses the words with argparse, calls one service method and returns a
`Result` (the service's answer plus the columns a face shows). The magic and the CLI
only render it, so the two faces cannot drift. Parsing never exits the process: bad
usage raises `UsageError`, `--help` raises `HelpRequested`; domain failures are the
services' own `MLOpsError`s. Each capability module (registry, jobs, deps, hub, builds,
config) registers its own commands with `register(tree)`."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, MLOpsError, NotFound, Unavailable
from ..jobs.follow import FOLLOW_TIMEOUT
from .render import Result

if TYPE_CHECKING:
    from ..config import Settings
    from ..jobs.follow import Followed
    from ..services import Services

ProgressFn = Callable[[dict[str, Any]], None]
LogFn = Callable[[str], None]
ConfirmFn = Callable[[Result], bool]
Handler = Callable[["Context", argparse.Namespace], Result]


class UsageError(MLOpsError):
    """The words do not form a command: the message says why, `usage` shows the form."""

    status = 400

    def __init__(self, message: str, *, usage: str = "", prog: str = "") -> None:
        super().__init__(message)
        self.usage = usage
        self.prog = prog


class HelpRequested(Exception):
    """`--help` was given, or (`incomplete`) a group was named without a command; `text` is the help."""

    def __init__(self, text: str, *, incomplete: bool = False) -> None:
        super().__init__(text)
        self.text = text
        self.incomplete = incomplete


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of printing and exiting."""

    def error(self, message: str) -> Any:
        raise UsageError(f"{self.prog}: {message}", usage=self.format_usage().strip(), prog=self.prog)

    def exit(self, status: int = 0, message: str | None = None) -> Any:
        if status:
            raise UsageError(
                (message or f"{self.prog}: error").strip(), usage=self.format_usage().strip(), prog=self.prog
            )
        raise HelpRequested(message or "")

    def print_help(self, file: Any = None) -> None:
        raise HelpRequested(self.format_help())


# -- what a command gets ----------------------------------------------------------------
@dataclass
class Context:
    """What a command handler gets besides its arguments: the settings, the services (opened
    on first use, so `config` works without a store), who acts, and the face's callbacks."""

    settings: Settings
    actor: str
    body: dict[str, Any] | None = None
    on_progress: ProgressFn | None = None
    on_log: LogFn | None = None
    confirm: ConfirmFn | None = None
    given_services: Services | None = field(default=None, repr=False)
    #: whether the command records something (it may create the workspace's store)
    writes: bool = False
    prog: str = "mlops"

    @property
    def services(self) -> Services:
        """The services of these settings. Outside any workspace (none named, no `.mlops/`
        upward) it is NotFound, as git is outside a repository; a command that only reads
        never creates a store (NotFound when there is none yet); Unavailable when the store
        cannot be opened."""
        if self.given_services is None:
            from ..services import services_for
            from ..workspace import STATE_DIRNAME

            ws = self.settings.workspace
            if not self.settings.workspace_located:
                raise NotFound(
                    f"not in an MLOps workspace: no {STATE_DIRNAME}/ in {ws.root} or any folder above it. "
                    f"`{self.prog} init` makes one here; or name one with --workspace DIR (or the workspace_dir "
                    "setting, $JUPYTER_MLOPS_WORKSPACE)"
                )
            # (a server makes its workspace's store as it starts: its kernels may open it)
            if not self.writes and not ws.has_store() and not self.settings.served:
                raise NotFound(
                    f"workspace {ws.root} has no registry yet ({ws.sqlite_path} does not exist), so there is "
                    f"nothing to show; `{self.prog} init {ws.root}` makes an empty one"
                )
            try:
                self.given_services = services_for(self.settings)
            except MLOpsError:
                raise
            except Exception as exc:  # an unreachable or unreadable database
                raise Unavailable(f"database: cannot open the store: {exc}") from None
        return self.given_services

    def follow(
        self,
        job: dict[str, Any],
        *,
        timeout: float,
        on_job: ProgressFn | None = None,
        on_line: LogFn | None = None,
        after: int = 0,
    ) -> Followed:
        """See `job` to its end (inline when no server worker is alive); see `jobs.follow`."""
        from ..jobs.follow import follow

        svc = self.services
        return follow(
            svc.jobs,
            job["id"],
            scratch=svc.workspace.state_dir,
            timeout=timeout,
            on_job=on_job,
            on_line=on_line,
            after=after,
        )


# -- argument types and options shared by the capabilities ---------------------------------
def id_type(value: str) -> int:
    """A positive whole number (an id)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number (got {value!r})") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {number})")
    return number


def count_type(value: str) -> Any:
    """A parameter count such as 7000000000, 7B, 1.5B or 350M; anything else goes to the
    registry's rule unchanged so its message names the field."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMbBtT]?)\s*", value)
    if not m:
        return value
    scale = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "t": 10**12}[m.group(2).lower()]
    return round(float(m.group(1)) * scale)


def bounded(low: float, high: float, kind: type = int) -> Callable[[str], Any]:
    """An argument type: a number of `kind` from `low` to `high`."""

    def parse(value: str) -> Any:
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number (got {value!r})") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:g} to {high:g} (got {value})")
        return number

    return parse


def json_option(name: str, value: str | None) -> Any:
    """Decode a JSON option; a malformed one is InvalidInput naming `name`."""
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError as exc:
        raise InvalidInput(f"{name}: must be valid JSON ({exc})", field=name) from None


def given(**values: Any) -> dict[str, Any]:
    """The values that were given (not None)."""
    return {k: v for k, v in values.items() if v is not None}


def paging(p: argparse.ArgumentParser) -> None:
    """`--limit` and `--cursor` for a list command."""
    p.add_argument("--limit", metavar="N", help="page size (1-500, default 50)")
    p.add_argument("--cursor", metavar="CURSOR", help="the next_cursor of the previous page")


def log_options(p: argparse.ArgumentParser, what: str) -> None:
    """ID and the options of a `log` command: --follow, --after, --limit, --timeout."""
    p.add_argument("id", metavar="ID", type=id_type)
    p.add_argument("--follow", "-f", action="store_true", help=f"print new lines as they come until the {what} ends")
    p.add_argument("--after", metavar="N", type=bounded(0, 2**62), default=0, help="only lines after seq N")
    p.add_argument("--limit", metavar="N", default=500, help="at most N lines (1-500; not with --follow)")
    p.add_argument(
        "--timeout",
        metavar="S",
        type=bounded(1, 864_000, float),
        default=FOLLOW_TIMEOUT,
        help="with --follow, when a server worker runs it: give up after S seconds",
    )


def follow_options(p: argparse.ArgumentParser, what: str) -> None:
    """`--detach` (only queue the job) and `--timeout` (how long to follow it)."""
    p.add_argument(
        "--detach", "--no-follow", action="store_true", dest="detach", help=f"only queue the {what}; do not wait for it"
    )
    p.add_argument(
        "--timeout",
        metavar="S",
        type=bounded(1, 864_000, float),
        default=FOLLOW_TIMEOUT,
        help="when a server worker runs it: give up waiting after S seconds",
    )


def _common() -> _Parser:
    """Options every command accepts (given before or after the command words)."""
    p = _Parser(add_help=False)
    p.add_argument(
        "--workspace",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="workspace folder (default: the workspace_dir setting, else the nearest folder with .mlops/)",
    )
    p.add_argument(
        "--db-url",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="database URL (default: the db_url setting, else SQLite in the workspace)",
    )
    p.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="show the raw JSON answer instead of a table"
    )
    return p


# -- the tree ------------------------------------------------------------------------------
class Tree:
    """The parser being built: capabilities add their groups and commands through it.
    With `body` (a cell magic's JSON body supplies fields), options that the body may
    carry are not required on the line."""

    def __init__(self, prog: str, *, body: bool = False) -> None:
        self.prog = prog
        self.body = body
        # Each parser gets its own copy of the common options: parents share action objects,
        # and the top's defaults must not leak into the subcommands' SUPPRESS defaults.
        self.top = _Parser(
            prog=prog,
            parents=[_common()],
            description="MLOps workbench: model registry, jobs, dependencies, Hugging Face models and image builds.",
            epilog=f"Run '{prog} COMMAND --help' for a command's options.",
        )
        self.top.set_defaults(workspace=None, db_url=None, json=False, func=None, _group=self.top, _finish=None)
        self.commands = self.top.add_subparsers(title="commands", metavar="COMMAND")

    def group(self, name: str, help_text: str, *, aliases: Sequence[str] = ()) -> tuple[argparse.ArgumentParser, Any]:
        """A command group (`models`, `jobs`...), also called by `aliases`: its parser and its subcommands."""
        p = self.commands.add_parser(
            name, aliases=list(aliases), help=help_text, description=help_text, parents=[_common()]
        )
        p.set_defaults(func=None, _group=p)
        return p, p.add_subparsers(title="commands", metavar="COMMAND")

    def command(
        self, parent: Any, name: str, help_text: str, func: Handler, *, takes_body: bool = False, writes: bool = False
    ) -> argparse.ArgumentParser:
        """A command under `parent` (a group's subcommands, or `self.commands`) run by `func`;
        one that `writes` records something and may create the workspace's store."""
        p: argparse.ArgumentParser = parent.add_parser(name, help=help_text, description=help_text, parents=[_common()])
        p.set_defaults(func=func, takes_body=takes_body, writes=writes)
        return p


def build_parser(prog: str = "mlops", *, body: bool = False) -> argparse.ArgumentParser:
    """The whole command tree, each capability registering its own commands."""
    from . import builds, config, deployments, deps, hub, jobs, mlflow, registry, storage, workspace

    tree = Tree(prog, body=body)
    for capability in (registry, deployments, mlflow, jobs, hub, deps, builds, storage, workspace, config):
        capability.register(tree)
    return tree.top


def parse(argv: Sequence[str], prog: str = "mlops", *, body: bool = False) -> argparse.Namespace:
    """Parse the words; UsageError or HelpRequested instead of exiting. A group may set
    `_finish(args, usage)` to settle its own options after parsing."""
    parser = build_parser(prog, body=body)
    args = parser.parse_args(list(argv))
    usage = parser.format_usage().strip()
    if args._finish is not None:
        args._finish(args, lambda message: UsageError(f"{prog} {message}", usage=usage, prog=prog))
    if args.func is None:
        group = args._group
        if not argv or all(w.startswith("-") for w in argv):
            raise UsageError(f"{prog}: a command is required", usage=usage, prog=prog)
        raise HelpRequested(group.format_help(), incomplete=True)
    return args


def tty_confirm(planned: Result) -> bool:
    """The CLI's confirmation: show the plan and ask y/N on a terminal; refuse otherwise."""
    print(planned.text())
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise InvalidInput(
            "yes: not confirmed (no terminal to ask on); re-run with --yes to apply this plan", field="yes"
        )
    answer = input("apply this plan? [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise InvalidInput("yes: not confirmed; nothing was installed", field="yes")
    return True


def _stderr_line(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


_DEFAULT: Any = object()


def run(
    argv: Sequence[str],
    *,
    services: Services | None = None,
    body: Any = None,
    on_progress: ProgressFn | None = None,
    prog: str = "mlops",
    actor: str | None = None,
    on_log: LogFn | None = _DEFAULT,
    confirm: ConfirmFn | None = _DEFAULT,
) -> Result:
    """Parse and run one command; returns its Result.

    `services` is used unless --workspace/--db-url name another store (without it, the
    settings are loaded as every face loads them: see `jupyter_mlops.config`); `body` is a
    JSON object of extra fields (a cell magic's body); `on_progress` gets job views while a
    job runs; `on_log` gets a job's log lines (default: stderr); `confirm` is asked before
    `deps fix` without --yes applies a plan (default: a y/N prompt on a terminal, refused
    otherwise; None: the plan is returned for a re-run with --yes).
    Raises HelpRequested, UsageError or the services' MLOpsError."""
    from ..config import load_settings
    from ..identity import current_actor

    args = parse(argv, prog, body=body is not None)
    if body is not None:
        if not getattr(args, "takes_body", False):
            raise UsageError(f"{prog}: this command takes no JSON body", prog=prog)
        if not isinstance(body, dict):
            raise InvalidInput("body: must be a JSON object", field="body")
    if services is not None and not (args.workspace or args.db_url):
        settings, svc = services.settings, services
    else:
        settings, svc = load_settings({"workspace_dir": args.workspace, "db_url": args.db_url}), None
    ctx = Context(
        settings,
        actor or current_actor(),
        body=body,
        on_progress=on_progress,
        on_log=_stderr_line if on_log is _DEFAULT else on_log,
        confirm=tty_confirm if confirm is _DEFAULT else confirm,
        given_services=svc,
        writes=bool(getattr(args, "writes", False)),
        prog=prog,
    )
    result: Result = args.func(ctx, args)
    result.as_json = bool(args.json)
    if ctx.given_services is not None:  # the command used a store: say which
        result.workspace = ctx.settings.where()
    return result


def parse_body(text: str | None) -> Any:
    """A cell's JSON body (None when blank); InvalidInput naming `body` when malformed."""
    if text is None or not text.strip():
        return None
    return json_option("body", text)
