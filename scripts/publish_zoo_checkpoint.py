"""Publish a trained checkpoint into the model zoo: copy its weights (no optimizer state) under
model_zoo/checkpoints/, and add or replace its manifest entry with sha256 and the accuracies that an
`awbench eval` summary.json measured.

    python scripts/publish_zoo_checkpoint.py NAME CHECKPOINT SUMMARY_JSON [--notes "..."]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from awbench import checkpoint  # noqa: E402
from awbench.evaluation.record import EvaluationRecord  # noqa: E402
from awbench.zoo import sha256_of  # noqa: E402
from model_zoo.manifest import MANIFEST_PATH  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name")
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("summary", type=Path)
    parser.add_argument("--notes", default="")
    args = parser.parse_args()
    model, metadata = checkpoint.load(args.checkpoint)
    summary = EvaluationRecord.read(args.summary)
    metadata = {key: value for key, value in metadata.items() if key != "checkpoint_path"}
    relative = Path("checkpoints") / f"{args.name}.pt"
    target = MANIFEST_PATH.parent / relative
    checkpoint.save(target, model, metadata)
    reported = {
        "clean_accuracy": summary.clean_accuracy,
        "robust_accuracy": summary.worst_case_accuracy,
        "per_attack": summary.robust_accuracy,
        "measured_by": (f"awbench eval, {summary.n_examples} CIFAR-10 test images (seed {summary.seed}), "
                        f"{summary.norm} eps {summary.eps:.5g}, attacks {', '.join(summary.attacks)}; "
                        "robust = worst case"),
    }
    entry = {"name": args.name, "architecture": metadata["architecture"], "dataset": metadata["dataset"],
             "threat_model": metadata["norm"], "eps": metadata["eps"], "method": metadata["method"],
             "file": str(relative), "sha256": sha256_of(target), "reported": reported, "notes": args.notes}
    manifest = json.loads(MANIFEST_PATH.read_text())
    names = [c["name"] for c in manifest["checkpoints"]]
    if args.name in names:  # a republished checkpoint keeps its place in the list
        manifest["checkpoints"][names.index(args.name)] = entry
    else:
        manifest["checkpoints"].append(entry)
    MANIFEST_PATH.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"published {args.name}: {target} ({entry['sha256'][:12]}...)")


if __name__ == "__main__":
    main()
