"""The documentation: ``mkdocs build --strict`` succeeds, the API reference names the public API,
relative links between pages resolve, and nothing cites design notes outside the repository."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = ("index", "architecture", "protocol", "security", "integer-semantics", "api")

# spelled in two parts so that this file does not mention them itself
FORBIDDEN = ("design" + ".md", "protocols" + ".md")


def _require_mkdocs() -> None:
    try:
        import mkdocs  # noqa: F401
        import mkdocstrings  # noqa: F401
    except ImportError:  # pragma: no cover - the dev extra installs both
        pytest.fail('mkdocs and mkdocstrings are missing: pip install -e ".[docs]" (or ".[dev]")')


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site built by ``mkdocs build --strict`` (warnings are errors)."""
    _require_mkdocs()
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    return out


def test_strict_build_has_every_page(site: Path) -> None:
    for page in PAGES:
        path = site / "index.html" if page == "index" else site / page / "index.html"
        assert path.is_file(), f"{page}.md was not built"


def test_api_reference_names_the_public_api(site: Path) -> None:
    html = (site / "api" / "index.html").read_text(encoding="utf-8")
    anchors = set(re.findall(r'id="([^"]+)"', html))
    for name in (
        "zkinfer.setup", "zkinfer.prove", "zkinfer.verify",
        "zkinfer.errors.ZkinferError", "zkinfer.errors.VerificationError",
        "zkinfer.errors.ProofFormatError", "zkinfer.errors.ModelError",
        "zkinfer.proof.Proof", "zkinfer.proof.VerifyingKey", "zkinfer.proof.ProvingKey",
        "zkinfer.security.soundness", "zkinfer.security.Soundness",
        "zkinfer.models.tiny", "zkinfer.models.minilm",
        "zkinfer.estimate.estimate", "zkinfer.keys.check_key",
    ):
        assert name in anchors, f"the API reference does not document {name}"
    # the docstrings' reST roles are rendered as code, not shown verbatim
    assert ":func:`" not in html and ":class:`" not in html


def _slug(heading: str) -> str:
    """The anchor Python-Markdown's ``toc`` extension gives a heading (its default slugify)."""
    text = re.sub(r"[`*_]", "", heading).strip().lower()
    text = re.sub(r"[^\w\s-]", "", text)
    return re.sub(r"[-\s]+", "-", text)


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*$", text, re.MULTILINE)}


def test_relative_links_between_pages_resolve() -> None:
    pages = sorted(DOCS.glob("*.md"))
    assert {p.stem for p in pages} >= set(PAGES)
    checked = 0
    for page in pages:
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            file, _, anchor = target.partition("#")
            dest = (page.parent / file).resolve() if file else page
            assert dest.is_file(), f"{page.name}: link to missing {target}"
            assert dest.is_relative_to(DOCS), f"{page.name}: link out of docs/: {target}"
            if anchor:
                assert anchor in _anchors(dest), f"{page.name}: no heading #{anchor} in {dest.name}"
            checked += 1
    assert checked > 0


def test_no_mention_of_design_notes_outside_the_repository() -> None:
    files = [ROOT / "README.md"]
    for top in ("zkinfer", "docs", "tests", "benchmarks"):
        files += [p for p in (ROOT / top).rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts]
    for path in files:
        data = path.read_bytes().lower()
        for name in FORBIDDEN:
            assert name.encode() not in data, f"{path.relative_to(ROOT)} mentions {name}"
