import json

import pytest
from django.core.management import CommandError, call_command

EXPECTED = {
    "top1",
    "top3",
    "top5",
    "unmatched_recall",
    "false_no_match",
    "texts_per_second",
    "peak_rss_mb",
    "n_train",
    "n_test",
}


def _csv(path, rows):
    path.write_text("text,category\n" + "\n".join(f'"{t}",{c}' for t, c in rows) + "\n")
    return path


def test_eval_linking_prints_one_json_object(tmp_path, capsys):
    train = [(f"my card has not arrived yet {i}", "card") for i in range(6)]
    train += [(f"how do I reset my password {i}", "password") for i in range(6)]
    train += [(f"the exchange rate was wrong {i}", "rate") for i in range(6)]
    test = [
        ("card still not arrived", "card"),
        ("forgot my password", "password"),
        ("top up failed", "topup"),
    ]
    call_command(
        "eval_linking",
        "--train",
        str(_csv(tmp_path / "train.csv", train)),
        "--test",
        str(_csv(tmp_path / "test.csv", test)),
        "--provider",
        "tfidf",
        "--json",
    )
    result = json.loads(capsys.readouterr().out)
    assert EXPECTED <= set(result)
    assert result["n_train"] == 18 and result["n_test"] == 3


def test_eval_linking_names_a_missing_column(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("body,label\nx,y\n")
    with pytest.raises(CommandError, match="category"):
        call_command("eval_linking", "--train", str(bad), "--test", str(bad), "--provider", "tfidf")


def test_eval_duplicates_without_data_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="no duplicate data set"):
        call_command("eval_duplicates", "--data", str(tmp_path))
