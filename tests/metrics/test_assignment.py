import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from metrics.assignment import Arm, assign_arm, bucket

# Fixed vectors: these must never change, or running experiments would silently reshuffle their units.
VECTORS = [
    ("salt-1", "requester-1", 413, Arm.ASSISTED),
    ("salt-1", "requester-2", 8439, Arm.CONTROL),
    ("salt-1", "42", 2960, Arm.ASSISTED),
    ("salt-1", "", 9648, Arm.CONTROL),
]
ROOT = Path(__file__).resolve().parents[2]


def test_hash_vectors_are_fixed():
    for salt, unit_id, expected_bucket, expected_arm in VECTORS:
        assert bucket(salt, unit_id) == expected_bucket
        assert assign_arm(salt, unit_id) == expected_arm


def test_assignment_is_the_same_in_another_process_with_another_hash_seed():
    script = "from metrics.assignment import bucket; print([bucket(s, u) for s, u in %r])" % [
        (salt, unit) for salt, unit, _, _ in VECTORS
    ]
    output = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert output.strip() == str([expected for _, _, expected, _ in VECTORS])


def test_split_follows_the_assisted_share():
    arms = Counter(assign_arm("holdout", f"unit-{index}", 1_000) for index in range(20_000))
    assert 0.09 < arms[Arm.ASSISTED] / 20_000 < 0.11


def test_salt_changes_the_assignment():
    first = [assign_arm("a", str(index)) for index in range(200)]
    second = [assign_arm("b", str(index)) for index in range(200)]
    assert first != second
