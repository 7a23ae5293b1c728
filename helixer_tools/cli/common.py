"""What every helixer-tools command shares: parent parsers, argument types, logging, error handling."""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Callable, Sequence

from .. import __version__
from ..atomic import check_output, together, user_name
from ..errors import DISK_ERRORS, UserError, disk_error
from ..h5io import COMPRESSIONS, abandoned_h5, DEFAULT_GZIP_LEVEL, DEFAULT_SUBSEQUENCE_LENGTH, check_subsequence_length

log = logging.getLogger("helixer_tools")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keep the description's line breaks; show a default after each optional option that has one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.required or action.default in (None, False, argparse.SUPPRESS) or "%(default)" in text:
            return text
        return text + " (default: %(default)s)"


def number(convert=float, low: float | None = None, high: float | None = None, low_open: bool = False,
           high_open: bool = False):
    """An argparse type: ``convert`` (int or float) of ``text``, finite, within [low, high] (or open ends)."""
    kind = "an integer" if convert is int else "a number"

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {kind}") from None
        bad = value != value or value in (float("inf"), float("-inf"))
        if low is not None:
            bad = bad or value < low or (low_open and value == low)
        if high is not None:
            bad = bad or value > high or (high_open and value == high)
        if bad:
            span = f"{'(' if low_open else '['}{'-inf' if low is None else low}, {'inf' if high is None else high}" \
                   f"{')' if high_open or high is None else ']'}"
            raise argparse.ArgumentTypeError(f"{text!r} is not {kind} in {span}")
        return value

    return parse


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return value


def subsequence_length(text: str) -> int:
    value = positive_int(text)
    try:
        return check_subsequence_length(value)
    except UserError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def gzip_level(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 9:
        raise argparse.ArgumentTypeError(f"{text!r} is not a gzip level between 0 and 9")
    return value


def common_parser() -> argparse.ArgumentParser:
    """Options every tool has: version, verbosity, threads."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("general options")
    g.add_argument("--threads", "-t", type=positive_int, default=1,
                   help="worker threads (Galaxy: ${GALAXY_SLOTS}; Nextflow: ${task.cpus})")
    g.add_argument("--quiet", "-q", action="store_true", help="only print warnings and errors; no progress")
    g.add_argument("--verbose", "-v", action="store_true", help="also print debugging messages")
    g.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


def h5_output_parser() -> argparse.ArgumentParser:
    """Options of every tool that writes a Helixer h5 file."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("h5 output options")
    g.add_argument("--compression", choices=COMPRESSIONS, default="gzip",
                   help="HDF5 compression of the datasets (upstream's choices)")
    g.add_argument("--compression-level", type=gzip_level, default=DEFAULT_GZIP_LEVEL,
                   help="gzip level, 0 (none) to 9 (smallest, slowest); ignored for lzf")
    return p


def subsequence_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("subsequence options")
    g.add_argument("--subsequence-length", "-l", type=subsequence_length, default=DEFAULT_SUBSEQUENCE_LENGTH,
                   help="length of the subsequences the genome is cut into; must be a multiple of 9 "
                        "(upstream lineage models: fungi 21384, land_plant 64152, animals 213840)")
    return p


def output_option(group, *flags: str, **kwargs) -> argparse.Action:
    """``group.add_argument`` for a file the tool writes: :func:`run` refuses it, before any work, when it is
    the same file as an input or as another output."""
    action = group.add_argument(*flags, **kwargs)
    action.writes = True
    return action


def _actions(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[argparse.Action]:
    """The parser's actions and those of the sub-command that was chosen (helixer-train's route)."""
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(getattr(args, action.dest, None) or "")
            out += _actions(chosen, args) if chosen else []
        else:
            out.append(action)
    return out


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)  # symlinks and hard links included
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def check_paths(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse, before any work, an output that cannot be written (a directory; a missing or read-only folder),
    or that is the same file as an input (it would be destroyed) or as another output (one would be lost), by
    resolved path, naming both options."""
    outputs, inputs = _paths(parser, args)
    check_outputs(outputs, inputs)


def _paths(parser: argparse.ArgumentParser, args: argparse.Namespace
           ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The (option, path) pairs of a run's outputs and of its inputs."""
    outputs, inputs = [], []
    for action in _actions(parser, args):
        value = getattr(args, action.dest, None) if action.option_strings else None
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, str) and v:
                (outputs if getattr(action, "writes", False) else inputs).append((action.option_strings[0], v))
    return outputs, inputs


def check_outputs(outputs: list[tuple[str, str]], inputs: list[tuple[str, str]]) -> None:
    """(option, path) pairs: every output writable, none an existing input file nor the same path as another."""
    for _, path in outputs:
        check_output(path)
    for i, (option, path) in enumerate(outputs):
        for other, input_path in inputs:
            if os.path.isfile(input_path) and os.path.exists(path) and _same_file(path, input_path):
                raise UserError(f"{path}: {option} is the same file as {other} {input_path}; writing it would "
                                "destroy that input")
        for other, other_path in outputs[:i]:
            if _same_file(path, other_path):
                raise UserError(f"{path}: {option} and {other} are the same file; one output would be lost")


def required_parser() -> tuple[argparse.ArgumentParser, argparse._ArgumentGroup]:
    """A parent parser for a tool's own required arguments, so they are listed first in --help."""
    p = argparse.ArgumentParser(add_help=False)
    return p, p.add_argument_group("required arguments")


def make_parser(prog: str, description: str, parents: Sequence[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """A tool's parser: its own parents first, then the options every tool has."""
    return argparse.ArgumentParser(prog=prog, description=description, formatter_class=HelpFormatter,
                                   parents=[*parents, common_parser()])


def _configure_logging(args: argparse.Namespace) -> None:
    level = logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO  # quiet wins
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stderr, force=True)


class Terminated(KeyboardInterrupt):
    """SIGTERM (what Galaxy, Slurm and Nextflow send on cancel), handled as Ctrl-C is."""


_signals_received: list[int] = []


def _on_signal(signum, frame):
    """Record the signal, then unwind as Ctrl-C. The record matters: a signal that lands inside C code
    (TensorFlow tracing a graph, say) may surface as another exception (SystemError) rather than this one."""
    _signals_received.append(signum)
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _install_signal_handlers() -> dict[int, object]:
    """Our handler for SIGTERM, and for SIGINT unless it is ignored (a background job of a script)."""
    old = {}
    try:
        for sig in (signal.SIGTERM, signal.SIGINT):
            if sig == signal.SIGINT and signal.getsignal(sig) is signal.SIG_IGN:
                continue
            old[sig] = signal.signal(sig, _on_signal)
    except ValueError:  # not the main thread: leave signals alone
        pass
    return old


def _where_it_failed(parser: argparse.ArgumentParser, args: argparse.Namespace, code: int) -> str:
    """The outputs on a file system that is full (or read-only), for an error that names no file."""
    outputs = [path for _, path in _paths(parser, args)[0]]
    hit = []
    for path in outputs:
        with contextlib.suppress(OSError):
            fs = os.statvfs(Path(path).resolve().parent)
            if (fs.f_flag & os.ST_RDONLY) if code == errno.EROFS else fs.f_bavail * fs.f_frsize < (1 << 20):
                hit.append(path)
    return ", ".join(hit or outputs) or "the output"


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None,
        action: Callable[[argparse.Namespace, list[str]], None]) -> int:
    """Parse ``argv`` and run ``action``: its outputs appear together on success and none on failure; user
    errors become one line on stderr and exit code 1; Ctrl-C exits 130 and SIGTERM 143, leaving nothing."""
    argv_given = argv
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    _configure_logging(args)
    _signals_received.clear()
    old_handlers = _install_signal_handlers()
    default_hook = sys.unraisablehook

    def quiet_disk_errors(unraisable):  # h5py's own, when HDF5 fails to write as a dataset is released
        if disk_error(unraisable.exc_value) is None:
            default_hook(unraisable)

    sys.unraisablehook = quiet_disk_errors
    try:
        check_paths(parser, args)
        with together():
            action(args, argv)
    except (KeyboardInterrupt, Exception) as e:
        if _signals_received or isinstance(e, KeyboardInterrupt):
            if isinstance(e, Terminated) or signal.SIGTERM in _signals_received:
                print(f"{parser.prog}: terminated (SIGTERM); no output written", file=sys.stderr)
                return 143
            print(f"{parser.prog}: interrupted; no output written", file=sys.stderr)
            return 130
        disk = disk_error(e)
        if disk is not None:
            code, name = disk
            where = user_name(name) if name else _where_it_failed(parser, args, code)
            print(f"{parser.prog}: error: {where}: {DISK_ERRORS[code]}; nothing was written", file=sys.stderr)
            if argv_given is None and abandoned_h5():
                # HDF5 crashes closing a file whose writes failed (exit 139) and would at exit: the temporary
                # files are gone already, so leave without closing it
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(1)
            return 1
        if isinstance(e, UserError):
            print(f"{parser.prog}: error: {e}", file=sys.stderr)
            return 1
        if isinstance(e, OSError):  # disk full, permissions, ... on a path the user gave
            where = f"{user_name(e.filename)}: " if e.filename else ""
            print(f"{parser.prog}: error: {where}{e.strerror or e}", file=sys.stderr)
            return 1
        raise
    finally:
        sys.unraisablehook = default_hook
        for sig, handler in old_handlers.items():
            signal.signal(sig, handler)
    return 0
