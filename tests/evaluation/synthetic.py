"""Small synthetic datasets the evaluation and learned-router tests write to a temp folder.

Prompts that say "prove" are hard: the cheap tier fails them and the top tier passes; the
rest both pass, so a router can learn the word and the oracle is known exactly.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

MODELS = {"small-model": "haiku", "mid-model": "sonnet", "big-model": "opus"}


def write_dataset(
    folder: Path, name: str = "toy", rows: int = 120, *, tiers: int = 2, seed: int = 0
) -> Path:
    """Write ``name.jsonl`` + ``name.meta.json``; return the JSONL path."""
    rng = random.Random(seed)
    models = dict(list(MODELS.items())[:: 2 if tiers == 2 else 1])
    topics = ["sort a list", "rename a file", "format json", "list the files", "add two numbers"]
    lines = []
    for i in range(rows):
        hard = i % 3 == 0
        prompt = f"{rng.choice(topics)} {'and prove it is optimal' if hard else 'please'} #{i}"
        scores = dict.fromkeys(models, 1.0)
        if hard:
            scores["small-model"] = 0.0
            if tiers == 3:
                scores["mid-model"] = float(i % 2)
        lines.append(
            json.dumps(
                {
                    "id": f"{name}-{i}",
                    "prompt": prompt,
                    "category": "math" if hard else "chores",
                    "scores": scores,
                    "output_tokens": dict.fromkeys(models, 100),
                }
            )
        )
    path = folder / f"{name}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    meta = {"name": name, "models": {m: {"tier": t} for m, t in models.items()}}
    (folder / f"{name}.meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return path
