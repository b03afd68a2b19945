"""The examples of README.md and README.pt-BR.md run, and the two READMEs say the same."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docs_runner import ROOT, python_blocks, run_page

from pepperpy_core.testing import LocalServer

READMES = ["README.md", "README.pt-BR.md"]


@pytest.mark.parametrize("name", READMES)
async def test_readme_examples_run(
    name: str, server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each python block runs against a local server and prints what its comment promises."""
    await run_page(ROOT / name, {"https://api.example.com": server.base_url}, tmp_path)
    assert "['alice', 'bob'] True" in capsys.readouterr().out


def test_readmes_have_the_same_code_and_commands() -> None:
    """Both languages carry the same code blocks and the same two set-up commands."""
    english, portuguese = (python_blocks(ROOT / n) for n in READMES)
    strip = re.compile(r"#.*$|\"\"\".*?\"\"\"", re.M | re.S)
    assert [strip.sub("", b) for b in english] == [strip.sub("", b) for b in portuguese]
    for name in READMES:
        text = (ROOT / name).read_text(encoding="utf-8")
        assert "./dev.sh run demo" in text and "./dev.sh test" in text


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run calls the test command README.md gives."""
    assert "./dev.sh test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_portuguese_readme_says_the_guides_are_in_english() -> None:
    """The Portuguese reader is told before the links that the guides are in English."""
    text = (ROOT / "README.pt-BR.md").read_text(encoding="utf-8")
    docs = text.split("## Documentação", 1)[1]
    first_link = docs.index("](docs/")
    assert "em inglês" in docs[:first_link]
