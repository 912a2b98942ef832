"""``tierwise train``: fit the learned router on labelled datasets or on the decision store.

``cli.py`` registers ``train_command``; scikit-learn and numpy are imported when it runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from tierwise.cli.evaluate import DataDir, QuietOption, load_datasets, progress_steps, render
from tierwise.core.errors import ConfigError, InputError
from tierwise.core.tiers import Tier

if TYPE_CHECKING:
    from tierwise.analysis.evaluation.dataset import Dataset
    from tierwise.analysis.training.holdout import Holdout
    from tierwise.analysis.training.train import Preset
    from tierwise.learned.model import LearnedRouter

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def train_command(
    datasets: Annotated[
        list[str] | None,
        typer.Argument(help="Dataset JSONL files, or names looked up in --data-dir."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Where to write the router (JSON).")
    ] = None,
    cv: Annotated[
        int | None,
        typer.Option("--cv", help="Also print K-fold cross-validated metrics (e.g. --cv 5)."),
    ] = None,
    c: Annotated[
        float | None,
        typer.Option(
            "--c", help="Inverse regularisation strength (default: chosen by validation)."
        ),
    ] = None,
    target: Annotated[
        float,
        typer.Option("--target", help="Retention the shipped default thresholds must hold."),
    ] = 0.95,
    holdout: Annotated[
        float,
        typer.Option(
            "--holdout", help="Share of each dataset held out to calibrate on (never fitted)."
        ),
    ] = 0.2,
    features: Annotated[
        str,
        typer.Option(
            "--features",
            help="Feature preset: auto (chosen by 3-fold CV on the training rows), "
            "words-idf or words-chars.",
        ),
    ] = "auto",
    from_logs: Annotated[
        bool,
        typer.Option(
            "--from-logs",
            help="Learn from the decision store (needs prompts: serve --store-prompts).",
        ),
    ] = False,
    db: Annotated[
        str | None, typer.Option("--db", help="With --from-logs: the store (SQLite path or URL).")
    ] = None,
    tiers: Annotated[
        str, typer.Option("--tiers", help="With --from-logs: the ladder, e.g. haiku,sonnet,opus.")
    ] = "haiku,sonnet,opus",
    prices: Annotated[
        Path | None, typer.Option("--prices", help="With --cv: price tiers with this policy.")
    ] = None,
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="With --cv: print JSON.")] = False,
    quiet: QuietOption = False,
) -> None:
    """Train the learned router and write it as a JSON file."""
    require_learn_extra()
    from tierwise.analysis.training.holdout import train_with_holdout
    from tierwise.analysis.training.train import C_GRID, PRESETS, Example, examples_from_dataset

    if c is not None and c <= 0:
        raise InputError("--c must be more than 0")
    if not 0.5 <= target <= 1:
        raise InputError("--target must be a retention between 0.5 and 1")
    if not 0 <= holdout < 1:
        raise InputError("--holdout must be a share in [0, 1)")
    if features != "auto" and features not in PRESETS:
        raise InputError(f"--features must be auto, {' or '.join(PRESETS)}; got {features!r}")
    preset = PRESETS.get(features)
    if not datasets and not from_logs:
        raise InputError("give dataset files, or --from-logs")
    if output is None and cv is None:
        raise InputError("give -o FILE to write the router (or --cv K to only measure it)")
    examples: list[Example] = []
    groups: list[str] = []
    ladder: set[Tier] = set()
    names: list[str] = []
    loaded = load_datasets(datasets or [], data_dir)
    for dataset in loaded:
        examples.extend(examples_from_dataset(dataset))
        groups.extend([dataset.name] * len(dataset))
        ladder.update(dataset.tiers)
        names.append(dataset.name)
    if from_logs:
        from tierwise.analysis.training.logs import load_log_examples

        log_ladder = tuple(sorted({Tier.parse(t) for t in tiers.split(",") if t.strip()}))
        found = load_log_examples(db, log_ladder)
        examples.extend(found.examples)
        groups.extend(["logs"] * len(found.examples))
        ladder.update(log_ladder)
        names.append("logs")
        err.print(
            f"logs: {len(found.examples)} usable records ({found.without_prompt} without prompt "
            f"text, {found.without_label} without an escalation or quality score)"
        )
    cs = C_GRID if c is None else (c,)
    if cv is not None:
        with progress_steps(quiet) as step:
            _cross_validate(loaded, cv, cs, preset, prices, as_json, step)
    if output is not None:
        with progress_steps(quiet) as step:
            step(f"fitting on {len(examples)} examples, holding out {holdout:.0%} to calibrate")
            router, report = train_with_holdout(
                examples,
                groups,
                sorted(ladder),
                target=target,
                share=holdout,
                preset=preset,
                c=cs,
                prices=_tier_prices(prices, sorted(ladder)),
                trained={"datasets": names},
            )
        router.save(output)
        _report(output, router, report, target)


def _tier_prices(prices: Path | None, ladder: list[Tier]) -> list[float]:
    """Each tier's output price (USD per million tokens) from the policy's tier models: what
    the default operating point minimises among thresholds that keep the target."""
    from tierwise.analysis.evaluation.costs import tier_models
    from tierwise.core.catalog import default_catalog
    from tierwise.core.policy import load_policy

    catalog = default_catalog()
    models = tier_models(load_policy(prices), tuple(ladder))
    return [float(catalog.get(models[t]).prices.output or 1.0) for t in ladder]


def _report(output: Path, router: LearnedRouter, report: Holdout, target: float) -> None:
    """What was fitted, the train/held-out gap, the shipped operating point, the file size."""
    err.print(
        f"router written to {output} ({output.stat().st_size / 1e6:.2f} MB; fitted on "
        f"{report.fit_rows} rows, {report.calibration_rows} held out; tiers "
        f"{', '.join(t.value for t in router.tiers)}; features {router.trained['features']}, "
        f"C {router.trained['c']})"
    )
    fitted, held = report.apgr_fitted, report.apgr_held_out
    if fitted is not None and held is not None:
        err.print(
            f"APGR on fitted rows {fitted:.3f}, on held-out rows {held:.3f} "
            f"(gap {fitted - held:+.3f}: the fitted figure is memorisation, not skill)"
        )
    cal = report.calibration
    if cal is None:
        err.print(
            "[yellow]warning:[/yellow] too few held-out rows with every tier's score: no default "
            "thresholds shipped (0.5 applies); run tierwise calibrate on rows it never saw"
        )
        return
    shown = ", ".join(f"{t.value} {v:.4f}" for t, v in cal.thresholds.items())
    r = cal.retention
    err.print(
        f"default thresholds {shown}: on {cal.rows} held-out rows retention {r.value:.1%} "
        f"(95% CI {r.low:.1%} – {r.high:.1%}; lower bound {cal.retention_lower_bound:.1%} vs "
        f"target {target:.0%}), top-tier share {cal.top_share.value:.1%}"
        + ("" if cal.met else " [yellow](target not reachable below always-top)[/yellow]")
    )


LEARN_MODULES = ("scipy.sparse", "sklearn.linear_model", "sklearn.preprocessing")


def require_learn_extra() -> None:
    """Every optional module training imports, checked before it starts: a missing one is one
    line naming the extra, not a traceback half-way through."""
    import importlib

    for module in LEARN_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            raise ConfigError(
                f"training a router needs {module.partition('.')[0]}, which is not installed: "
                "pip install 'tierwise[learn]'"
            ) from None


def _cross_validate(
    datasets: list[Dataset],
    folds: int,
    c: tuple[float, ...],
    preset: Preset | None,
    prices: Path | None,
    as_json: bool,
    step: Callable[[str], None],
) -> None:
    import numpy as np

    from tierwise.analysis.evaluation.costs import cost_matrix, tier_models
    from tierwise.analysis.evaluation.report import evaluate
    from tierwise.analysis.training.train import cross_val_scores
    from tierwise.core.policy import load_policy

    pricing = load_policy(prices)
    results = []
    for dataset in datasets:
        scores = cross_val_scores(dataset, folds=folds, c=c, preset=preset, progress=step)
        results.append(
            evaluate(
                f"learned ({folds}-fold CV)",
                scores,
                np.full(scores.shape[1], 0.5),
                dataset.scores,
                cost_matrix(dataset, pricing),
                dataset=dataset.name,
                tiers=dataset.tiers,
                models=tier_models(pricing, dataset.tiers, dataset),
            )
        )
    if as_json:
        out.print_json(json.dumps([r.as_dict() for r in results]))
        return
    for result in results:
        render(result)
