"""Sanity checks for coding_requests.jsonl (standard library only).

Run: python tests/data/corpus/check_corpus.py
"""

import collections
import hashlib
import json
import pathlib
import sys

PATH = pathlib.Path(__file__).with_name("coding_requests.jsonl")
TIERS = ["haiku", "sonnet", "opus"]
MINIMUMS = {  # class -> minimum row count
    "rows": 640,
    "non-English": 80,
    "keyword-in-payload traps": 80,
    "cheap-verb hard tasks": 30,
    "mechanical, no keyword": 40,
    "security without vocabulary": 25,
    "long routine specs": 25,
    "agent envelopes": 60,
}


def split_of(row_id: str) -> str:
    return "frozen" if int(hashlib.sha256(row_id.encode()).hexdigest(), 16) % 2 == 0 else "tune"


def main() -> int:
    rows = [json.loads(line) for line in PATH.read_text("utf-8").splitlines() if line.strip()]
    errors = []
    ids = [r["id"] for r in rows]
    if len(ids) != len(set(ids)):
        errors.append("duplicate ids")
    for r in rows:
        rid = r["id"]
        if r["label"] not in TIERS:
            errors.append(f"{rid}: bad label {r['label']!r}")
            continue
        if r["acceptable"] != TIERS[TIERS.index(r["label"]) :]:
            errors.append(f"{rid}: acceptable {r['acceptable']} inconsistent with {r['label']}")
        if r["split"] != split_of(rid):
            errors.append(f"{rid}: split {r['split']} does not match the hash rule")
        if not r.get("prompt") or not r.get("kind") or not r.get("note"):
            errors.append(f"{rid}: missing prompt/kind/note")
        if r["kind"] == "trap-long-routine-spec":
            if r["label"] == "opus":
                errors.append(f"{rid}: long routine spec labelled opus")
            if len(r["prompt"].split()) < 120:
                errors.append(f"{rid}: long routine spec under 120 words")
        clients = {"claude-code", "cline", "aider", "opencode", "codex"}
        if "client" in r and r["client"] not in clients:
            errors.append(f"{rid}: bad client {r['client']!r}")

    kinds = collections.Counter(r["kind"] for r in rows)
    env = [r for r in rows if "client" in r]
    counts = {
        "rows": len(rows),
        "non-English": sum(1 for r in rows if r.get("lang")),
        "keyword-in-payload traps": kinds["trap-keyword-in-payload"]
        + kinds["trap-keyword-in-identifier"],
        "cheap-verb hard tasks": kinds["trap-cheap-verb-hard-task"],
        "mechanical, no keyword": kinds["mechanical-no-keyword"],
        "security without vocabulary": kinds["trap-security-no-vocabulary"],
        "long routine specs": kinds["trap-long-routine-spec"],
        "agent envelopes": len(env),
    }
    for name, minimum in MINIMUMS.items():
        flag = "ok" if counts[name] >= minimum else "TOO FEW"
        if counts[name] < minimum:
            errors.append(f"{name}: {counts[name]} < {minimum}")
        print(f"{name:32s} {counts[name]:4d}  (min {minimum}) {flag}")
    terse = sum(1 for r in rows if "client" not in r and len(r["prompt"].split()) <= 12)
    print(f"{'terse prompts (<= 12 words)':32s} {terse:4d}")
    env_haiku = sum(1 for r in env if r["label"] == "haiku")
    print(f"{'envelope rows labelled haiku':32s} {env_haiku:4d} of {len(env)}")

    def show(title: str, counter: collections.Counter[str]) -> None:
        print(f"\n{title}:")
        for key, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {key:34s} {n:4d}  {100 * n / len(rows):5.1f}%")

    show("by label", collections.Counter(r["label"] for r in rows))
    show("by split", collections.Counter(r["split"] for r in rows))
    show("by split x label", collections.Counter(f"{r['split']} {r['label']}" for r in rows))
    groups = collections.Counter(
        "trap-*"
        if r["kind"].startswith("trap-")
        else "envelope-*"
        if r["kind"].startswith("envelope-")
        else "other"
        for r in rows
    )
    show("by kind group", groups)
    show("by kind", kinds)
    show("by language", collections.Counter(r.get("lang", "en") for r in rows))
    show("by client", collections.Counter(r.get("client", "(none)") for r in rows))

    if errors:
        print("\nERRORS:")
        for e in errors:
            print("  " + e)
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
