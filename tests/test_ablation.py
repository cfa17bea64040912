"""gradcourse.ablation: the three orders of an ablation, shared runs, and the table line."""
import math
import re

import numpy as np
import pytest

from gradcourse import ablation as A
from gradcourse import experiments as E

TINY = dict(num_blocks=2, steps=12)          # a few milliseconds per run
REMEDIES = {"tanh": dict(activation="tanh"), "Xavier": dict(init="xavier_normal"),
            "residual": dict(residual=True), "Adam": dict(optimizer="adam"),
            "warmup + cosine": dict(schedule="warmup+cosine"), "clipping": dict(clipping=True)}


def test_the_three_orders_of_the_chapter_share_rows():
    cumulative, left_out, alone = A.cumulative(REMEDIES), A.leave_one_out(REMEDIES), A.one_at_a_time(REMEDIES)
    assert list(cumulative) == ["naive", "+ tanh", "+ Xavier", "+ residual", "+ Adam", "+ warmup + cosine",
                                "+ clipping"]
    assert cumulative["+ Xavier"] == dict(activation="tanh", init="xavier_normal")
    assert cumulative["+ clipping"] == left_out["all remedies"]                   # everything on
    assert left_out["- clipping"] == cumulative["+ warmup + cosine"]
    assert left_out["- Xavier"] == {k: v for k, v in left_out["all remedies"].items() if k != "init"}
    assert alone["+ residual only"] == dict(residual=True) and alone["naive"] == {}
    keys = {A._key(settings, {}) for table in (cumulative, left_out, alone) for settings in table.values()}
    assert len(keys) == 17                                                        # 7 + 6 + 7 rows, 17 runs


def test_remedies_that_set_the_same_setting_are_refused():
    with pytest.raises(ValueError, match=r"leave_one_out: remedies\['relu'\] must be settings no other remedy "
                                         r"sets \('tanh' sets 'activation' too"):
        A.leave_one_out({"tanh": dict(activation="tanh"), "relu": dict(activation="relu")})
    with pytest.raises(ValueError, match=r"cumulative: a setting of remedies\['bigger'\] must be one of "
                                         r"'activation', .*got 'width'"):
        A.cumulative({"bigger": dict(width=64)})


def test_each_distinct_configuration_trains_once_per_seed(monkeypatch):
    calls = []

    def counting(**settings):
        calls.append((settings["activation"], settings["seed"]))
        return E.train_with_remedies(**settings)

    monkeypatch.setattr(A, "train_with_remedies", counting)
    configurations = {"naive": {}, "sigmoid, written out": dict(activation="sigmoid", init="normal"),
                      "+ tanh": dict(activation="tanh"), "+ tanh again": dict(activation="tanh")}
    rows = A.run_ablation(configurations, seeds=[0, 3], progress=False, **TINY)
    assert sorted(calls) == [("sigmoid", 0), ("sigmoid", 3), ("tanh", 0), ("tanh", 3)]
    assert list(rows) == list(configurations)
    assert rows["naive"].runs == rows["sigmoid, written out"].runs                # the same objects
    assert rows["+ tanh"].seeds == (0, 3)


def test_values_are_those_of_a_direct_run():
    rows = A.run_ablation({"+ residual": dict(residual=True)}, seeds=2, progress=False, target_loss=2.2, **TINY)
    row = rows["+ residual"]
    for i, seed in enumerate((0, 1)):
        direct = E.train_with_remedies(residual=True, seed=seed, target_loss=2.2, **TINY)
        assert row.test_accuracy.values[i] == direct.test_accuracy
        assert row.final_loss.values[i] == np.mean(direct.history.loss[-10:])
        assert row.runs[i].history.loss == direct.history.loss
        expected = math.nan if direct.steps_to_target is None else direct.steps_to_target
        np.testing.assert_equal(row.steps_to_target.values[i], expected)
    assert row.target_loss == 2.2


def test_a_target_never_reached_is_counted_not_averaged():
    row = A.run_ablation({"naive": {}}, seeds=3, progress=False, target_loss=0.0, **TINY)["naive"]
    assert np.all(np.isnan(row.steps_to_target.values)) and not row.reached.any()
    line = A.table_line("naive", row)
    assert "0 of 3 seeds" in line and line.rstrip().endswith("–")
    assert "loss < 0 in" in A.table_header(row.target_loss)


def test_table_line_shows_the_spread_and_the_count():
    row = A.run_ablation({"+ tanh": dict(activation="tanh")}, seeds=2, progress=False, target_loss=50.0,
                         **TINY)["+ tanh"]
    line = A.table_line("+ tanh", row)
    accuracy = row.test_accuracy
    assert line.startswith("+ tanh ")
    assert f"{accuracy.mean:.2f} ± {accuracy.sd:.2f} ({accuracy.min:.2f}–{accuracy.max:.2f})" in line
    assert f"{row.final_loss.mean:.2f} ± " in line
    assert "2 of 2 seeds" in line                                                  # loss < 50 at once


def test_a_diverged_seed_is_kept_and_named():
    rows = A.run_ablation({"ReLU, N(0,1)": dict(activation="relu")}, seeds=2, progress=False, steps=20)
    row = rows["ReLU, N(0,1)"]
    assert row.diverged.all() and np.all(np.isnan(row.test_accuracy.values))
    assert isinstance(row.runs[0], FloatingPointError) and re.search("diverged: loss .* at step", str(row.runs[0]))
    line = A.table_line("ReLU, N(0,1)", row)
    assert "diverged in 2 of 2 seeds" in line and "0 of 2 seeds" in line


# ----- bad arguments (issue 17, hostile round) -----------------------------------------------------
@pytest.mark.parametrize("order", [A.cumulative, A.leave_one_out, A.one_at_a_time])
def test_remedies_that_are_not_a_dict_of_dicts_are_a_type_error_naming_remedies(order):
    with pytest.raises(TypeError, match=f"{order.__name__}: remedies must be a dict"):
        order(5)
    with pytest.raises(TypeError, match=r"remedies\['relu'\] must be a dict of settings"):
        order({"relu": "relu"})


def test_final_loss_rejects_last_zero_and_a_result_without_history():
    from types import SimpleNamespace
    history = SimpleNamespace(final_loss=lambda last: float(last))
    assert A.final_loss(SimpleNamespace(history=history), last=3) == 3.0
    for last, error in ((0, ValueError), (-1, ValueError), (2.5, TypeError), (True, TypeError)):
        with pytest.raises(error, match="final_loss: last must be a positive integer"):
            A.final_loss(SimpleNamespace(history=history), last=last)
    with pytest.raises(TypeError, match="final_loss: result must be a RemedyResult"):
        A.final_loss(5)


def test_run_ablation_and_print_table_check_their_arguments_before_training():
    with pytest.raises(TypeError, match="run_ablation: configurations must be a dict"):
        A.run_ablation(["naive"], seeds=1)
    with pytest.raises(ValueError, match="run_ablation: configurations must be a non-empty dict"):
        A.run_ablation({}, seeds=1)
    with pytest.raises(TypeError, match=r"run_ablation: configurations\['a'\] must be a dict"):
        A.run_ablation({"a": 1}, seeds=1)
    with pytest.raises(TypeError, match="run_ablation: progress must be True or False"):
        A.run_ablation({"a": {}}, seeds=1, progress="no")
    with pytest.raises(TypeError, match="print_table: rows must be a dict"):
        A.print_table(5)
    with pytest.raises(ValueError, match="print_table: rows must be non-empty"):
        A.print_table({})
    with pytest.raises(TypeError, match="table_line: row must be an AblationRow"):
        A.table_line("a", 5)
    with pytest.raises(TypeError, match="table_header: target_loss must be a finite number"):
        A.table_header("1")


def test_the_naive_recipe_is_what_train_with_remedies_runs_by_default():
    """NAIVE is derived from train_with_remedies' signature: a default changed there changes it."""
    result = E.train_with_remedies(num_blocks=2, width=8, steps=2, batch_size=8)
    assert result.settings == A.NAIVE


def test_run_ablation_checks_every_configuration_before_training_under_its_name(monkeypatch):
    monkeypatch.setattr(A, "train_with_remedies", lambda **settings: pytest.fail("trained before checking"))
    with pytest.raises(ValueError, match="run_ablation: activation must be one of"):
        A.run_ablation({"ok": {}, "bad": dict(activation="sigmod")}, seeds=1, progress=False)
    with pytest.raises(TypeError, match="run_ablation: argument must be one of train_with_remedies'"):
        A.run_ablation({"ok": {}}, seeds=1, progress=False, speed=3)


@pytest.mark.parametrize("call, error, message", [
    (lambda: A.print_table({"a": 1}), TypeError, r"print_table: rows\['a'\] must be an AblationRow"),
    (lambda: A.print_table({"a": 1}, labels=["a"]), TypeError, r"print_table: rows\['a'\] must be an AblationRow"),
    (lambda: A.table_header(0.1, label_width=np.array(-1)), ValueError, "table_header: label_width must be"),
])
def test_round5_rows_of_the_wrong_kind_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
    assert A.table_header(0.1, label_width=np.array(3)) == A.table_header(0.1, label_width=3)
