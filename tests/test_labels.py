"""Sequence labels: stratified splits, a separate test file, the final model chosen on validation (never worse there
than the class frequencies), calibrated probabilities, one prediction per sequence, and the scikit-learn API."""

import json

import numpy as np
import pytest

import evolino
from evolino.cli import main
from evolino.labels import calibrate, choose_final, pool_subsets, softmax
from evolino.network import LSTMSpec
from evolino.readout import ReadoutConfig
from evolino.tasks.base import SequencePair
from evolino.tasks.table import labelled_table

TINY = ["--cells", "2", "--population", "8", "--generations", "2", "--quiet", "--no-plots"]


def _write(path, count, offset=0, sorted_by_class=False, seed=0):
    rng = np.random.default_rng(seed)
    order = sorted(range(count), key=lambda k: k % 3) if sorted_by_class else range(count)
    lines = ["id,u,v,label"]
    for k in order:
        label = "abc"[k % 3]
        shift = {"a": -0.6, "b": 0.0, "c": 0.6}[label]
        for _ in range(int(rng.integers(8, 14))):
            lines.append(f"{k + offset},{rng.normal(shift, 1):.5f},{rng.normal():.5f},{label}")
    path.write_text("\n".join(lines) + "\n")


def _classes(pairs):
    return {int(np.argmax(p.targets[-1])) for p in pairs}


def test_a_class_sorted_file_gives_stratified_parts_by_default(tmp_path):
    csv = tmp_path / "sorted.csv"
    _write(csv, 60, sorted_by_class=True)
    task = evolino.data_task(evolino.read_table(csv), kind="classify", sequence="id", target="label")
    assert task.input_names == ("u", "v")  # every other column is an input
    for part in (task.train, task.validation, task.test):
        assert _classes(part) == {0, 1, 2}
        counts = np.bincount([int(np.argmax(p.targets[-1])) for p in part])
        assert counts.max() - counts.min() <= 1  # in proportion
    same = evolino.data_task(evolino.read_table(csv), kind="classify", sequence="id", target="label")
    assert [p.steps for p in same.train] == [p.steps for p in task.train]  # seeded: the same split again
    other = evolino.data_task(evolino.read_table(csv), kind="classify", sequence="id", target="label", split_seed=1)
    assert [p.steps for p in other.train] != [p.steps for p in task.train]
    ordered = evolino.data_task(evolino.read_table(csv), kind="classify", sequence="id", target="label",
                                shuffle=False)
    assert _classes(ordered.test) == {2} and len(ordered.info["warnings"]) == 2  # file order: said, not hidden


def test_a_class_without_training_sequences_is_one_line_exit_2(tmp_path, capsys):
    csv = tmp_path / "rare.csv"
    csv.write_text("id,u,label\n" + "".join(f"{k},{k},{'a' if k % 2 else 'b'}\n" for k in range(20))
                   + "99,1,c\n")
    assert main(["run", "--data", str(csv), "--kind", "classify", "--sequence", "id", "--target", "label",
                 "--no-shuffle", "--out", str(tmp_path / "never"), *TINY]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "class 'c' has no training sequence" in err[0]


def test_a_test_file_is_the_test_part_and_predict_writes_one_row_per_sequence(tmp_path):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    _write(train, 45)
    _write(test, 15, offset=1000, seed=1)
    out = tmp_path / "run"
    assert main(["run", "--data", str(train), "--test", str(test), "--kind", "classify", "--sequence", "id",
                 "--target", "label", "--out", str(out), *TINY]) == 0
    result = json.loads((out / "result.json").read_text())
    assert json.loads((out / "task.json").read_text())["steps"]["test"] == [
        int(n) for n in np.bincount(np.loadtxt(test, delimiter=",", skiprows=1, usecols=0).astype(int))
        if n]  # the test file's sequences, in order
    assert {"accuracy", "balanced_accuracy"} <= set(result["test_scores"])
    assert sum(map(sum, result["confusion"]["counts"])) == 15 and result["confusion"]["classes"] == ["a", "b", "c"]
    assert (out / "test.npz").is_file()
    assert main(["predict", str(out), "--csv", str(test)]) == 0
    lines = (out / "predictions.csv").read_text().splitlines()
    assert lines[0] == "id,label,p_a,p_b,p_c" and len(lines) == 16
    rows = [line.split(",") for line in lines[1:]]
    assert [r[0] for r in rows] == [str(k) for k in range(1000, 1015)]
    probabilities = np.array([[float(x) for x in r[2:]] for r in rows])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert [r[1] for r in rows] == ["abc"[int(np.argmax(p))] for p in probabilities]
    accuracy = np.mean([r[1] == "abc"[(int(r[0]) - 1000) % 3] for r in rows])
    assert accuracy == pytest.approx(result["test_scores"]["accuracy"])  # the same model, the same sequences


def _label_task(rng, informative=True, count=60, steps=12):
    def pair(k):
        label = k % 2
        u = rng.normal((0.8 if label else -0.8) if informative else 0.0, 1.0, (steps, 1))
        y = np.full((steps, 2), np.nan)
        y[-1] = (0.0, 1.0) if label else (1.0, 0.0)
        return SequencePair(y, u)

    pairs = [pair(k) for k in range(count)]
    return evolino.Task("labels", train=pairs[: count // 2], validation=pairs[count // 2 :], metric="mse")


def test_the_final_choice_is_the_lowest_validation_error_and_never_above_the_class_frequencies():
    rng = np.random.default_rng(3)
    spec = LSTMSpec(n_inputs=1, cells=3, n_outputs=2, feedback=False, readout_pool="last+mean+max")
    genome = rng.normal(0, 0.5, spec.dimension)
    readout = ReadoutConfig(rcond=1e-12, ridge="validation", ridge_grid=(0.0, 1.0, 1e8))
    useful = choose_final(spec, genome, _label_task(rng), readout, kernel="numpy")
    assert len(useful.candidates) == 1 + 7 * 3 and useful.final in ("network", "linear")
    assert useful.validation_error == min(useful.candidates.values()) < useful.candidates["class frequencies"]
    assert useful.spec.readout_pool in pool_subsets("last+mean+max") and useful.temperature > 0
    noise = choose_final(spec, genome, _label_task(rng, informative=False, count=20), readout, kernel="numpy")
    assert noise.validation_error <= noise.candidates["class frequencies"]
    if noise.final == "class frequencies":
        assert noise.validation_error == noise.candidates["class frequencies"]


def test_the_temperature_minimises_the_validation_log_loss():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 3, 200)
    targets = np.eye(3)[labels]
    outputs = targets * 0.6 + rng.normal(0, 0.25, targets.shape)
    temperature = calibrate(outputs, targets)

    def loss(t):
        return -np.mean(np.log(softmax(outputs, t)[np.arange(200), labels]))

    assert loss(temperature) <= min(loss(temperature * 0.8), loss(temperature * 1.25))
    np.testing.assert_allclose(softmax(outputs, temperature).sum(axis=1), 1.0)


def test_the_sequence_classifier_follows_scikit_learns_conventions():
    from sklearn.base import clone

    rng = np.random.default_rng(5)
    X = [rng.normal(0.7 if k % 2 else -0.7, 1.0, (int(rng.integers(10, 16)), 2)) for k in range(60)]
    y = np.array([7 if k % 2 else 3 for k in range(60)])
    classifier = evolino.SequenceClassifier(evolino.Evolino(cells=2, population=8, generations=3, seed=0))
    assert clone(classifier).get_params()["validation_fraction"] == 0.2
    classifier.fit(X[:45], y[:45])
    assert classifier.classes_.tolist() == [3, 7] and classifier.n_features_in_ == 2
    probabilities = classifier.predict_proba(X[45:])
    assert probabilities.shape == (15, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    predicted = classifier.predict(X[45:])
    assert set(predicted) <= {3, 7} and classifier.score(X[45:], y[45:]) == np.mean(predicted == y[45:])
    cube = np.stack([x[:10].T for x in X])  # (n, channels, T), as aeon holds a collection
    assert labelled_table(cube, y).rows == 600
    with pytest.raises(evolino.errors.NotFittedError):
        evolino.SequenceClassifier().predict(X)


def test_an_npz_of_labelled_sequences_runs_from_the_command_line(tmp_path):
    rng = np.random.default_rng(6)
    arrays = {f"x_{k}": rng.normal(0.6 if k % 2 else -0.6, 1, (int(rng.integers(6, 10)), 2)) for k in range(30)}
    np.savez(tmp_path / "seqs.npz", y=np.array(["odd" if k % 2 else "even" for k in range(30)]), **arrays)
    out = tmp_path / "run"
    assert main(["run", "--data", str(tmp_path / "seqs.npz"), "--kind", "classify", "--sequence", "sequence",
                 "--target", "label", "--out", str(out), *TINY]) == 0
    result = json.loads((out / "result.json").read_text())
    assert result["confusion"]["classes"] == ["even", "odd"] and "labels" in result
