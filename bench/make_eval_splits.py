"""Write evaluation splits as JSONL for `outcomedesk eval` / `python -m drafting.evaluation`.

BANKING77 (CC BY 4.0, PolyAI-LDN/task-specific-datasets): 80/20 stratified split of train.csv, seed 0.
CLINC150 (CC BY 3.0, clinc/oos-eval): train + oos_train for training, val + oos_val for testing,
plus train alone (no out-of-scope examples) for the robustness check. Out of scope is written as null.

    python bench/make_eval_splits.py OUT_DIR [--data DATA_DIR]

DATA_DIR defaults to the repository's `data/` (or OUTCOMEDESK_DATA_DIR, as in the tests).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
from collections.abc import Iterable
from pathlib import Path

from sklearn.model_selection import train_test_split

SEED = 0
DATA_DIR = Path(os.environ.get("OUTCOMEDESK_DATA_DIR", Path(__file__).resolve().parents[1] / "data"))


def _write(path: Path, rows: Iterable[tuple[str, str | None]]) -> int:
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        for text, intent in rows:
            handle.write(json.dumps({"text": text, "intent": intent}) + "\n")
            count += 1
    return count


def _clinc(rows: list[list[str]]) -> list[tuple[str, str | None]]:
    return [(text, None if intent == "oos" else intent) for text, intent in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--data", default=str(DATA_DIR))
    args = parser.parse_args()
    out, data = Path(args.out_dir), Path(args.data)
    out.mkdir(parents=True, exist_ok=True)

    with open(data / "banking77" / "train.csv", encoding="utf-8", newline="") as handle:
        banking = [(row["text"], row["category"]) for row in csv.DictReader(handle)]
    train, test = train_test_split(
        banking, test_size=0.2, stratify=[intent for _, intent in banking], random_state=SEED
    )
    counts = {
        "banking77_train.jsonl": _write(out / "banking77_train.jsonl", train),
        "banking77_test.jsonl": _write(out / "banking77_test.jsonl", test),
    }

    with gzip.open(data / "clinc150" / "train_val.json.gz", "rt", encoding="utf-8") as handle:
        clinc = json.load(handle)
    counts["clinc150_train.jsonl"] = _write(
        out / "clinc150_train.jsonl", _clinc(clinc["train"] + clinc["oos_train"])
    )
    counts["clinc150_train_no_oos.jsonl"] = _write(
        out / "clinc150_train_no_oos.jsonl", _clinc(clinc["train"])
    )
    counts["clinc150_test.jsonl"] = _write(
        out / "clinc150_test.jsonl", _clinc(clinc["val"] + clinc["oos_val"])
    )
    print(json.dumps(counts, indent=2))


if __name__ == "__main__":
    main()
