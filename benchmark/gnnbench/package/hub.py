"""``gnnbench data push``: upload a built, verified dataset to the Hugging Face hub.

Uploads exactly the files the manifest lists, plus ``manifest.json`` (never ``.work/``), in
one commit, then tags that commit (``v1.0.0``) so users can pin
``load_dataset("gnnmd/al-eam", revision="v1.0.0")``. Needs a token with write access
(``huggingface-cli login`` or ``HF_TOKEN``).
"""

from __future__ import annotations

from pathlib import Path

from .manifest import MANIFEST, read_manifest, verify


def upload_plan(root: Path, repo_id: str, revision: str | None = None) -> dict:
    """What a push would upload: files, total bytes, tag. Refuses a dataset failing verify."""
    problems = verify(root)
    if problems:
        raise ValueError(f"{root} does not match its manifest, refusing to upload: " + "; ".join(problems))
    manifest = read_manifest(root)
    files = sorted(manifest["files"]) + [MANIFEST]
    return {
        "repo_id": repo_id,
        "files": files,
        "bytes": sum(info["bytes"] for info in manifest["files"].values()) + (root / MANIFEST).stat().st_size,
        "tag": revision or f"v{manifest['version']}",
        "commit_message": f"{manifest['dataset']} {manifest['version']}: configs {', '.join(sorted(manifest['configs']))}",
    }


def push(root: Path, repo_id: str, revision: str | None = None, dry_run: bool = False, api=None) -> dict:
    """Upload ``root`` to ``repo_id`` (a dataset repo) and tag the commit; return the plan."""
    plan = upload_plan(Path(root), repo_id, revision)
    if dry_run:
        return plan
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
    commit = api.upload_folder(
        repo_id=repo_id,
        repo_type="dataset",
        folder_path=str(root),
        allow_patterns=plan["files"],
        commit_message=plan["commit_message"],
    )
    api.create_tag(repo_id, tag=plan["tag"], repo_type="dataset", revision=getattr(commit, "oid", None), exist_ok=False)
    return plan
