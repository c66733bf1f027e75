"""The data dictionary in docs/ is generated from sql/ and kept up to date with it."""

from __future__ import annotations

from pathlib import Path

from cxdata.warehouse.comments import sql_dir
from cxdata.warehouse.dictionary import entries, main, render

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "data_dictionary.md"


def test_committed_dictionary_matches_the_sql_files():
    assert COMMITTED.read_text(encoding="utf-8") == render(), (
        "docs/data_dictionary.md is stale: run `uv run python -m cxdata.warehouse.dictionary`"
    )


def test_every_sql_file_and_column_is_in_the_dictionary():
    text = render()
    documented = entries()

    files = {p.stem for p in sql_dir().glob("*.sql") if "." not in p.stem}
    assert {name for name, _, _ in documented} == files
    for name, _, comments in documented:
        assert f"\n## {name}\n" in text
        assert all(f"| `{c.column}` |" in text for c in comments if c.column is not None), name
    section = text.split("\n## dim_customer_pii\n")[1].split("\n## ")[0]
    assert "owner only (personal data)" in section and "| `email` |" in section


def test_check_mode_reports_a_stale_file_without_writing_it(tmp_path, capsys):
    stale = tmp_path / "dictionary.md"
    stale.write_text("old\n", encoding="utf-8")

    assert main(["--out", str(stale), "--check"]) == 1
    assert stale.read_text(encoding="utf-8") == "old\n"
    assert main(["--out", str(stale)]) == 0
    assert main(["--out", str(stale), "--check"]) == 0
    assert "up to date" in capsys.readouterr().out
