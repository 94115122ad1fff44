"""`unseen simulate transactions`: writes the layout and a summary; bad values are refused with exit code 2."""

from __future__ import annotations

from typer.testing import CliRunner

from unseen.analytics import LAYOUT_FILES, load_layout
from unseen.cli import app

runner = CliRunner()


def test_simulate_transactions_writes_the_layout_and_a_summary(tmp_path):
    out = tmp_path / "kaggle"
    result = runner.invoke(app, ["simulate", "transactions", "--rows", "5000", "--users", "60", "--seed", "4",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in out.iterdir()) == sorted(LAYOUT_FILES)
    assert "5,000" in result.output and "fraudulent rows" in result.output and "rows/s" in result.output
    layout = load_layout(out)
    assert len(layout.users) == 60 and len(layout.read_transactions()) == 5000


def test_bad_values_are_refused_with_exit_code_2(tmp_path):
    a_file = tmp_path / "taken"
    a_file.write_text("not a folder")
    refused = [
        (["simulate", "transactions", "--rows", "0", "--out", str(tmp_path)], "--rows"),
        (["simulate", "transactions", "--users", "0", "--out", str(tmp_path)], "--users"),
        (["simulate", "transactions", "--rows", "100", "--seed", "-1", "--out", str(tmp_path)], "seed"),
        (["simulate", "transactions", "--rows", "100", "--out", str(a_file)], "is a file"),
        (["simulate", "meteors"], "expected traffic or transactions"),
    ]
    for arguments, named in refused:
        result = runner.invoke(app, arguments)
        assert result.exit_code == 2, (arguments, result.output)
        assert named in result.output and "Traceback" not in result.output, (arguments, result.output)
    assert a_file.read_text() == "not a folder"
