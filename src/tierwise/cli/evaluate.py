"""``tierwise eval`` and ``tierwise calibrate``: the command functions ``cli.py`` registers.

Heavy imports (numpy, the learned router) happen inside the commands, so ``tierwise --help``
stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from tierwise.core.errors import InputError

if TYPE_CHECKING:
    from tierwise.analysis.evaluation.dataset import Dataset
    from tierwise.analysis.evaluation.report import Evaluation
    from tierwise.core.tiers import Tier
    from tierwise.learned.fingerprint import Fingerprints

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

Datasets = Annotated[
    list[str],
    typer.Argument(help="Dataset JSONL files, or names looked up in --data-dir."),
]
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Folder of NAME.jsonl + NAME.meta.json (default: TIERWISE_EVAL_DATA)."
    ),
]
RouterOption = Annotated[
    Path | None, typer.Option("--router", help="A learned router file (tierwise train).")
]
Prices = Annotated[
    Path | None,
    typer.Option(
        "--prices",
        help="Price the tiers with the models this policy file names for them (default: "
        "--policy, else the shipped policy).",
    ),
]
CalibratePrices = Annotated[
    Path | None,
    typer.Option(
        "--prices",
        help="Price the tiers with the models this policy file names for them (default: the "
        "shipped policy).",
    ),
]


def load_datasets(names: list[str], directory: Path | None) -> list[Dataset]:
    """Load every named dataset."""
    from tierwise.analysis.evaluation.dataset import data_dir, load_dataset, resolve_dataset

    base = data_dir(directory)
    return [load_dataset(resolve_dataset(name, base)) for name in names]


def parse_thresholds(items: list[str] | None) -> dict[str, float]:
    """``haiku=0.3`` options as a mapping (validated against the router later)."""
    out_: dict[str, float] = {}
    for item in items or []:
        name, _, value = item.partition("=")
        try:
            out_[name.strip().lower()] = float(value)
        except ValueError:
            raise InputError(f"--threshold: {item!r} is not tier=number") from None
    return out_


QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress display on stderr.")]


@contextmanager
def progress_steps(quiet: bool = False) -> Iterator[Callable[[str], None]]:
    """A spinner on stderr naming the step under way, with the time spent (hidden when
    stderr is not a terminal, or with ``quiet``): for work that cannot count its rows."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=quiet or not err.is_terminal,
    ) as progress:
        task = progress.add_task("starting", total=None)
        yield lambda step: progress.update(task, description=step)


@contextmanager
def progress_bar(total: int, label: str, quiet: bool = False) -> Iterator[Callable[[], None]]:
    """A rich progress bar on stderr (hidden when stderr is not a terminal, or with
    ``quiet``)."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=quiet or not err.is_terminal,
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda: progress.advance(task)


def eval_command(
    datasets: Datasets,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Evaluate this rule policy (default: shipped).")
    ] = None,
    router: RouterOption = None,
    threshold: Annotated[
        list[str] | None,
        typer.Option("--threshold", help="With --router: a rung's threshold, e.g. haiku=0.3."),
    ] = None,
    prices: Prices = None,
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write the curves to a .html, .svg or .png file.")
    ] = None,
) -> None:
    """Route every row of labelled datasets and report quality, savings, APGR and the baselines."""
    import numpy as np

    from tierwise.analysis.evaluation.costs import cost_matrix, tier_models
    from tierwise.analysis.evaluation.report import evaluate
    from tierwise.analysis.evaluation.routers import choices_scores, learned_scores, policy_choices
    from tierwise.core.policy import load_policy
    from tierwise.learned.model import load_router

    if policy is not None and router is not None:
        raise InputError("give either --policy or --router, not both")
    rule_policy = load_policy(policy)
    pricing = load_policy(prices) if prices is not None else rule_policy
    learned = load_router(router) if router is not None else None
    wanted = parse_thresholds(threshold)
    results: list[Evaluation] = []
    for dataset in load_datasets(datasets, data_dir):
        quality, cost = dataset.scores, cost_matrix(dataset, pricing)
        rungs = len(dataset.tiers) - 1
        with progress_bar(len(dataset), f"routing {dataset.name}") as tick:
            if learned is not None:
                scores = learned_scores(dataset, learned, tick)
                name = f"learned ({router.name if router else ''})"
                cuts = np.array(
                    [
                        wanted.get(t.value, learned.thresholds.get(t, 0.5))
                        for t in dataset.tiers[:-1]
                    ]
                )
            else:
                scores = choices_scores(policy_choices(dataset, rule_policy, tick), rungs)
                name = f"policy ({rule_policy.config.name})"
                cuts = np.full(rungs, 0.5)
        results.append(
            evaluate(
                name,
                scores,
                cuts,
                quality,
                cost,
                dataset=dataset.name,
                tiers=dataset.tiers,
                models=tier_models(pricing, dataset.tiers, dataset),
            )
        )
    if plot is not None:
        from tierwise.analysis.evaluation.plot import write_plot

        write_plot(results, plot)
    if as_json:
        out.print_json(json.dumps([r.as_dict() for r in results]))
        return
    for result in results:
        render(result)


def render(result: Evaluation) -> None:
    """One table per dataset: the router, then the baselines."""
    models = ", ".join(f"{t.value}={m}" for t, m in result.models.items())
    table = Table(title=f"{result.dataset}: {result.rows} rows ({models})")
    for column in (
        "router",
        "quality",
        "retention",
        "savings",
        "top share",
        "APGR",
        "CPT 50/80/95",
        "savings @95%",
        "@99%",
    ):
        table.add_column(column, justify="left" if column == "router" else "right")
    for name, item in [(result.router.name, result.router), *result.baselines.items()]:
        point = item.point
        cpt = "/".join(_pct(item.cpt[x]) for x in (0.5, 0.8, 0.95))
        table.add_row(
            name,
            f"{point.quality:.3f}" if point else "",
            _pct(point.retention) if point else "",
            _pct(point.savings) if point else "",
            _pct(point.top_share) if point else "",
            f"{item.apgr:.3f}",
            cpt,
            _pct(item.savings_at[0.95]),
            _pct(item.savings_at[0.99]),
        )
    out.print(table)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100 + 0.0:.1f}%"


def calibrate_command(
    datasets: Datasets,
    router: Annotated[Path, typer.Option("--router", help="The learned router file.")],
    target: Annotated[
        str,
        typer.Option(
            "--target", help="retention=0.95, max-top-share=0.2 or budget=USD (per 1,000 prompts)."
        ),
    ],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write a policy TOML using the router.")
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option(
            "--policy",
            help="Calibrate this policy's decisions with the router in it: a policy file, or "
            "composite (the shipped one: rules where confident, the router elsewhere).",
        ),
    ] = None,
    prices: CalibratePrices = None,
    data_dir: DataDir = None,
    resamples: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 200,
    allow_train_rows: Annotated[
        bool,
        typer.Option(
            "--allow-train-rows",
            help="Keep rows the router was trained on (in-sample: the figures will flatter it).",
        ),
    ] = False,
    point_estimate: Annotated[
        bool,
        typer.Option(
            "--point-estimate",
            help="Meet a retention target on the estimate, not its 95% lower confidence bound.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    quiet: QuietOption = False,
) -> None:
    """Pick the router's thresholds on labelled data for a target; report retention and savings
    with bootstrap confidence intervals. Rows the router was trained on are left out. With
    --policy, the figures are that policy's (its rules decide where they do), not the router's
    alone."""
    import numpy as np

    from tierwise.analysis.evaluation.calibrate import Target, calibrate
    from tierwise.analysis.evaluation.costs import cost_matrix
    from tierwise.analysis.evaluation.routers import composite_outcomes, learned_scores
    from tierwise.core.policy import load_policy
    from tierwise.learned.model import load_router

    goal = Target.parse(target)
    learned = load_router(router)
    composite = (
        load_policy(policy, overrides={"learned": {"router": str(router)}})
        if policy is not None
        else None
    )
    pricing = load_policy(prices)
    loaded = load_datasets(datasets, data_dir)
    ladders = {d.tiers for d in loaded}
    if len(ladders) != 1:
        raise InputError("calibrate: every dataset must have the same tiers")
    loaded = _unseen_rows(loaded, learned.fingerprints, allow_train_rows)
    scores, quality, cost, outcomes = [], [], [], []
    for dataset in loaded:
        with progress_bar(len(dataset), f"scoring {dataset.name}", quiet) as tick:
            scores.append(learned_scores(dataset, learned, tick))
        if composite is not None:
            with progress_bar(len(dataset), f"routing {dataset.name}", quiet) as tick:
                outcomes.append(composite_outcomes(dataset, composite, tick))
        quality.append(dataset.scores)
        cost.append(cost_matrix(dataset, pricing))
    if resamples < 10:
        raise InputError("--resamples must be at least 10")
    with progress_steps(quiet) as step:
        step(f"choosing thresholds, {resamples} bootstrap resamples")
        result = calibrate(
            np.vstack(scores),
            np.vstack(quality),
            np.vstack(cost),
            loaded[0].tiers,
            goal,
            resamples=resamples,
            conservative=not point_estimate,
            outcome=np.vstack(outcomes) if outcomes else None,
        )
    if output is not None:
        write_policy(output, router, result.thresholds, policy)
    if as_json:
        out.print_json(json.dumps(result.as_dict()))
        return
    if not result.met:
        err.print(
            f"[yellow]warning:[/yellow] no thresholds reach {target} on this data; "
            "the closest are shown"
        )
    shown = ", ".join(f"{t.value} {v:.4f}" for t, v in result.thresholds.items())
    out.print(f"thresholds: {shown} (calibrated on {result.rows} rows)")
    if goal.kind == "retention" and not point_estimate:
        out.print(
            f"retention lower bound (one-sided 95%): {result.retention_lower_bound:.1%}, "
            f"the figure held to the target {goal.value:.0%}"
        )
    for label, interval in (
        ("retention", result.retention),
        ("savings", result.savings),
        ("top-tier share", result.top_share),
    ):
        out.print(
            f"{label}: {interval.value:.1%} (95% CI {interval.low:.1%} – {interval.high:.1%})"
        )
    out.print(f"cost: ${result.usd_per_1000:.4f} per 1,000 prompts")
    if output is not None:
        out.print(f"policy written to {output}")


def _unseen_rows(loaded: list[Dataset], prints: Fingerprints, allow: bool) -> list[Dataset]:
    """The datasets without the rows whose fingerprints the router holds (it was fitted on
    them); with ``allow``, all rows and a loud warning. Says how many rows it excluded."""
    import numpy as np

    from tierwise.learned.fingerprint import seen

    kept: list[Dataset] = []
    for dataset in loaded:
        mask = seen(prints, (row.prompt for row in dataset.rows))
        count = int(mask.sum())
        if count and allow:
            err.print(
                f"[bold red]warning:[/bold red] {dataset.name}: {count} of {len(dataset)} rows "
                "are rows the router was trained on; calibrating on them is in-sample and the "
                "retention claimed will not hold on new prompts"
            )
            kept.append(dataset)
            continue
        if count:
            err.print(
                f"{dataset.name}: excluded {count} of {len(dataset)} rows the router was "
                "trained on (--allow-train-rows keeps them)"
            )
        if count == len(dataset):
            raise InputError(
                f"{dataset.name}: every row was used to train the router: calibrate on rows it "
                "never saw (or pass --allow-train-rows to calibrate in-sample)"
            )
        kept.append(dataset.subset(np.nonzero(~mask)[0]))
    return kept


def write_policy(
    path: Path, router: Path, thresholds: dict[Tier, float], base: str | None = None
) -> None:
    """A policy that extends the default and lets the learned router decide, or (``base``)
    extends the policy that was calibrated, with the router and thresholds set. Paths are
    written absolute: the loader opens ``learned.router`` as given, from whatever folder the
    process runs in, so a relative path would break when run elsewhere."""
    from tierwise.core.policy import SHIPPED_POLICIES

    if base is None:
        head = [
            "# Written by tierwise calibrate: the learned router decides unless the caller names",
            "# a task type or domain; user-tier bounds and context-size floors still apply.",
            'extends = "default"',
            'strategies = ["task_type", "domain", "learned", "user_tier", "context_size", '
            '"default"]',
        ]
    else:
        shipped = base in SHIPPED_POLICIES and not Path(base).exists()
        head = [
            f"# Written by tierwise calibrate: the thresholds were chosen on {base}'s own",
            "# decisions (its rules decide where they do, the learned router elsewhere).",
            f"extends = {json.dumps(base if shipped else str(Path(base).resolve()))}",
        ]
    lines = [
        *head,
        "",
        "[learned]",
        f"router = {json.dumps(str(router.resolve()))}",
        "thresholds = { " + ", ".join(f"{t.value} = {v:.6f}" for t, v in thresholds.items()) + " }",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
