"""What a server's imported code and settings are made of, and so when it is stale.

A server is stale (it exits; the stage starts the next one, which loads today's files, and runs in it once it
listens, else cold) when any of
these differs from the caller's view:

* ``fingerprint()``, computed by the caller: this package's sources, the interpreter, the names in every
  import-path folder (shadowing modules, installed versions), ``.pth`` files and the
  ``sitecustomize``/``usercustomize`` modules that ran at start-up, and the ``matplotlibrc`` a cold stage
  would read (project root, ``$MATPLOTLIBRC``, ``$MPLCONFIGDIR`` or ``~/.config/matplotlib``);
* ``Loaded``, checked by the server before each fork: every file the server read while importing (modules,
  shared libraries, data files such as matplotlib's own rc and styles) unchanged since it started, so a
  package edited in place under site-packages is seen;
* ``load_environment()``: the variables read at import time (BLAS/OpenMP, CPU features, PYTHON*, MPL*, HOME
  and XDG config folders) select another server; ``process_state()``: limits and niceness a forked child
  cannot take are refused.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from imbalance_lab import THREAD_PINS

# Environment read when the libraries load (BLAS kernel and threads, CPU features, import paths): a
# server serves only callers whose values are its own, so each such environment has its own server.
# HOME and the XDG folders: where matplotlib finds its matplotlibrc and font cache, and the user's site folder.
LOAD_TIME = re.compile(r"^(OPENBLAS|GOTO|OMP|KMP|MKL|BLIS|VECLIB|NPY|NUMPY|PYTHON|LD_|MPL|MATPLOTLIB|SCIPY|"
                       r"SKLEARN|JOBLIB|LOKY|ARROW|PYARROW|PANDAS|TZ$|LANG$|LC_|HOME$|XDG_CONFIG_HOME$|XDG_CACHE_HOME$)")
# Names in an import-path folder that can change what imports: modules, .pth files, versions (packages:
# folders with an __init__.py, see fingerprint).
IMPORTABLE = re.compile(r"\.(py|pyc|so|pth|zip|egg|dist-info|egg-info)$")
READ_LIMIT = 1 << 20  # of a .pth, sitecustomize or matplotlibrc file hashed
FileState = tuple[int, int, int, int, int]  # device, inode, size, modification and change times (ns)


def load_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables of LOAD_TIME, with the thread pins as every stage applies them."""
    env = {**(os.environ if env is None else env)}
    for variable in THREAD_PINS:
        env.setdefault(variable, "1")
    return {key: value for key, value in sorted(env.items()) if LOAD_TIME.match(key)}


def process_state() -> dict[str, Any]:
    """What a process inherits besides its environment: resource limits, niceness, umask, CPU affinity
    and ignored signals. A child takes the caller's; limits and niceness it cannot take run cold."""
    import resource

    umask = os.umask(0o022)
    os.umask(umask)
    limits = {name: list(resource.getrlimit(getattr(resource, name)))
              for name in ("RLIMIT_AS", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_CPU", "RLIMIT_NOFILE", "RLIMIT_STACK")
              if hasattr(resource, name)}
    ignored = [int(signum) for signum in (signal.SIGXFSZ, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
                                          signal.SIGUSR2, signal.SIGALRM) if signal.getsignal(signum) == signal.SIG_IGN]
    return {"limits": limits, "nice": os.getpriority(os.PRIO_PROCESS, 0), "umask": umask,
            "cpus": sorted(os.sched_getaffinity(0)), "ignored": ignored}


def fingerprint(root: Path) -> str:
    """What a server's imported code and settings are made of, as this process sees them now: this
    package's sources, the interpreter, the names in every import-path folder (a module that would
    shadow another, the installed versions), the .pth files and sitecustomize/usercustomize modules that
    ran at start-up, and the matplotlibrc a cold stage of ``root`` would read. A server whose
    fingerprint differs from its caller's is stale and restarts. Files the server read while importing
    (an installed package edited in place) are the server's own check (Loaded). Costs about 1.5 ms
    here (measured: 0.8 ms for the sources, 0.5 ms for 6 folder listings, 0.1 ms for the rest)."""
    digest = hashlib.sha256(f"{sys.prefix}\0{os.path.realpath(sys.executable)}\0{sys.version}".encode())
    package = Path(__file__).resolve().parents[1]  # imbalance_lab, every sub-package
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    for folder in sys.path:
        digest.update(b"\1" + folder.encode())
        try:
            names = sorted(os.listdir(folder or "."))
        except OSError:
            continue
        site = folder.endswith("-packages")
        for name in names:
            # a module or package that would shadow another, a version in a name (not: a data folder)
            if IMPORTABLE.search(name) or ("." not in name and (site or os.path.isfile(
                    os.path.join(folder, name, "__init__.py")))):
                digest.update(name.encode() + b"\0")
            if name.endswith(".pth"):  # run at start-up: their lines can import anything
                digest.update(_read(os.path.join(folder, name)))
    for name in ("sitecustomize", "usercustomize"):  # as this interpreter found them at start-up
        where = getattr(sys.modules.get(name), "__file__", None)
        digest.update(f"\2{name}\0{where}\0".encode() + (_read(where) if where else b""))
    rc = matplotlibrc(root)
    digest.update(f"\3{rc}\0".encode() + (_read(rc) if rc else b""))
    return digest.hexdigest()


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read(READ_LIMIT)
    except OSError as err:
        return f"unreadable: {err.errno}".encode()


def matplotlibrc(root: Path) -> str | None:
    """The settings file matplotlib.matplotlib_fname() picks in a stage of ``root`` (stages import
    matplotlib after moving to the project root), or None for matplotlib's own (a Loaded file)."""
    candidates = [root / "matplotlibrc"]
    if os.environ.get("MATPLOTLIBRC"):
        given = root / os.environ["MATPLOTLIBRC"]
        candidates += [given, given / "matplotlibrc"]
    config = os.environ.get("MPLCONFIGDIR") or os.path.join(
        os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config"), "matplotlib")
    candidates.append(Path(config) / "matplotlibrc")
    return next((str(path) for path in candidates if path.exists() and not path.is_dir()), None)


class Loaded:
    """Every file the server read while importing: the modules, the shared libraries mapped into it, and
    the data files opened (matplotlib's own matplotlibrc and styles, a font cache, ...), each with its
    inode, size and modification and change times as they were after the imports. ``changed()`` names one
    that differs now (a package edited in place), or a file changed after the server started importing
    (it may have loaded either version). About 4,000 files here: 8-13 ms of stat() before each fork."""

    def __init__(self, started_ns: int):
        self.started_ns = started_ns
        self.opened: set[str] = set()
        self.written: set[str] = set()
        self.files: dict[str, FileState] = {}
        self.recording = False

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        """A sys.addaudithook hook: the files opened by Python code, by importlib too."""
        if self.recording and event == "open" and isinstance(args[0], str):
            reads = args[1].strip("rbt") == "" if isinstance(args[1], str) else not (args[2] or 0) & 0o3
            (self.opened if reads else self.written).add(args[0])

    def snapshot(self) -> None:
        self.recording = False
        paths = {getattr(m, "__file__", None) for m in list(sys.modules.values())} | self.opened
        paths -= self.written  # a cache the server wrote itself (matplotlib's font list on first use)
        try:
            with open("/proc/self/maps") as maps:  # the shared libraries: address perms offset dev inode path
                paths |= {fields[5].strip() for fields in (line.split(None, 5) for line in maps) if len(fields) == 6}
        except OSError:
            pass
        for path in paths:
            if isinstance(path, str) and path.startswith("/") and not path.startswith(("/proc/", "/sys/", "/dev/")):
                info = self._stat(path)
                if info is not None:
                    self.files[path] = info

    @staticmethod
    def _stat(path: str) -> FileState | None:
        try:
            info = os.stat(path)
        except OSError:
            return None
        return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns) \
            if stat.S_ISREG(info.st_mode) else None

    def changed(self) -> str | None:
        margin = 1_000_000_000  # file times come from a coarse clock, up to a tick behind time.time_ns()
        for path, info in self.files.items():
            if self._stat(path) != info or info[4] >= self.started_ns - margin:
                return path
        return None
