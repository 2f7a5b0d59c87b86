from pathlib import Path

from av_edge.topics import markdown_table

ROOT = Path(__file__).resolve().parent.parent


def test_readme_topic_table_matches_the_registry() -> None:
    assert markdown_table() in (ROOT / "README.md").read_text(), "regenerate with `av-edge topics`"


def test_readme_starts_with_the_two_commands() -> None:
    head = (ROOT / "README.md").read_text()[:1500]
    assert "make demo" in head and "make test" in head
