"""Checks across the entries of one board: what no entry may claim about another.

A board is the submission folders side by side in one directory (``submissions/``); an entry's
own checks (:func:`.validate.validate_submission_dir`, checks 0–5) cannot see what it says about
the others. Here, among the entries that pass their own checks:

* **One model file, one entry.** Two entries whose ``submission_sha256`` is the same are the same
  model under two names: both are refused. The files cannot tell which came first, so the board
  lists neither until one is removed; in practice ``gnnbench validate`` run on a pull request
  refuses the copy, because the original is already beside it.
* **A seed group is one recipe by one set of authors.** ``seed_group`` joins entries into one
  spread row (mean and min–max RMSE over seeds). Its members must share ``authors`` (as a set)
  and ``code_url``: those held by most of the group's members own it, and a member with other
  authors or another code_url is refused. When no set holds a majority (one seed each, say), no
  member can be told from the intruder and all of them are refused.
* **An ablation is of an entry on the board, by its own authors or with its consent.**
  ``ablation_of: X`` needs an entry X on the board with the same authors and code_url, or an X
  whose metadata lists this entry under ``ablations``; otherwise it is refused (an entry cannot
  make itself look like another author's variant, or make another author's entry look like its own).
* **The baselines' numbers come from the data.** Zero displacement, constant velocity, the Verlet
  baselines, the MD reference curves and the targets' floor are the same for every entry scored
  on one dataset build (the committed entries agree to the last digit). An entry whose baseline
  numbers differ from those most entries of its build hold (relative tolerance 1e-6) is refused:
  a worse Verlet k = 1 would pass an entry's stride check. When no value holds a majority, every
  entry that differs is refused.

Authors and code_url are what the metadata says; nothing here proves who wrote an entry. An
entry that copies another's authors and code_url to join its group claims to be them, which is
plain in the pull request; one that joins with its own names is what these checks refuse.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..untrusted import short

BASELINE_RTOL = 1e-6
MAX_NAMED = 5  # entries named in one message


@dataclass(frozen=True)
class Member:
    """An entry on the board: its folder name, its metadata and, when its scores.json passed its own
    checks, the dataset build it was scored on with its numbers that come from the data alone
    (:func:`baseline_records`, each as canonical JSON: compact to keep, exact to compare)."""

    name: str
    metadata: dict
    build: tuple | None = None
    records: dict[str, str] | None = None

    @classmethod
    def of(cls, name: str, metadata: dict, scores: dict | None) -> Member:
        if scores is None:
            return cls(name, metadata)
        d = scores["dataset"]
        records = {path: json.dumps(value, sort_keys=True) for path, value in baseline_records(scores).items()}
        return cls(name, metadata, (scores["scorer_version"], d["name"], d["version"], d["config"], d["data_sha256"]), records)

    @property
    def identity(self) -> tuple[tuple[str, ...], str]:
        """(authors as a sorted set, code_url): who made it and from what code, as its metadata says."""
        return tuple(sorted(set(self.metadata.get("authors") or ()))), str(self.metadata.get("code_url", ""))


def _names(names) -> str:
    names = sorted(names)
    return ", ".join(names[:MAX_NAMED]) + (f" and {len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else "")


def _who(identity: tuple[tuple[str, ...], str]) -> str:
    authors, code = identity
    return f"authors {short('; '.join(authors), 80)}, code_url {short(code, 80)}"


def board_problems(members: list[Member]) -> dict[str, list[tuple[str, str]]]:
    """Per entry name, its problems as (file, message): the file is "metadata.yaml" or "scores.json"."""
    problems: dict[str, list[tuple[str, str]]] = {}

    def add(name: str, file: str, message: str) -> None:
        problems.setdefault(name, []).append((file, message))

    by_sha: dict[str, list[Member]] = {}
    for member in members:
        by_sha.setdefault(str(member.metadata.get("submission_sha256")), []).append(member)
    for sha, same in by_sha.items():
        if len({m.name for m in same}) > 1:
            for member in same:
                add(member.name, "metadata.yaml",
                    f"its model (sha256 {sha[:12]}…) is also on the board as {_names(m.name for m in same if m.name != member.name)}: "
                    "one model file is one entry, and the same file under another name is refused (the files cannot tell which "
                    "came first: remove the copy)")

    groups: dict[str, list[Member]] = {}
    for member in members:
        if member.metadata.get("seed_group"):
            groups.setdefault(str(member.metadata["seed_group"]), []).append(member)
    for group, group_members in groups.items():
        owners = _majority([m.identity for m in group_members])
        for member in group_members:
            if member.identity == owners:
                continue
            others = [m for m in group_members if m.name != member.name]
            held = (f"it is held by {_names(m.name for m in group_members if m.identity == owners)} ({_who(owners)})" if owners
                    else f"its members disagree on who made it ({_names(m.name for m in others)} beside this entry) and none "
                         "holds a majority")
            add(member.name, "metadata.yaml",
                f"seed_group {short(group, 64)!r}: {held}; this entry's {_who(member.identity)} differ, and a seed group joins only "
                "entries of the same authors and code_url")

    by_name = {m.name: m for m in members}
    for member in members:
        base_name = member.metadata.get("ablation_of")
        if not base_name:
            continue
        base = by_name.get(base_name)
        if base_name == member.name:
            add(member.name, "metadata.yaml", "ablation_of names the entry itself")
        elif base is None:
            add(member.name, "metadata.yaml", f"ablation_of {short(base_name, 64)!r}: no such entry on the board beside it")
        elif base.identity != member.identity and member.name not in (base.metadata.get("ablations") or []):
            add(member.name, "metadata.yaml",
                f"ablation_of {base_name!r}: that entry has {_who(base.identity)}, this one {_who(member.identity)}, and "
                f"{base_name} does not list {member.name} under its ablations; an ablation is by the same authors and code, "
                "or named by the entry it varies")

    for name, message in _baseline_problems(members).items():
        add(name, "scores.json", message)
    return problems


def _majority(values: list):
    """The value held by more members than any other, or None on a tie."""
    counts = Counter(values).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return None
    return counts[0][0]


def baseline_records(scores: dict) -> dict[str, object]:
    """Every number of ``scores`` that comes from the data alone, by path: the baselines' stride records
    (every target kind, split, Δt and temperature), the Verlet rollout baselines, the MD reference
    curves, and the NVE targets' floor."""
    from ..score.baselines import SUBMISSION

    records: dict[str, object] = {"dataset/nve_target_floor_A": scores["dataset"].get("nve_target_floor_A")}
    for kind, by_split in scores["stride_accuracy"].items():
        for split, result in by_split.items():
            if result.get("failed"):
                continue
            tables = [("overall", result["overall"]), *((f"per_temperature/{t}", d) for t, d in result["per_temperature"].items())]
            for label, by_dt in tables:
                for dt, at in by_dt.items():
                    for who, record in at.items():
                        if who != SUBMISSION and isinstance(record, dict) and "mse_A2" in record:
                            records[f"stride_accuracy/{kind}/{split}/{label}/{dt}/{who}"] = record
    for mode, result in scores["rollouts"].items():
        if "skipped" in result:
            continue
        records[f"rollouts/{mode}/reference"] = result.get("reference")
        for who, model in result.get("models", {}).items():
            if who != SUBMISSION:
                records[f"rollouts/{mode}/models/{who}"] = model
    return records


def _baseline_problems(members: list[Member]) -> dict[str, str]:
    by_build: dict[tuple, list[Member]] = {}
    for member in members:
        if member.build is not None:
            by_build.setdefault(member.build, []).append(member)
    out: dict[str, str] = {}
    for build in by_build.values():
        if len(build) < 2:
            continue
        differences: dict[str, list[str]] = {}
        for path in sorted(set().union(*(m.records for m in build))):
            held = {m.name: m.records[path] for m in build if path in m.records}
            majority = _majority(list(held.values()))
            for name, text in held.items():
                if text == majority:
                    continue
                against = majority if majority is not None else next(t for n, t in held.items() if n != name)
                found = _differences(json.loads(text), json.loads(against), path) if against != text else []
                differences.setdefault(name, []).extend(found)
        for name, found in differences.items():
            if not found:
                continue
            others = len(build) - 1
            out[name] = (f"numbers that come from the data alone differ from those of the {others} other "
                         f"{'entry' if others == 1 else 'entries'} scored on the same dataset build ({short('; '.join(found[:3]), 300)}"
                         f"{f'; and {len(found) - 3} more' if len(found) > 3 else ''}): baselines and MD references are the same for "
                         "every entry; rescore it")
    return out


def _differences(a, b, where: str) -> list[str]:
    """Paths at which two JSON trees differ (numbers with BASELINE_RTOL)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{where}/{k}: only in one" for k in sorted(set(a) ^ set(b))]
        for key in sorted(set(a) & set(b)):
            out += _differences(a[key], b[key], f"{where}/{key}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: length {len(a)} vs {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _differences(x, y, f"{where}/{i}")]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        return [] if math.isclose(a, b, rel_tol=BASELINE_RTOL, abs_tol=1e-300) else [f"{where}: {a:.6g} vs {b:.6g}"]
    return [] if a == b else [f"{where}: {short(repr(a), 30)} vs {short(repr(b), 30)}"]


def sibling_folders(folder: Path) -> list[Path]:
    """The other submission folders beside ``folder`` (its board): real directories with a safe name."""
    from ..untrusted import SAFE_NAME

    folder = Path(folder)
    try:
        candidates = sorted(folder.parent.iterdir())
    except OSError:
        return []
    return [p for p in candidates if p.name != folder.name and SAFE_NAME.match(p.name) and not p.is_symlink() and p.is_dir()]
