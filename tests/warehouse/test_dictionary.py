"""The data dictionary in docs/ is generated from sql/ and kept up to date with it."""

from __future__ import annotations

from pathlib import Path

from cxdata.warehouse.comments import sql_dir
from cxdata.warehouse.dictionary import column_types, entries, header, main, render

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "data_dictionary.md"


def test_committed_dictionary_matches_the_sql_files():
    assert COMMITTED.read_text(encoding="utf-8") == render(), (
        "docs/data_dictionary.md is stale: run `uv run python -m cxdata.warehouse.dictionary`"
    )


def test_every_sql_file_and_column_is_in_the_dictionary():
    text = render()
    documented = entries()

    files = {p.stem for p in sql_dir().glob("*.sql") if "." not in p.stem}
    assert {entry.name for entry in documented} == files
    for entry in documented:
        assert f"\n## {entry.name}\n" in text
        assert all(f"| `{c.column}` |" in text for c in entry.comments if c.column is not None), entry.name
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


def test_every_table_and_view_states_its_grain_and_every_column_its_type():
    types = column_types()
    for entry in entries():
        assert entry.grain and entry.grain.startswith("one row per "), entry.name
        columns = [c.column for c in entry.comments if c.column is not None]
        missing = [c for c in columns if c not in types[entry.name]]
        assert not missing, f"{entry.name}: no recorded type for {missing} (run the dictionary with --types-from)"
    section = render().split("\n## cx_kpis_daily\n")[1].split("\n## ")[0]
    assert "Grain: one row per UTC day, dimension and dimension_value." in section
    assert "| `date` | `date` | `DATE` |" in section and "| `revenue` | `double precision` | `DOUBLE` |" in section


def test_every_bi_view_has_one_to_three_example_queries_of_itself():
    for entry in entries():
        if entry.kind != "view":
            continue
        assert entry.name.startswith("marketing_") or 1 <= len(entry.examples) <= 3, entry.name
        for example in entry.examples:
            assert example.title and f"from {entry.name}" in example.sql, (entry.name, example.title)


def test_header_reads_the_grain_and_the_indented_lines_of_each_example():
    source = """-- t: a table.
--
-- grain: one row per thing
--
-- example: Things by kind
--   select kind,
--          count(*)
--   from t group by kind
-- example: All of them
--   select * from t
--
--   not an example line: the blank comment line ended it
comment on table t is 'x';
"""
    grain, examples = header(source)
    assert grain == "one row per thing"
    assert [(e.title, e.sql) for e in examples] == [
        ("Things by kind", "select kind,\n       count(*)\nfrom t group by kind"),
        ("All of them", "select * from t"),
    ]
