"""Commands that are not stages: `imbalance-lab compare-with` (the workspace against a git revision) and
`imbalance-lab pull` (`dvc pull`, with the remote's folder and every fetched object checked)."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from imbalance_lab.settings.params import PipelineError
from imbalance_lab.settings.paths import SUMMARY_JSON


def cmd_compare_with(args) -> None:
    """Markdown report of the workspace against a git revision, for a pull request."""
    import subprocess

    from imbalance_lab.reporting.report import comparison_markdown

    # Only a revision, never an option (e.g. --output=FILE); git and dvc are given its commit hash.
    found = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{args.rev}^{{commit}}"],
                           capture_output=True, text=True)
    if args.rev.startswith("-") or found.returncode != 0:
        raise PipelineError(f"unknown git revision {args.rev!r}; name a branch, tag or commit")
    commit = found.stdout.strip()

    def dvc_json(*command: str) -> dict:
        result = subprocess.run([sys.executable, "-m", "dvc", *command, commit, "--json"],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise PipelineError(f"`dvc {' '.join(command)} {args.rev}` failed: {result.stderr.strip()}")
        return json.loads(result.stdout or "{}")

    then = subprocess.run(["git", "show", f"{commit}:{SUMMARY_JSON.as_posix()}"], capture_output=True, text=True)
    summary_then = json.loads(then.stdout) if then.returncode == 0 else None
    summary_now = json.loads(SUMMARY_JSON.read_text(encoding="utf-8")) if SUMMARY_JSON.exists() else None
    print(comparison_markdown(args.rev, dvc_json("metrics", "diff"), dvc_json("params", "diff"),
                              summary_now, summary_then))


def missing_remote_folder(remote: str | None) -> str | None:
    """Why `dvc pull` from ``remote`` (None: the default) cannot work, or None if it may: DVC itself
    only lists missing hashes when the remote's folder does not exist."""
    from dvc.repo import Repo

    with Repo(os.curdir) as repo:
        config = repo.config  # a relative local url comes back absolute (resolved from .dvc/)
    name = remote or config["core"].get("remote")
    if not name:
        return ("no default DVC remote is set: point one at the team's folder or bucket with "
                "`dvc remote add -d --local shared <path-or-url>`")
    url = str(config["remote"].get(name, {}).get("url", ""))
    if not url or re.match(r"\w+://", url) or os.path.isdir(url):  # unknown names and URLs: DVC says
        return None
    return (f"the shared folder {url} (DVC remote '{name}') does not exist yet: whoever has the data creates it "
            f"with `dvc push` (after `dvc repro`), or point the remote at the team's folder or bucket with "
            f"`dvc remote modify --local {name} url <path-or-url>` (see README, \"Working as a team\")")


def workspace_objects(remote: str | None) -> dict[str, str]:
    """The DVC objects (md5 -> the path they hold) that the workspace's dvc.lock and .dvc files name, with the
    files of each folder whose listing is in the cache; as many as DVC can list (for the messages only)."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(os.curdir) as repo:
            return {info.value: info.obj_name for infos in repo.used_objs(remote=remote).values() for info in infos
                    if info.name == "md5" and info.value}
    except DvcException:  # a folder's listing missing or corrupt
        return {}


def cached_objects() -> tuple[str, set[str]]:
    """The local DVC cache's folder and every object in it."""
    from dvc.repo import Repo

    with Repo(os.curdir) as repo:
        return repo.cache.local.path, set(repo.cache.local.all())


@contextmanager
def corrupt_objects_found_by_dvc() -> Iterator[list[str]]:
    """The paths of the objects DVC itself finds corrupt while it works (a folder remote's copy whose content does
    not match its hash: DVC deletes it, then only calls it missing). DVC says so in a debug line only: it is
    caught here, and the logger's other debug lines stay hidden as before."""
    paths: list[str] = []
    found = re.compile(r"corrupted cache file '(.+)'\.$")

    def keep(record: logging.LogRecord) -> bool:
        match = found.match(record.getMessage()) if record.levelno < logging.INFO else None
        if match:
            paths.append(match[1])
        return record.levelno >= logging.INFO

    logger = logging.getLogger("dvc_data.hashfile.db")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addFilter(keep)
    try:
        yield paths
    finally:
        logger.removeFilter(keep)
        logger.setLevel(level)


def corrupt_in_cache(oids) -> list[str]:
    """Of the objects ``oids`` in the local cache, those whose content does not match their md5; each is
    removed from the cache (so that nothing is checked out from it)."""
    import hashlib

    from dvc.repo import Repo

    corrupt = []
    with Repo(os.curdir) as repo:
        cache = repo.cache.local
        for oid in oids:
            path = Path(cache.oid_to_path(oid))
            if not path.is_file():
                continue
            digest = hashlib.md5(usedforsecurity=False)
            with path.open("rb") as file:
                for block in iter(lambda: file.read(1 << 20), b""):
                    digest.update(block)
            if digest.hexdigest() != oid.split(".")[0]:
                path.unlink()
                corrupt.append(oid)
    return corrupt


def corrupt_listings(remote: str | None) -> list[tuple[str, str]]:
    """(md5, path) of each folder listing (a .dir object) the workspace names that is neither in the local cache nor
    sound on the remote: DVC cannot read a corrupt one ("object ... is corrupted") and fetches nothing of its
    folder. Read from the remote here, on failure only (listings are small)."""
    import hashlib

    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    corrupt = []
    try:
        with Repo(os.curdir) as repo:
            odb, cache = repo.cloud.get_remote_odb(remote), repo.cache.local
            for out in repo.index.outs:
                oid = out.hash_info.value if out.use_cache and out.hash_info else None
                if not oid or not oid.endswith(".dir") or cache.exists(oid) or not odb.exists(oid):
                    continue
                with odb.fs.open(odb.oid_to_path(oid), "rb") as file:
                    if hashlib.md5(file.read(), usedforsecurity=False).hexdigest() != oid.split(".")[0]:
                        corrupt.append((oid, str(out)))
    except DvcException:  # DVC's own message stands
        return []
    return corrupt


def corrupt_object_error(remote: str | None, oid: str, what: str | None) -> PipelineError:
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(os.curdir) as repo:
            where = f"object {repo.cloud.get_remote_odb(remote).oid_to_path(oid)}"
    except DvcException:
        where = f"copy of the object {oid}"
    held = f" (it holds {what})" if what else ""
    return PipelineError(
        f"the DVC remote's {where}{held} is corrupt: its content does not match its hash {oid}; nothing was "
        "checked out. Delete that file from the remote if it is still there, then whoever has the data (or reruns "
        "`dvc repro`) runs `dvc push` to upload a good copy")


def cmd_pull(args) -> None:
    """`dvc pull` as `dvc fetch` then `dvc checkout`, once the remote's folder is known to exist, with every
    fetched object checked against its hash in between: a corrupt copy on the remote is named, never checked
    out, and never reported as a missing push."""
    from dvc.cli import main as dvc_main

    problem = missing_remote_folder(args.remote)
    if problem:
        raise PipelineError(problem)
    cache, cached = cached_objects()
    with corrupt_objects_found_by_dvc() as found:
        code = dvc_main(["fetch", *(["--remote", args.remote] if args.remote else [])])  # in-process: no shell
    # DVC's own finding on the remote (a corrupt local copy it fetches again): <db>/xx/rest is the object xxrest.
    corrupt = ["".join(path.replace("\\", "/").split("/")[-2:]) for path in found if not path.startswith(cache)]
    corrupt += corrupt_in_cache(sorted(cached_objects()[1] - cached))
    if corrupt:
        raise corrupt_object_error(args.remote, corrupt[0], workspace_objects(args.remote).get(corrupt[0]))
    for oid, what in corrupt_listings(args.remote) if code else []:
        raise corrupt_object_error(args.remote, oid, what)
    if code:
        raise PipelineError(f"`dvc fetch` failed (exit code {code}, DVC's message above); if it lists missing "
                              "cache files, this commit's data was never pushed: whoever ran `dvc repro` for it "
                              "runs `dvc push`")
    code = dvc_main(["checkout"])
    if code:
        raise PipelineError(f"`dvc checkout` failed (exit code {code}, DVC's message above)")
