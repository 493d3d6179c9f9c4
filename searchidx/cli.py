"""The ``searchidx`` command: parses options, calls the core, renders what it returns.

Heavy libraries (Whoosh, PyYAML, rapidfuzz) are imported inside the commands that need
them, so ``--help`` and ``--version`` start fast.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import click

from searchidx import __version__, options, progress
from searchidx.errors import InvalidOption, SearchidxError
from searchidx.store import ENV_VAR, resolve_index_path

if TYPE_CHECKING:
    from searchidx.query import Filters


class QueryCommand(click.Command):
    """A command whose QUERY may hold ``-word`` exclusions: a word of more than one
    letter after "-" is a query word, not short options run together (``-fox`` is not
    ``-f ox``), unless it is the value of the option before it, or a short option with
    a value it takes written on (``-n5``, ``-fjson``). Short options take their value
    as the next word too: ``-n 5``, ``-f json``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        options = [p for p in self.params if isinstance(p, click.Option) and not p.is_flag]
        valued = {name for param in options for name in param.opts}
        short = {name: param for param in options for name in param.opts if len(name) == 2}
        words: dict[str, str] = {}
        out: list[str] = []
        for i, arg in enumerate(args):
            if arg == "--":
                out += args[i:]
                break
            after_option = bool(out) and out[-1] in valued
            if len(arg) > 2 and arg[0] == "-" and arg[1] != "-" and not after_option:
                param = short.get(arg[:2])
                if param is not None and _takes(param, arg[2:], ctx):
                    out += [arg[:2], arg[2:]]
                    continue
                key = f"\x00{len(words)}"
                words[key] = arg
                arg = key
            out.append(arg)
        ctx.meta["query_words"] = words
        return super().parse_args(ctx, out)


def _takes(param: click.Option, value: str, ctx: click.Context) -> bool:
    """Whether ``value`` is a value the option takes (a number in range, a choice)."""
    try:
        param.type.convert(value, param, ctx)
    except click.BadParameter:
        return False
    return True


def _query_words(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> Any:
    """The query's words as typed (see :class:`QueryCommand`)."""
    words = ctx.meta.get("query_words", {})
    return tuple(words.get(word, word) for word in value)


FORMAT_CHOICE = click.Choice(options.FORMATS)
RECORD_FORMAT_CHOICE = click.Choice(options.RECORD_FORMATS)


class Group(click.Group):
    """Turns domain errors into click errors: usage problems exit 2, the rest exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InvalidOption as exc:
            # The usage shown is the command's, as for click's own option errors.
            name = ctx.invoked_subcommand
            command = self.get_command(ctx, name) if name else None
            where = click.Context(command, info_name=name, parent=ctx) if command else ctx
            raise click.UsageError(str(exc), where) from None
        except SearchidxError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--index",
    "index_path",
    envvar=ENV_VAR,
    show_default="indexes/default here or in the nearest folder above",
    show_envvar=True,
    metavar="PATH",
    help="Index folder; also accepted after the command, where it wins.",
)
@click.option(
    "--color",
    type=click.Choice(options.COLOR_MODES),
    default="auto",
    metavar="WHEN",
    help="Colour text: auto (a terminal, unless NO_COLOR is set), always or never.",
)
@click.option(
    "--no-pager",
    is_flag=True,
    help="Do not page text taller than the terminal (pager: $SEARCHIDX_PAGER, "
    "$PAGER or less -FRX).",
)
@click.version_option(__version__, "--version", prog_name="searchidx")
@click.pass_context
def cli(ctx: click.Context, index_path: str | None, color: str, no_pager: bool) -> None:
    """Search collections of news articles from the terminal.

    Index a folder of article files (YAML front matter, JSON or JSON Lines; RSS or
    Atom feeds; CSV or TSV exports), then search it. Exit status: 0 on success, 1 on
    errors (including files that could not be indexed), 2 on usage errors.
    """
    ctx.obj = resolve_index_path(index_path)
    ctx.meta[COLOR_KEY] = color
    ctx.meta[PAGER_KEY] = not no_pager
    if sys.stderr.isatty():
        line = GroupingLine()
        progress.grouping.set(line)
        ctx.call_on_close(line.clear)


class GroupingLine:
    """Draws how far the grouping of stories is on one line of standard error (a
    terminal), once it has taken half a second, and blanks it when done."""

    WAIT = 0.5

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.started: float | None = None
        self.width = 0  # of the text on the line (0: none)

    def __call__(self, done: int, total: int, what: str) -> None:
        now = self.clock()
        if self.started is None:
            self.started = now
        if total and (self.width or now - self.started >= self.WAIT):
            text = f"grouping stories: {done:,} of {total:,} {what}"
            click.echo(f"\r{text:<{self.width}}", err=True, nl=False)
            self.width = len(text)
        if what == progress.STEPS_DONE and done == total:
            self.clear()

    def clear(self) -> None:
        if self.width:
            click.echo(f"\r{'':<{self.width}}\r", err=True, nl=False)
            self.width = 0


def index_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--index``, ``--color`` and ``--no-pager`` after the command name too; given
    there, they win."""

    def override(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
        if value is not None:
            ctx.obj = value

    def color(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
        if value is not None:
            ctx.meta[COLOR_KEY] = value

    def no_pager(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value:
            ctx.meta[PAGER_KEY] = False

    fn = click.option(
        "--no-pager", is_flag=True, expose_value=False, callback=no_pager, hidden=True
    )(fn)
    fn = click.option(
        "--color",
        type=click.Choice(options.COLOR_MODES),
        expose_value=False,
        callback=color,
        hidden=True,
    )(fn)
    return click.option(
        "--index",
        metavar="PATH",
        expose_value=False,
        callback=override,
        help="Index folder (as before the command).",
    )(fn)


COLOR_KEY = "searchidx.color"
PAGER_KEY = "searchidx.pager"


def _color() -> bool:
    """Whether standard output is coloured (``--color``, NO_COLOR, a terminal)."""
    from searchidx.output import use_color

    ctx = click.get_current_context(silent=True)
    mode = ctx.meta.get(COLOR_KEY, "auto") if ctx is not None else "auto"
    return use_color(sys.stdout, mode)


def _style() -> Any:
    from searchidx.output import Style

    return Style(_color())


def echo_text(text: str) -> None:
    """Print text output: coloured as decided, through the pager when it is taller
    than the terminal."""
    from searchidx.terminal import echo_paged

    ctx = click.get_current_context(silent=True)
    paging = bool(ctx.meta.get(PAGER_KEY, True)) if ctx is not None else True
    echo_paged(text, color=_color(), paging=paging)


def echo_result(
    fmt: str,
    result: Any,
    rows: Sequence[Any],
    csv: Callable[[], str],
    text: Callable[[], str],
) -> None:
    """Print a result as JSON (the whole result), JSON Lines (one row a line), CSV or
    text."""
    from searchidx import output

    if fmt == "json":
        click.echo(output.to_json(result))
    elif fmt == "jsonl":
        click.echo(output.to_jsonl(rows), nl=False)
    elif fmt == "csv":
        click.echo(csv(), nl=False)
    else:
        echo_text(text())


# --- index -------------------------------------------------------------------------------


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--rebuild", is_flag=True, help="Start over instead of updating.")
@click.option("--jobs", type=click.IntRange(min=1), help="Parsing processes [default: CPU count].")
@click.option(
    "--variant-threshold",
    type=click.FloatRange(0, 100),
    help="Similarity (0-100) at which one outlet's related headlines are one item "
    f"[default: {options.VARIANT_THRESHOLD:g}].",
)
@click.option(
    "--wait",
    "lock_timeout",
    type=click.FloatRange(min=0),
    default=options.LOCK_WAIT_SECONDS,
    show_default=True,
    help="Seconds to wait for another process writing the index.",
)
@index_option
@click.pass_obj
def index(
    index_path: str,
    paths: tuple[str, ...],
    rebuild: bool,
    jobs: int | None,
    variant_threshold: float | None,
    lock_timeout: float,
) -> None:
    """Build or update the index from article files and folders.

    New and changed files are indexed, files gone from PATHS are removed, unchanged
    files are not read. Unusable files are reported as "path: reason" and skipped;
    the exit status is then 1.
    """
    from searchidx.indexing import update_index
    from searchidx.output import render_summary

    bar: Any = None

    def start(total: int) -> None:
        nonlocal bar
        if sys.stderr.isatty() and total:
            bar = click.progressbar(length=total, label="indexing", file=sys.stderr)
            bar.__enter__()

    def progress(done: int) -> None:
        if bar is not None:
            bar.update(done - bar.pos)

    def error(exc: SearchidxError) -> None:
        if bar is not None:
            click.echo("", err=True)
        click.echo(str(exc), err=True)

    try:
        summary = update_index(
            index_path,
            paths,
            rebuild=rebuild,
            jobs=jobs,
            variant_threshold=variant_threshold,
            lock_timeout=lock_timeout,
            on_error=error,
            on_notice=lambda msg: click.echo(msg, err=True),
            on_start=start,
            on_progress=progress,
        )
    except KeyboardInterrupt:
        click.echo("\ninterrupted: the index keeps its last committed state", err=True)
        sys.exit(130)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    click.echo(render_summary(summary))
    if summary.failed or summary.skipped:
        sys.exit(1)


# --- search ------------------------------------------------------------------------------


def _date(end_of_day: bool) -> Callable[[click.Context, click.Parameter, str | None], Any]:
    def convert(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
        if value is None:
            return None
        from searchidx.query import parse_date_option

        try:
            return parse_date_option(value, end_of_day)
        except InvalidOption as exc:
            raise click.BadParameter(str(exc)) from None

    return convert


def _index_of(ctx: click.Context) -> str:
    """The index a command line names (``--index`` before or after the command,
    SEARCHIDX_INDEX or the default), while it is being completed. Only ``--index``
    after the command has set ``ctx.obj`` then: the group's own callback does not run."""
    if isinstance(ctx.obj, str):
        return ctx.obj
    return resolve_index_path(ctx.find_root().params.get("index_path"))


def complete_values(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[click.shell_completion.CompletionItem]:
    """Complete --provider, --domain and --topic from the index's values."""
    from click.shell_completion import CompletionItem

    from searchidx.completion import FIELDS, shell_word, values

    assert param.name is not None
    found = values(_index_of(ctx), FIELDS[param.name], incomplete)
    return [CompletionItem(shell_word(v)) for v in found]


def complete_ids(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[click.shell_completion.CompletionItem]:
    """Complete item ids (with titles where the shell shows them)."""
    from click.shell_completion import CompletionItem

    from searchidx.completion import ids

    return [CompletionItem(i, help=title or None) for i, title in ids(_index_of(ctx), incomplete)]


def filter_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The filters shared by search, facets and dupes."""
    decorators = [
        click.option(
            "--provider",
            "providers",
            multiple=True,
            metavar="NAME",
            shell_complete=complete_values,
            help='Only this provider (case-insensitive; repeatable; "(none)": items without one).',
        ),
        click.option(
            "--domain",
            "domains",
            multiple=True,
            metavar="DOMAIN",
            shell_complete=complete_values,
            help='Only this domain (repeatable; "(none)": items without one).',
        ),
        click.option(
            "--topic",
            "topics",
            multiple=True,
            metavar="TOPIC",
            shell_complete=complete_values,
            help='Only this topic (case-insensitive; repeatable; "(none)": items without one).',
        ),
        click.option(
            "--kind",
            type=click.Choice(options.KINDS),
            default="all",
            show_default=True,
            help="Articles, related items, or both.",
        ),
        click.option(
            "--since",
            callback=_date(False),
            metavar="DATE",
            help="Published on or after DATE (YYYY[-MM[-DD]] or ISO date-time, UTC).",
        ),
        click.option(
            "--until", callback=_date(True), metavar="DATE", help="Published on or before DATE."
        ),
    ]
    for option in reversed(decorators):
        fn = option(fn)
    return fn


def make_filters(kwargs: dict[str, Any]) -> Filters:
    from searchidx.query import Filters

    return Filters(
        providers=kwargs.pop("providers"),
        domains=kwargs.pop("domains"),
        topics=kwargs.pop("topics"),
        kind=kwargs.pop("kind"),
        since=kwargs.pop("since"),
        until=kwargs.pop("until"),
    )


@cli.command(cls=QueryCommand)
@click.argument("query", nargs=-1, required=True, callback=_query_words)
@filter_options
@click.option("--literal", is_flag=True, help="Treat the query as plain words.")
@click.option(
    "--collapse", is_flag=True, help="Fold the hits of one story into its first publisher."
)
@click.option(
    "--sort",
    type=click.Choice(options.SORTS),
    default="relevance",
    show_default=True,
)
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(min=0),
    default=options.SEARCH_LIMIT,
    show_default=True,
    help="0 for all hits.",
)
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("-f", "--format", "fmt", type=FORMAT_CHOICE, default="text", show_default=True)
@index_option
@click.pass_obj
def search(
    index_path: str,
    /,
    query: tuple[str, ...],
    literal: bool,
    collapse: bool,
    sort: str,
    limit: int,
    page: int,
    fmt: str,
    **kwargs: Any,
) -> None:
    """Search the index.

    QUERY uses Whoosh's query language: words are ANDed; OR, NOT or -word,
    "phrases", field:term (title, excerpt, body, topic, provider, domain, kind),
    wildcards*, fuzzy~ and published:[2024-01-01 to 2024-03-31] (or [2024-01-01 to],
    or published:2024-03) work. No word is ignored; words in more than 30% of the
    items (the, of) only rank.
    """
    from searchidx import output
    from searchidx.searching import search

    result = search(
        index_path,
        " ".join(query),
        make_filters(kwargs),
        literal=literal,
        sort=sort,
        limit=limit,
        page=page,
        collapse=collapse,
    )
    echo_result(
        fmt,
        result,
        result.hits,
        lambda: output.render_hits_csv(result),
        lambda: output.render_search(result, _style()),
    )


# --- facets -------------------------------------------------------------------------------


@cli.command(cls=QueryCommand)
@click.argument("field", type=click.Choice(options.FACET_FIELDS), metavar="FIELD")
@click.argument("query", nargs=-1, callback=_query_words)
@filter_options
@click.option("--by-domain", is_flag=True, help="Group providers by domain instead of name.")
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(min=0),
    help=f"Values to show; 0 for all [default: {options.FACET_LIMIT}; timelines: all].",
)
@click.option(
    "--min-count",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Hide values with fewer items (and, above 1, empty periods).",
)
@click.option("--literal", is_flag=True, help="Treat the query as plain words.")
@click.option(
    "--first",
    is_flag=True,
    help="provider only: stories each provider published first, beside those it covered.",
)
@click.option("-f", "--format", "fmt", type=FORMAT_CHOICE, default="text", show_default=True)
@index_option
@click.pass_obj
def facets(
    index_path: str,
    /,
    field: str,
    query: tuple[str, ...],
    by_domain: bool,
    limit: int | None,
    min_count: int,
    literal: bool,
    first: bool,
    fmt: str,
    **kwargs: Any,
) -> None:
    """Count items by FIELD: provider, domain, topic, kind, or a timeline by year,
    month, week or day.

    With a QUERY, only matching items count. Values are ordered by count. Timelines
    are in time order (UTC) and show every period from the first matching item's to
    the last's, or from --since and to --until, empty ones as 0; weeks are ISO weeks
    (Monday to Sunday, labelled like 2014-W19). Related items count toward their own
    provider; use --kind article to count articles only. An item with two topics
    counts under each.
    """
    from searchidx import output

    if by_domain and field != "provider":
        raise click.UsageError("--by-domain groups providers: use it with 'facets provider'")
    if first:
        if by_domain or min_count > 1 or literal:
            used = "--by-domain" if by_domain else "--min-count" if min_count > 1 else "--literal"
            raise click.UsageError(
                f"--first counts stories by provider name: {used} does not apply"
            )
        _facets_first(
            index_path,
            field,
            " ".join(query) or None,
            20 if limit is None else limit,
            fmt,
            kwargs,
        )
        return
    from searchidx.facets import facet_counts

    result = facet_counts(
        index_path,
        field,
        " ".join(query) or None,
        make_filters(kwargs),
        by_domain=by_domain,
        limit=limit,
        min_count=min_count,
        literal=literal,
    )
    echo_result(
        fmt,
        result,
        result.buckets,
        lambda: output.render_facets_csv(result),
        lambda: output.render_facets(result, _style()),
    )


def _facets_first(
    index_path: str,
    field: str,
    query: str | None,
    limit: int,
    fmt: str,
    kwargs: dict[str, Any],
) -> None:
    from searchidx import output, story_output
    from searchidx.stories import provider_firsts

    if field != "provider":
        raise click.UsageError("--first counts providers: use it with 'facets provider'")
    result = provider_firsts(index_path, query, make_filters(kwargs), limit=limit)
    echo_result(
        fmt,
        result,
        result.buckets,
        lambda: output.to_csv([asdict(b) for b in result.buckets], ("value", "first", "stories")),
        lambda: story_output.render_firsts(result),
    )


# --- duplicate stories ----------------------------------------------------------------------


@cli.command(cls=QueryCommand)
@click.argument("query", nargs=-1, callback=_query_words)
@filter_options
@click.option(
    "--threshold",
    type=click.FloatRange(0, 100),
    default=options.COPY_THRESHOLD,
    show_default=True,
    help="Title similarity (0-100) at which items are near-identical.",
)
@click.option(
    "--window",
    "window_days",
    type=click.FloatRange(min=0),
    default=options.COPY_WINDOW_DAYS,
    show_default=True,
    help="Days apart two items may be published; 0 for none.",
)
@click.option("--min-size", type=click.IntRange(min=2), default=2, show_default=True)
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(min=0),
    default=options.DUPES_LIMIT,
    show_default=True,
    help="Clusters to show; 0 for all.",
)
@click.option("--of", "of", metavar="ID", help="List the duplicates of one item.")
@click.option("-f", "--format", "fmt", type=FORMAT_CHOICE, default="text", show_default=True)
@index_option
@click.pass_obj
def dupes(
    index_path: str,
    /,
    query: tuple[str, ...],
    threshold: float,
    window_days: float,
    min_size: int,
    limit: int,
    of: str | None,
    fmt: str,
    **kwargs: Any,
) -> None:
    """Find duplicate stories: clusters of items with near-identical titles.

    Titles are compared after normalisation (case, punctuation, "UPDATE:" prefixes,
    " - Outlet" suffixes, truncation marks); numbers must match. Each cluster lists
    its members in publication order, first publisher first, with their similarity
    to it. With a QUERY or filters, only matching items are compared.
    """
    from searchidx import output
    from searchidx.copies import find_dupes

    result = find_dupes(
        index_path,
        " ".join(query) or None,
        make_filters(kwargs),
        threshold=threshold,
        window_days=window_days or None,
        min_size=min_size,
        limit=limit,
        of=of,
    )
    rows = output.dupes_rows(result)
    echo_result(
        fmt,
        result,
        rows,
        lambda: output.to_csv(rows, output.DUPES_COLUMNS),
        lambda: output.render_dupes(result, _style()),
    )


# --- stories ----------------------------------------------------------------------------


@cli.command(cls=QueryCommand)
@click.argument("query", nargs=-1, callback=_query_words)
@filter_options
@click.option(
    "--min-outlets",
    type=click.IntRange(min=1),
    default=options.MIN_OUTLETS,
    show_default=True,
    help="Stories covered by at least N outlets.",
)
@click.option("--min-size", type=click.IntRange(min=2), default=2, show_default=True)
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(min=0),
    default=options.STORIES_LIMIT,
    show_default=True,
    help="Stories to show; 0 for all.",
)
@click.option("-f", "--format", "fmt", type=FORMAT_CHOICE, default="text", show_default=True)
@index_option
@click.pass_obj
def stories(
    index_path: str,
    /,
    query: tuple[str, ...],
    min_outlets: int,
    min_size: int,
    limit: int,
    fmt: str,
    **kwargs: Any,
) -> None:
    """Group every outlet's coverage of one story, first publisher first.

    Items are grouped by the rare words their titles and excerpts share, published
    within days of each other, and by the related lists of articles. Each story lists
    its members in publication order with the lag after the first; near-identical
    copies are folded under the item they copy. A QUERY or filters select the stories
    having a matching member, shown whole.
    """
    from searchidx import output, story_output
    from searchidx.stories import find_stories

    result = find_stories(
        index_path,
        " ".join(query) or None,
        make_filters(kwargs),
        min_outlets=min_outlets,
        min_size=min_size,
        limit=limit,
    )
    rows = story_output.story_rows(result)
    echo_result(
        fmt,
        result.public(),
        rows,
        lambda: output.to_csv(rows, story_output.STORY_COLUMNS),
        lambda: story_output.render_stories(result, _style()),
    )


# --- show and stats ----------------------------------------------------------------------


@cli.command()
@click.argument("item_id", metavar="ID", shell_complete=complete_ids)
@click.option("-f", "--format", "fmt", type=RECORD_FORMAT_CHOICE, default="text", show_default=True)
@index_option
@click.pass_obj
def show(index_path: str, item_id: str, fmt: str) -> None:
    """Show one item in full, with its related coverage, the articles citing it, and
    its story: every outlet's coverage in publication order."""
    from searchidx import output, story_output
    from searchidx.show import show as run_show
    from searchidx.stories import story_of

    item = run_show(index_path, item_id)
    story = story_of(index_path, item.id)
    if fmt == "json":
        click.echo(story_output.item_json(item, story))
    else:
        text = output.render_item(item, _style())
        echo_text(f"{text}\n\n{story_output.render_story_of(item.id, story, _style())}")


@cli.command()
@click.option("-f", "--format", "fmt", type=RECORD_FORMAT_CHOICE, default="text", show_default=True)
@index_option
@click.pass_obj
def stats(index_path: str, fmt: str) -> None:
    """Counts by kind, providers, topics, date span, size and schema of the index."""
    from searchidx import output
    from searchidx.stats import stats as run_stats

    result = run_stats(index_path)
    if fmt == "json":
        click.echo(output.to_json(result))
    else:
        echo_text(output.render_stats(result))


@cli.command()
@index_option
@click.pass_obj
def check(index_path: str) -> None:
    """Read every file of the index, then verify it against its manifest of indexed
    files; exit 1 on any damage or mismatch."""
    from searchidx.checking import check_index
    from searchidx.output import plural

    report = check_index(index_path)
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    summary = (
        f"{plural(report.items, 'item')} from {plural(report.files, 'file')} "
        f"(generation {report.generation}) in {report.index}"
    )
    if report.ok:
        click.echo(f"ok: {summary}")
        return
    for problem in report.problems:
        click.echo(problem)
    raise click.ClickException(f"the index does not match its manifest: {summary}")


def main() -> None:
    """Run the command line (the console script starts at :mod:`searchidx.__main__`).
    Once the command has finished, its output written and its exit status chosen,
    Ctrl-C is ignored: the process is only exiting, and Python, once it has put its
    signal handlers away, would die of the signal, silently and with another status
    (an index just rebuilt and reported exited -2)."""
    try:
        cli(prog_name="searchidx")
    except KeyboardInterrupt:  # between click choosing the exit and exiting
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        click.echo("\nAborted!", err=True)
        sys.exit(1)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
