import json

import numpy as np
import pytest

from infoprint.data.sprites import ProceduralSprites
from infoprint.fingerprint.probe import probe_digest, select_probe_set
from infoprint.fingerprint.record import SCHEMA_VERSION, Fingerprint
from infoprint.store.records import RecordError, json_depth
from support import make_fingerprint


def test_roundtrip_is_exact_and_atomic(tmp_path):
    fp = make_fingerprint()
    fp.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fingerprint.npz", "run.json"]
    back = Fingerprint.load(tmp_path)
    np.testing.assert_array_equal(back.mu, fp.mu)
    np.testing.assert_array_equal(back.factors, fp.factors)
    assert back.meta["schema_version"] == SCHEMA_VERSION
    assert back.factor_names == ("f0", "f1") and back.path == tmp_path


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda fp: setattr(fp, "logvar", fp.logvar[:, :2]), "mu and logvar"),
        (lambda fp: fp.mu.__setitem__((0, 0), np.nan), "NaN"),
        (lambda fp: setattr(fp, "probe_index", fp.probe_index[:5]), "probe_index"),
        (lambda fp: fp.meta.__setitem__("factor_names", ["only one"]), "factor_names"),
        (lambda fp: fp.meta.pop("probe_digest"), "missing keys"),
    ],
)
def test_invalid_records_are_refused_on_save(tmp_path, mutate, message):
    fp = make_fingerprint()
    mutate(fp)
    with pytest.raises(RecordError, match=message):
        fp.save(tmp_path)
    assert not (tmp_path / "fingerprint.npz").exists()


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(RecordError, match=r"fingerprint\.npz: file not found"):
        Fingerprint.load(tmp_path)
    make_fingerprint().save(tmp_path)
    (tmp_path / "fingerprint.npz").write_bytes(b"not a zip")
    with pytest.raises(RecordError, match=str(tmp_path / "fingerprint.npz")):
        Fingerprint.load(tmp_path)
    (tmp_path / "run.json").write_text("{broken")
    with pytest.raises(RecordError, match=r"run\.json: not valid JSON"):
        Fingerprint.load(tmp_path)


def test_pickled_arrays_are_never_loaded(tmp_path):
    make_fingerprint().save(tmp_path)
    objects = np.empty(2, dtype=object)
    objects[:] = [{"evil": 1}, None]
    np.savez(tmp_path / "fingerprint.npz", mu=objects, logvar=objects, probe_index=objects)
    with pytest.raises(RecordError, match="dtype object \\(not read\\)"):
        Fingerprint.load(tmp_path)


def test_schema_version_is_checked(tmp_path):
    make_fingerprint().save(tmp_path)
    meta = json.loads((tmp_path / "run.json").read_text())
    meta["schema_version"] = 99
    (tmp_path / "run.json").write_text(json.dumps(meta))
    with pytest.raises(RecordError, match="schema_version 99"):
        Fingerprint.load(tmp_path)


def test_probe_set_depends_on_its_own_seed_only():
    data = ProceduralSprites(32)
    a, b = select_probe_set(data, 50, seed=0), select_probe_set(data, 50, seed=0)
    c = select_probe_set(data, 50, seed=1)
    assert a.digest == b.digest != c.digest
    assert len(set(a.indices.tolist())) == 50 and (np.diff(a.indices) > 0).all()
    assert a.factors.shape == (50, 5) and a.factor_names[3] == "posX"
    assert a.digest == probe_digest(data.images(a.indices))
    with pytest.raises(ValueError, match=r"fingerprint\.size"):
        select_probe_set(data, 1, seed=0)


def test_embedding_sample_roundtrip_and_validation(tmp_path):
    fp = make_fingerprint(n=10, d=3)
    assert fp.whole_space()[0] is fp.mu
    rng = np.random.default_rng(1)
    fp.embedding_mu = rng.normal(size=(30, 3)).astype(np.float32)
    fp.embedding_logvar = np.zeros((30, 3), np.float32)
    fp.embedding_index = np.arange(30)
    fp.save(tmp_path)
    back = Fingerprint.load(tmp_path)
    np.testing.assert_array_equal(back.whole_space()[0], fp.embedding_mu)
    assert back.embedding_index.shape == (30,)
    fp.embedding_logvar = np.zeros((30, 2), np.float32)
    with pytest.raises(RecordError, match=r"\[M, 3\]"):
        fp.save(tmp_path / "bad")


def test_json_depth_counts_brackets_outside_strings_only():
    assert json_depth('{"a": "[[[[\\"[[{", "b": [[1]], "c": {}}') == 3
    assert json_depth("[" * 10_000 + "]" * 10_000) == 10_000  # no recursion
