"""Every documented path runs as written: the code blocks of README.md and docs/, and the site.

Each fenced block tagged ``python``, ``bash``, ``sh``, ``shell`` or ``console`` is run in the
project's environment (``sys.executable``, ``.venv/bin`` first on ``PATH``), in a scratch
folder that links the repository's top-level entries (so ``python -m benchmarks...`` and
``.venv/bin/python`` work and outputs land in the scratch folder, not in the checkout):

- the python blocks of a page are joined in order into one script and run as ``python
  page.py``, as a reader who saves them would (later blocks see earlier blocks' names);
- each shell block runs with ``bash -e`` (``console`` blocks: the lines after ``$ ``).

A block too long for the suite is preceded in the Markdown by a visible marker, and the test
runs what the marker names instead::

    <!-- test: replaced by "python -m benchmarks.sweep --games ultimatum --dry-run" -->
    <!-- test: file sweep.toml -->      (the block is written to that file, for later blocks)
    <!-- test: skip (output example) --> (only before a block that is not code to run)
    <!-- test: run by tests/learners/test_sweeps.py -->  (that file runs the block verbatim,
                                     and must name the page; not run a second time here)

An unmarked block that fails, or a marker that does not sit right before a block, fails the
test. The script-written pages (``docs/benchmarks/``, ``docs/latest-demo/``,
``docs/planted-demo/``) cannot carry markers, so their runnable blocks are listed in
``WRITTEN_BY_SCRIPTS`` below with the smaller command run in their place.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
README_MAX_LINES = 250
RUN_LANGUAGES = {"python", "bash", "sh", "shell", "console"}
SHELL_LANGUAGES = RUN_LANGUAGES - {"python"}
# Entries of the checkout that the scratch folder must not share (outputs land there).
NOT_LINKED = {".git", "results", "site", ".pytest_cache", ".ruff_cache", ".hypothesis"}
PAGE_TIMEOUT_S = 300
# Pages run two at a time: each is mostly one Python process, and the machine has 2 cores.
PAGES_AT_ONCE = 2

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`\n]*)$")
MARKER = re.compile(r"^\s*<!--\s*test:\s*(?P<body>.*?)\s*-->\s*$")
REPLACED = re.compile(r'^replaced by "(?P<command>.+)"$')
FILE = re.compile(r"^file (?P<name>[\w./-]+)$")
SKIP = re.compile(r"^skip \((?P<reason>.+)\)$")
RUN_BY = re.compile(r"^run by (?P<test>tests/[\w/]+\.py)$")

# Blocks of script-written pages (not editable by hand): (page, first line of the block)
# -> the command run instead, or None to run the block as written.
WRITTEN_BY_SCRIPTS: dict[tuple[str, str], str | None] = {
    # The planted make demo takes about an hour (the server's CLI is run by findings.md).
    ("docs/planted-demo/README.md", "python -m llm_experts.planted --port 8765 &"):
        "python -m benchmarks.planted_check --help >/dev/null && make -n demo >/dev/null",
}


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown page."""

    page: str
    line: int
    language: str
    code: str
    marker: str | None

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> list[Path]:
    """README.md and every Markdown page under docs/."""
    return [README, *sorted(DOCS.rglob("*.md"))]


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of a page, each with the test marker right before it (if any)."""
    page = path.relative_to(ROOT).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    marker: tuple[int, str] | None = None
    i = 0
    while i < len(lines):
        match = MARKER.match(lines[i])
        if match:
            if marker is not None:
                raise ValueError(f"{page}:{marker[0]}: a test marker without a code block")
            marker = (i + 1, match["body"])
            i += 1
            continue
        fence = FENCE.match(lines[i])
        if fence and "<!--" not in lines[i]:
            start, close = i, fence["fence"]
            language = (fence["info"].strip().split() or [""])[0].lower()
            body: list[str] = []
            i += 1
            while i < len(lines) and lines[i].strip() != close:
                body.append(lines[i][len(fence["indent"]):])
                i += 1
            found.append(Block(page, start + 1, language, "\n".join(body) + "\n",
                               marker[1] if marker else None))
            marker = None
        elif lines[i].strip() and marker is not None:
            raise ValueError(f"{page}:{marker[0]}: a test marker must sit right before a "
                             f"code block, found {lines[i].strip()[:60]!r}")
        i += 1
    if marker is not None:
        raise ValueError(f"{page}:{marker[0]}: a test marker without a code block")
    return found


def _scratch(tmp_path: Path) -> Path:
    """A folder that looks like the checkout (links) but keeps its own outputs."""
    work = tmp_path / "work"
    work.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in NOT_LINKED:
            (work / entry.name).symlink_to(entry)
    return work


def _environment(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    env.update({
        "PATH": bin_dir + os.pathsep + env.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "SUBRATIONAL_GYM_CACHE": str(tmp_path / "answers.sqlite"),
        "PYTHONUNBUFFERED": "1",
    })
    # A user's shell has none of these; a test run through make has some.
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(name, None)
    return env


def _console_commands(code: str) -> str:
    """The commands of a console block: the lines after ``$ `` (and their continuations)."""
    commands: list[str] = []
    continued = False
    for line in code.splitlines():
        if line.startswith("$ ") or continued:
            text = line[2:] if line.startswith("$ ") and not continued else line
            commands.append(text)
            continued = text.rstrip().endswith("\\")
    return "\n".join(commands) + "\n"


def _plan(page: Path) -> list[tuple[str, Block, str]]:
    """What to run for a page: ("python" | "bash" | "file:NAME", block, code), in order."""
    page_name = page.relative_to(ROOT).as_posix()
    plan: list[tuple[str, Block, str]] = []
    for block in blocks(page):
        marker = block.marker
        if marker is None and (page_name, block.code.splitlines()[0]) in WRITTEN_BY_SCRIPTS:
            replacement = WRITTEN_BY_SCRIPTS[(page_name, block.code.splitlines()[0])]
            marker = f'replaced by "{replacement}"' if replacement else None
        if marker is None:
            if block.language == "python":
                plan.append(("python", block, block.code))
            elif block.language == "console":
                plan.append(("bash", block, _console_commands(block.code)))
            elif block.language in SHELL_LANGUAGES:
                plan.append(("bash", block, block.code))
            continue
        if m := REPLACED.match(marker):
            plan.append(("bash", block, m["command"] + "\n"))
        elif m := FILE.match(marker):
            plan.append((f"file:{m['name']}", block, block.code))
        elif m := RUN_BY.match(marker):
            test = ROOT / m["test"]
            if not test.is_file() or page_name not in test.read_text(encoding="utf-8"):
                raise ValueError(f"{block.where}: {m['test']} must exist and name "
                                 f"{page_name} to run this block in its place")
        elif SKIP.match(marker):
            if block.language in RUN_LANGUAGES:
                raise ValueError(f"{block.where}: a {block.language} block cannot be skipped; "
                                 f'mark it <!-- test: replaced by "smaller command" -->')
        else:
            raise ValueError(f"{block.where}: unknown test marker {marker!r}; use "
                             f'replaced by "...", file NAME, run by tests/FILE.py or '
                             f"skip (reason)")
    return plan


def _runnable_pages() -> list[Path]:
    return [p for p in pages() if any(kind != "file" for kind, _, _ in _plan(p))]


def _run(args: list[str], *, cwd: Path, env: dict[str, str], what: str) -> str | None:
    """Run one command; None when it succeeded, else what went wrong."""
    try:
        done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=PAGE_TIMEOUT_S, stdin=subprocess.DEVNULL,
                              start_new_session=True)
    except subprocess.TimeoutExpired as error:
        return f"{what} ran past {PAGE_TIMEOUT_S} s:\n{error.stdout}\n{error.stderr}"
    if done.returncode != 0:
        return (f"{what} failed (exit {done.returncode}):\n"
                f"--- stdout (tail)\n{done.stdout[-4000:]}\n"
                f"--- stderr (tail)\n{done.stderr[-6000:]}")
    return None


def _run_page(page: Path, tmp_path: Path) -> str | None:
    """Run a page's blocks in order: its python blocks as one script, shell blocks apart.

    The python script runs once, where the page's first python block is, with every
    python block of the page (what a reader who saves the page's code runs).
    """
    work, env = _scratch(tmp_path), _environment(tmp_path)
    plan = _plan(page)
    script = [f"# --- {b.where}\n{code}" for kind, b, code in plan if kind == "python"]
    script_path = work / "page_blocks.py"
    script_path.write_text("\n".join(script), encoding="utf-8")
    ran_python = False
    for kind, block, code in plan:
        failure = None
        if kind.startswith("file:"):
            (work / kind.removeprefix("file:")).write_text(code, encoding="utf-8")
        elif kind == "bash":
            failure = _run(["bash", "-e", "-c", code], cwd=work, env=env,
                           what=f"shell block {block.where}: {shlex.quote(code.strip()[:200])}")
        elif not ran_python:
            ran_python = True
            failure = _run([sys.executable, str(script_path)], cwd=work, env=env,
                           what=f"python blocks of {block.page} (script: each block after "
                                f"its '# --- page:line' comment)")
        if failure:
            return failure
    return None


@pytest.fixture(scope="module")
def page_results(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[Path, Future[str | None]]]:
    """Every runnable page started at once, two at a time (pages are independent)."""
    pool = ThreadPoolExecutor(max_workers=PAGES_AT_ONCE)
    futures = {page: pool.submit(_run_page, page, tmp_path_factory.mktemp("page"))
               for page in _runnable_pages()}
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize("page", _runnable_pages(),
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_code_blocks_run(page: Path, page_results: dict[Path, Future[str | None]]) -> None:
    """The page's blocks run as written (or the smaller command their marker names)."""
    failure = page_results[page].result()
    if failure:
        pytest.fail(failure)


def test_blocks_are_found() -> None:
    """The extraction sees the pages' code: the README quickstart and every docs page."""
    readme = blocks(README)
    assert [b.language for b in readme if b.language in RUN_LANGUAGES] == ["bash", "python"]
    assert "gym.make(" in next(b.code for b in readme if b.language == "python")
    documented = [p for p in pages() if p.parent == DOCS]
    assert len(documented) >= 12
    runnable = {p for p in _runnable_pages()}
    # A page whose code another test runs (its blocks marked "run by tests/...") counts.
    run_elsewhere = {p for p in documented
                     if any(b.marker and RUN_BY.match(b.marker) for b in blocks(p))}
    missing = [p.name for p in documented
               if p not in runnable | run_elsewhere and p.name != "index.md"]
    assert not missing, f"pages without a runnable block: {missing}"


def test_marker_misuse_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Markers that would hide a block or sit nowhere are errors, not silent skips."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    page = tmp_path / "page.md"
    page.write_text("<!-- test: skip (slow) -->\n```python\nprint(1)\n```\n")
    with pytest.raises(ValueError, match="cannot be skipped"):
        _plan(page)
    page.write_text("<!-- test: skip (x) -->\nsome text\n```text\nout\n```\n")
    with pytest.raises(ValueError, match="right before a code block"):
        blocks(page)
    page.write_text("<!-- test: run later -->\n```bash\ntrue\n```\n")
    with pytest.raises(ValueError, match="unknown test marker"):
        _plan(page)
    # A block run by another test: that file must exist and name the page.
    page.write_text("<!-- test: run by tests/test_x.py -->\n```python\nprint(1)\n```\n")
    with pytest.raises(ValueError, match="tests/test_x.py must exist and name page.md"):
        _plan(page)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("# runs the block of page.md\n")
    assert _plan(page) == []
    page.write_text('text\n<!-- test: replaced by "echo hi" -->\n```bash\nmake demo\n```\n'
                    "```console\n$ echo a \\\n  b\nout\n```\n")
    kinds = [(kind, code) for kind, _, code in _plan(page)]
    assert kinds == [("bash", "echo hi\n"), ("bash", "echo a \\\n  b\n")]


def test_readme_is_short() -> None:
    n = len(README.read_text(encoding="utf-8").splitlines())
    assert n <= README_MAX_LINES, f"README.md has {n} lines, over {README_MAX_LINES}"


LINK = re.compile(r"\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")


def test_readme_relative_links_resolve() -> None:
    text = README.read_text(encoding="utf-8")
    targets = [m["target"] for m in LINK.finditer(text)]
    relative = [t for t in targets if not re.match(r"^[a-z]+:", t) and not t.startswith("#")]
    assert relative, "the README links no docs page"
    missing = [t for t in relative if not (ROOT / t.split("#")[0]).exists()]
    assert not missing, f"README links to missing files: {missing}"
    assert any(t.startswith("docs/") and t.endswith(".md") for t in relative)


def test_docs_build_strict(tmp_path: Path) -> None:
    """``mkdocs build --strict``: broken links, pages missing from the nav, bad references."""
    mkdocs = Path(sys.executable).parent / "mkdocs"
    command = [str(mkdocs)] if mkdocs.exists() else [sys.executable, "-m", "mkdocs"]
    if shutil.which(command[0]) is None and not Path(command[0]).exists():
        pytest.fail("mkdocs is not installed: pip install -c constraints.txt -e '.[dev]'")
    done = subprocess.run([*command, "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=_environment(tmp_path))
    assert done.returncode == 0, done.stderr[-6000:]
    assert (tmp_path / "site" / "index.html").exists()
    assert (tmp_path / "site" / "api" / "policies" / "index.html").exists()
