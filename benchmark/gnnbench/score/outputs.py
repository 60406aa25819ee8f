"""Where ``gnnbench score`` writes, decided and checked before anything is scored.

Without ``--out`` a submission's scores go into its own folder; with ``--out`` and one
submission (or ``--baseline``) into that folder; with several, into ``--out/<name>`` where the
name is the submission's folder (or a bare file's stem). Before the first model is loaded:

* two submissions that would write into the same folder are refused (the second used to
  overwrite the first);
* a folder that already holds another submission — a ``metadata.yaml`` or model file that
  is not the one being scored — is refused: the scorer never writes into a submission folder it
  was not asked to score, and ``--baseline`` never replaces a foreign ``metadata.yaml``.
"""

from __future__ import annotations

from pathlib import Path

from ..predict.export import builtin_baseline_sha256
from ..predict.formats import MODEL_FILE_NAMES, model_file
from ..predict.submission import sha256_of
from ..untrusted import METADATA_MAX_BYTES, UntrustedInputError, load_yaml, read_capped, short
from .baselines import Baseline


class OutputError(ValueError):
    """Scoring would write where it must not."""


def _model_file(path: Path) -> Path:
    """A submission argument's model file: the path itself, or the model file of the folder."""
    path = Path(path)
    if not path.is_dir():
        return path
    try:
        return model_file(path)
    except ValueError as err:  # two model files: refused before anything is scored
        raise OutputError(f"{err}; nothing was scored") from None


def _output_name(path: Path) -> str:
    """The folder under ``--out`` of one of several submissions: its folder's name, or a bare file's stem."""
    path = Path(path)
    if path.is_dir():
        return path.resolve().name
    return path.resolve().parent.name if path.name in MODEL_FILE_NAMES else path.stem


def plan_outputs(submissions: list[Path], out: Path | None, baseline: Baseline | None) -> list[Path]:
    """The output folder of each submission (one for ``baseline``), or OutputError if any two collide
    or one holds a different submission (see the module docstring)."""
    if baseline is not None:
        target = Path(out) if out else Path(baseline.entry_name)
        _check_not_foreign(target, baseline.entry_name, builtin_baseline_sha256(baseline.entry_name), own=None)
        return [target]
    targets = []
    for path in submissions:
        if out is None:
            targets.append(_model_file(path).parent)
        else:
            targets.append(Path(out) if len(submissions) == 1 else Path(out) / _output_name(path))
    seen: dict[Path, Path] = {}
    for path, target in zip(submissions, targets, strict=True):
        key = target.resolve()
        if key in seen:
            raise OutputError(f"{seen[key]} and {path} would both write their scores into {target}; nothing was scored. "
                              "Score them one at a time with their own --out, or give folders with different names")
        seen[key] = path
    for path, target in zip(submissions, targets, strict=True):
        model = _model_file(path)
        if model.is_file():
            _check_not_foreign(target, None, sha256_of(model), own=model.parent)
    return targets


def _check_not_foreign(target: Path, name: str | None, sha256: str, own: Path | None) -> None:
    """OutputError if ``target`` holds a submission other than (``name``, ``sha256``); its own folder is fine."""
    if not target.exists() and not target.is_symlink():
        return
    if target.is_symlink() or not target.is_dir():
        raise OutputError(f"{target}: exists and is not a folder; nothing was scored")
    if own is not None and target.resolve() == own.resolve():
        return
    for model in (target / name for name in MODEL_FILE_NAMES):
        if model.exists() or model.is_symlink():
            if model.is_symlink() or not model.is_file() or sha256_of(model) != sha256:
                raise OutputError(f"{target}: holds another submission's {model.name}; the scorer writes only into the folder of the "
                                  "submission it scores, or a new or matching --out; nothing was scored")
    metadata = target / "metadata.yaml"
    if metadata.exists() or metadata.is_symlink():
        try:
            found = load_yaml(read_capped(metadata, METADATA_MAX_BYTES))
        except (UntrustedInputError, OSError) as err:
            raise OutputError(f"{metadata}: unreadable ({short(err, 120)}), so it may be another submission's; "
                              "nothing was scored") from None
        found = found if isinstance(found, dict) else {}
        if found.get("submission_sha256") != sha256 or (name is not None and found.get("name") != name):
            raise OutputError(f"{metadata}: belongs to {short(found.get('name', 'another submission'), 64)}, not to the one being "
                              "scored; the scorer does not replace another submission's metadata.yaml; nothing was scored")


def write_metadata(target: Path, metadata: dict) -> None:
    """Write a built-in baseline's ``metadata.yaml`` beside its scores, atomically (after scoring succeeded)."""
    import yaml

    target.mkdir(parents=True, exist_ok=True)
    tmp = target / ".metadata.yaml.tmp"
    tmp.unlink(missing_ok=True)
    tmp.write_text(yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True))
    tmp.replace(target / "metadata.yaml")
