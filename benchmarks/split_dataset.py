"""Split labelled datasets into train / calibrate / test files (with their meta files), so a
router is trained, calibrated and measured on three disjoint sets of rows.

    python benchmarks/split_dataset.py DATA_DIR OUT_DIR gsm8k mmlu mmlu_pro [--seed 13]

Writes ``OUT_DIR/NAME_{train,cal,test}.jsonl`` (60 / 20 / 20 % of the rows, shuffled with the
seed) and a ``.meta.json`` beside each, named after the part.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("names", nargs="+")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names:
        text = (args.data / f"{name}.jsonl").read_text(encoding="utf-8")
        rows = [line for line in text.split("\n") if line.strip()]  # not splitlines: U+2028
        random.Random(args.seed).shuffle(rows)
        a, b = int(len(rows) * 0.6), int(len(rows) * 0.8)
        meta = json.loads((args.data / f"{name}.meta.json").read_text(encoding="utf-8"))
        for part, chunk in (("train", rows[:a]), ("cal", rows[a:b]), ("test", rows[b:])):
            (args.out / f"{name}_{part}.jsonl").write_text("\n".join(chunk) + "\n", "utf-8")
            named = {**meta, "name": f"{name}_{part}"}
            (args.out / f"{name}_{part}.meta.json").write_text(json.dumps(named), "utf-8")
        print(f"{name}: {a} train, {b - a} calibrate, {len(rows) - b} test")


if __name__ == "__main__":
    main()
