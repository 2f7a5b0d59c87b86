from pathlib import Path

from av_edge.topics import markdown_table

ROOT = Path(__file__).resolve().parent.parent


def test_readme_topic_table_matches_the_registry() -> None:
    assert markdown_table() in (ROOT / "README.md").read_text(), "regenerate with `av-edge topics`"


def test_readme_starts_with_the_two_commands() -> None:
    head = (ROOT / "README.md").read_text()[:1500]
    assert "make demo" in head and "make test" in head


def test_the_object_list_page_matches_the_wire_layout() -> None:
    from av_edge.core.objects import CLASSES, OBJECT_DTYPE

    text = (ROOT / "docs" / "objects.md").read_text()
    rows = [line.split("|")[1:5] for line in text.splitlines() if line.startswith("| `")]
    documented = [(name.strip().strip("`"), int(offset), kind.split("(")[0].strip()) for name, offset, kind, _ in rows]
    kinds = {"<f4": "FLOAT32", "<u4": "UINT32"}
    names = OBJECT_DTYPE.names or ()
    actual = [(n, OBJECT_DTYPE.fields[n][1], kinds[OBJECT_DTYPE[n].str]) for n in names] if OBJECT_DTYPE.fields else []
    assert documented == actual and f"`point_step` {OBJECT_DTYPE.itemsize}" in text
    for class_id, name in enumerate(CLASSES):
        assert f"| {class_id} | {name} |" in text
