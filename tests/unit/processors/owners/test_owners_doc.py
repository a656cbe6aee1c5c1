"""docs/owners.md, held to the loader: every example loads, every refusal reads as documented.

Each ```yaml and ```csv block of the page is loaded with the real loader. A
block whose info string says ``refused`` must be refused, with the message of
the ```text block after it (as ``leadroute owners load --check`` prints it);
blocks that share ``example=NAME`` must load to the same owners (a CSV row and
the YAML it stands for). The page must name every field the loader accepts,
and the examples together must use every one of them; its links must lead to
headings that exist and its ``leadroute`` commands must have the options shown.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from processors.config import ConfigError, parse_yaml
from processors.owners.loader import FIELDS, parse_owners
from processors.owners.models import Owner, owner_from_record, owner_to_record
from streams.cli.main import main
from tests.support.paths import REPO

DOC = REPO / "docs" / "owners.md"
_FENCE = re.compile(r"^```([a-z]+)([^\n]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_SHOWN = re.compile(r"^\$ leadroute owners load --check (\S+)\n(Refused, nothing published: .+)$")


@dataclass(frozen=True)
class Block:
    kind: str  # yaml | csv | text | sh | bash …
    words: tuple[str, ...]
    text: str
    line: int

    @property
    def example(self) -> str | None:
        return next((w.split("=", 1)[1] for w in self.words if w.startswith("example=")), None)

    @property
    def refused(self) -> bool:
        return "refused" in self.words

    def __str__(self) -> str:
        return f"docs/owners.md:{self.line} ({self.kind} block)"


def _blocks() -> list[Block]:
    text = DOC.read_text(encoding="utf-8")
    return [
        Block(m[1], tuple(m[2].split()), m[3], text.count("\n", 0, m.start()) + 1)
        for m in _FENCE.finditer(text)
    ]


def _owner_blocks() -> list[Block]:
    return [b for b in _blocks() if b.kind in ("yaml", "csv")]


def _accepted() -> list[Block]:
    return [b for b in _owner_blocks() if not b.refused]


def _refused() -> list[tuple[Block, str, str]]:
    """(block, file name shown, message shown) for every block documented as refused."""
    blocks = _blocks()
    found = []
    for index, block in enumerate(blocks):
        if block.kind in ("yaml", "csv") and block.refused:
            shown = blocks[index + 1] if index + 1 < len(blocks) else None
            assert shown is not None and shown.kind == "text", f"{block}: no ```text block with its message"
            match = _SHOWN.match(shown.text.strip())
            assert match, f"{shown}: show '$ leadroute owners load --check FILE' and the message"
            found.append((block, match[1], match[2]))
    return found


def _source(block: Block) -> str:
    return f"owners.{block.kind}"


def test_the_page_has_yaml_and_csv_examples_and_refusals() -> None:
    kinds = {(b.kind, b.refused) for b in _owner_blocks()}
    assert kinds == {("yaml", False), ("csv", False), ("yaml", True), ("csv", True)}


@pytest.mark.parametrize("block", _accepted(), ids=str)
def test_every_example_loads_and_travels_on_the_owners_topic(block: Block) -> None:
    owners = parse_owners(block.text, _source(block))
    assert owners, f"{block} loads no owner"
    for owner in owners:  # the record form is what the owners topic and Redis carry
        assert owner_from_record(owner_to_record(owner)) == owner


@pytest.mark.parametrize(("block", "name", "message"), [pytest.param(*r, id=str(r[0])) for r in _refused()])
def test_every_refusal_is_refused_with_the_documented_message(block: Block, name: str, message: str) -> None:
    assert name == _source(block), f"{block}: the message names {name}, the block is {block.kind}"
    with pytest.raises(ConfigError) as caught:
        parse_owners(block.text, name)
    assert f"Refused, nothing published: {caught.value}" == message


@pytest.mark.parametrize(("block", "name", "message"), [pytest.param(*r, id=str(r[0])) for r in _refused()])
def test_the_cli_prints_the_documented_refusal(
    block: Block, name: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path(name).write_text(block.text, encoding="utf-8")
    result = CliRunner().invoke(main, ["owners", "load", "--check", name], catch_exceptions=False)
    assert result.exit_code == 2
    assert " ".join(result.output.split()) == " ".join(message.split())  # the console wraps long lines


def test_examples_that_share_a_name_load_to_the_same_owners() -> None:
    named: dict[str, list[tuple[Block, list[Owner]]]] = {}
    for block in _accepted():
        if block.example:
            named.setdefault(block.example, []).append((block, parse_owners(block.text, _source(block))))
    assert "greta" in named and {b.kind for b, _ in named["greta"]} == {"yaml", "csv"}
    for name, loaded in named.items():
        assert len(loaded) > 1, f"example={name} is used once; nothing to compare it with"
        (first, expected), *others = loaded
        for block, owners in others:
            assert owners == expected, f"{block} does not load to the same owners as {first}"


def test_the_complete_owner_shows_every_field_and_each_one_is_read() -> None:
    """'A complete owner' writes every field; a field the loader gains must be shown there too."""
    complete = next(b for b in _accepted() if b.example == "greta" and b.kind == "yaml")
    (written,) = parse_yaml(complete.text, "owners.yaml").data["owners"]
    assert list(written) == list(FIELDS)
    (greta,) = parse_owners(complete.text, "owners.yaml")
    default = Owner(id="")
    # each value is read, not silently dropped: all but status (shown as its default) differ from it
    same = [name for name in FIELDS if getattr(greta, name) == getattr(default, name)]
    assert same == ["status"]


def test_the_loader_and_the_owner_have_the_same_fields() -> None:
    assert set(FIELDS) == {f.name for f in dataclasses.fields(Owner)}
    assert set(FIELDS) == set(owner_to_record(Owner(id="x")))


def test_the_fields_table_lists_exactly_the_fields_the_loader_accepts() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("\n## Fields\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE)
    assert rows == list(FIELDS)


def test_every_csv_column_is_shown_in_a_csv_example() -> None:
    headers: set[str] = set()
    for block in _accepted():
        if block.kind == "csv":
            headers.update(h.strip() for h in block.text.splitlines()[0].split(","))
    assert sorted(set(FIELDS) - headers) == []


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```$", "", path.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", text, re.MULTILINE)}


def test_every_link_on_the_page_leads_to_a_file_and_heading_that_exist() -> None:
    text = DOC.read_text(encoding="utf-8")
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://")):
            continue
        file_part, _, anchor = target.partition("#")
        path = (DOC.parent / file_part).resolve() if file_part else DOC
        if not path.exists() or (anchor and anchor not in _anchors(path)):
            broken.append(target)
    assert broken == []


def test_every_command_on_the_page_exists_with_the_options_shown() -> None:
    import shlex

    import click

    wrong = []
    for block in _blocks():
        if block.kind not in ("sh", "bash", "text"):
            continue
        for line in block.text.splitlines():
            line = line.removeprefix("$ ").strip()
            if not line.startswith("leadroute "):
                continue
            words = shlex.split(line, comments=True)[1:]
            command: click.Command = main
            while words and isinstance(command, click.Group) and words[0] in command.commands:
                command = command.commands[words.pop(0)]
            if isinstance(command, click.Group):
                wrong.append(f"{line}: no such command")
                continue
            known = {opt for param in command.params for opt in param.opts}
            wrong += [f"{line}: no option {w}" for w in words if w.startswith("--") and w not in known]
    assert wrong == []
