"""Loading datasets: tiers from the meta file, defaults, and errors that name the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.synthetic import write_dataset
from tierwise.analysis.evaluation.dataset import load_dataset, resolve_dataset
from tierwise.core.errors import InputError
from tierwise.core.tiers import Tier


def test_loads_rows_with_tiers_cheapest_first(tmp_path: Path) -> None:
    dataset = load_dataset(write_dataset(tmp_path, rows=9, tiers=3))
    assert dataset.tiers == (Tier.HAIKU, Tier.SONNET, Tier.OPUS)
    assert len(dataset) == 9
    assert dataset.scores.shape == (9, 3)
    assert dataset.scores[0].tolist() == [0.0, 0.0, 1.0]  # row 0 is hard; mid fails even rows


def test_prompt_with_a_unicode_line_separator_stays_one_row(tmp_path: Path) -> None:
    path = write_dataset(tmp_path, rows=2)
    row = json.loads(path.read_text().split("\n")[0])
    row["prompt"] = "a\x85b\u2028c"
    path.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    assert load_dataset(path).rows[0].prompt == "a\x85b\u2028c"


def test_missing_output_tokens_default_to_256(tmp_path: Path) -> None:
    path = write_dataset(tmp_path, rows=1)
    row = json.loads(path.read_text())
    del row["output_tokens"]
    path.write_text(json.dumps(row))
    assert load_dataset(path).output_tokens.tolist() == [[256, 256]]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"prompt": 3}, "'prompt' must be a non-empty string"),
        ({"scores": {"small-model": 2, "big-model": 1}}, "scores.small-model must be a number"),
        ({"scores": {"big-model": 1}}, "scores.small-model must be a number"),
        ({"category": 1}, "'category' must be a string"),
    ],
)
def test_bad_rows_name_line_and_field(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    path = write_dataset(tmp_path, rows=1)
    row = json.loads(path.read_text()) | change
    path.write_text(json.dumps(row))
    with pytest.raises(InputError, match=f":1: {message}"):
        load_dataset(path)


def test_meta_file_must_map_models_to_tiers(tmp_path: Path) -> None:
    path = write_dataset(tmp_path, rows=1)
    path.with_name("toy.meta.json").write_text('{"models": {"small-model": {"tier": "tiny"}}}')
    with pytest.raises(InputError, match=r"models.small-model.tier: unknown tier"):
        load_dataset(path)


def test_names_resolve_in_the_data_folder_or_ask_for_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TIERWISE_EVAL_DATA", raising=False)
    with pytest.raises(InputError, match="TIERWISE_EVAL_DATA"):
        resolve_dataset("gsm8k")
    monkeypatch.setenv("TIERWISE_EVAL_DATA", str(tmp_path))
    assert resolve_dataset("gsm8k") == tmp_path / "gsm8k.jsonl"
