"""Hostile model files (security issue): a model file may not run code we did not allow,
nor write outside the folder the user named. Each hostile case is a real file (a
SavedModel / TF1 Hub-like module, a TorchScript archive, a torch.export archive, a run
folder) that, loaded naively, writes a marker file; the model must be skipped with a
reason naming the file (and the op), the marker must not appear, and the others still
fingerprint."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from integration.test_external_models import (  # noqa: F401  (trained_run is a fixture)
    LATENT,
    PROBE,
    _Split,
    _weights,
    reference_encoder,
    sprites64,
    trained_run,
    write_tfhub_model,
)

from infoprint.sources.checkpoints import CheckpointSource
from infoprint.sources.dlib import DlibSource
from infoprint.sources.encoders import EncoderSource
from infoprint.sources.op_policy import check_saved_model

tf = pytest.importorskip("tensorflow")
v1 = tf.compat.v1


def write_hostile_tf2(folder: Path, seed: int, marker: Path, kind: str) -> None:
    """A TF2 SavedModel like ``write_tfhub_model`` whose encoder also writes ``marker``
    (``tf.io.write_file``) or calls Python (``tf.py_function``)."""
    w = {k: tf.constant(v) for k, v in _weights(seed).items()}

    def touch(x):
        marker.write_text("ran")
        return x

    class Encoder(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 64, 64, 1], tf.float32)])
        def encode(self, images):
            if kind == "write_file":
                tf.io.write_file(str(marker), "ran")
            else:
                images = tf.py_function(touch, [images], tf.float32)
            flat = tf.reshape(images, [-1, 64 * 64])
            return {"mean": flat @ w["w_mu"], "logvar": flat @ w["w_lv"] + w["b_lv"]}

    module = Encoder()
    path = folder / "model" / "tfhub"
    tf.saved_model.save(module, str(path), signatures={"gaussian_encoder": module.encode})


def write_tf1_module(folder: Path, seed: int, marker: Path | None = None) -> None:
    """A TF1 Hub-format module as disentanglement_lib exports them: graph mode, variables,
    a saver, ``gaussian_encoder`` + ``reconstructions`` signatures under tags ``{}`` and
    ``{"train"}``, ``tfhub_module.pb``; with ``marker``, a ``main_op`` writing it."""
    path = folder / "model" / "tfhub"
    builder = v1.saved_model.Builder(str(path))
    for first, tags in ((True, ["train"]), (False, [])):
        graph = tf.Graph()
        with graph.as_default():
            images = v1.placeholder(tf.float32, [None, 64, 64, 1], name="images")
            weights = {k: v1.get_variable(k, initializer=v) for k, v in _weights(seed).items()}
            flat = tf.reshape(images, [-1, 64 * 64])
            mean = tf.matmul(flat, weights["w_mu"])
            logvar = tf.nn.bias_add(tf.matmul(flat, weights["w_lv"]), weights["b_lv"])
            z = mean + tf.exp(logvar / 2) * v1.random_normal(tf.shape(mean), 0, 1)
            w_dec = v1.get_variable("w_dec", [LATENT, 64 * 64])
            recon = tf.nn.sigmoid(tf.reshape(tf.matmul(z, w_dec), [-1, 64, 64, 1]))
            main_op = tf.io.write_file(str(marker), "ran") if marker else None
            sigs = {
                "gaussian_encoder": v1.saved_model.predict_signature_def(
                    {"images": images}, {"mean": mean, "logvar": logvar}
                ),
                "reconstructions": v1.saved_model.predict_signature_def(
                    {"images": images}, {"images": recon}
                ),
            }
            with v1.Session(graph=graph) as session:
                session.run(v1.global_variables_initializer())
                if first:
                    builder.add_meta_graph_and_variables(
                        session, tags, signature_def_map=sigs, main_op=main_op
                    )
                else:
                    builder.add_meta_graph(tags, signature_def_map=sigs, main_op=main_op)
    builder.save()
    (path / "tfhub_module.pb").write_bytes(b"\x08\x03")  # module_format_version 3


def test_hostile_tf_modules_are_refused_before_running(tmp_path):
    root, markers = tmp_path / "dlib", tmp_path / "markers"
    markers.mkdir()
    write_tfhub_model(root / "0", 10)
    write_tf1_module(root / "1", 11)
    write_hostile_tf2(root / "2", 12, markers / "encoder_write", "write_file")
    write_tf1_module(root / "3", 13, markers / "main_op_write")
    write_hostile_tf2(root / "4", 14, markers / "py_function", "py_function")
    shutil.rmtree(root / "5", ignore_errors=True)
    (root / "5" / "model" / "tfhub").mkdir(parents=True)
    (root / "5" / "model" / "tfhub" / "saved_model.pb").write_bytes(b"\x00garbage\xff")
    source = DlibSource(
        path=str(root),
        models="0-5",
        data=sprites64(),
        fingerprint=PROBE,
        cache_dir=str(tmp_path / "cache"),
    )
    found = {fp.run_id: fp for fp in source.iter_fingerprints()}
    assert sorted(found) == ["dlib-00000", "dlib-00001"]
    images = np.stack([sprites64()[int(i)][0] for i in found["dlib-00001"].probe_index])
    mu, _ = reference_encoder(images, 11)
    np.testing.assert_allclose(found["dlib-00001"].mu, mu, rtol=1e-4, atol=1e-4)
    assert list(markers.iterdir()) == []  # nothing ran
    reasons = {Path(s.run).name: s.reason for s in source.skipped}
    pb = {n: str(root / n / "model" / "tfhub" / "saved_model.pb") for n in "2345"}
    assert pb["2"] in reasons["2"] and "op WriteFile" in reasons["2"]
    assert pb["3"] in reasons["3"] and "op WriteFile" in reasons["3"]
    assert pb["4"] in reasons["4"] and "op EagerPyFunc" in reasons["4"]
    assert pb["5"] in reasons["5"] and "\n" not in "".join(reasons.values())


def test_the_saver_is_allowed_only_where_nothing_runs_it(tmp_path):
    write_tf1_module(tmp_path / "ok", 1)
    module = tmp_path / "ok" / "model" / "tfhub"
    check_saved_model(module)  # SaveV2 in the save subgraph only: fine
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((module / "saved_model.pb").read_bytes())
    graph = saved.meta_graphs[0].graph_def
    save_op = next(n.name for n in graph.node if n.op == "SaveV2")
    node = graph.node.add(name="uses_save", op="Identity")
    node.input.append(f"^{save_op}")
    (module / "saved_model.pb").write_bytes(saved.SerializeToString())
    with pytest.raises(ValueError, match=r"saved_model.pb: op SaveV2 \(node '"):
        check_saved_model(module)


class _FromFile(torch.nn.Module):
    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = marker
        self.net = torch.nn.Linear(64 * 64, 2 * LATENT)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encode(x)

    @torch.jit.export
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.from_file(self.marker, shared=True, size=16)
        out = self.net(x.flatten(1)) + y.sum() * 0
        return out[:, :3], out[:, 3:]


class _SetState(torch.nn.Module):
    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = marker
        self.w = torch.nn.Parameter(torch.randn(64 * 64, 2 * LATENT))

    @torch.jit.export
    def __getstate__(self) -> tuple[torch.Tensor, bool, str]:
        return (self.w, self.training, self.marker)

    @torch.jit.export
    def __setstate__(self, state: tuple[torch.Tensor, bool, str]) -> None:
        y = torch.from_file(state[2], shared=True, size=16)
        self.w = state[0] + y.sum() * 0
        self.training = state[1]
        self.marker = state[2]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = x.flatten(1) @ self.w
        return out[:, :3], out[:, 3:]


def test_torch_files_run_only_allowed_ops_and_pt2_matches(tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64 * 64, 2 * LATENT))
    split = _Split(net).eval()
    script, pt2 = tmp_path / "enc.pt", tmp_path / "enc.pt2"
    torch.jit.script(split).save(str(script))
    batch = torch.export.Dim("batch", min=1)
    example = torch.zeros(2, 1, 64, 64)
    torch.export.save(
        torch.export.export(split, (example,), dynamic_shapes=({0: batch},)), str(pt2)
    )
    from_file, setstate = tmp_path / "from_file.pt", tmp_path / "setstate.pt"
    torch.jit.script(_FromFile(str(markers / "from_file"))).save(str(from_file))
    torch.jit.script(_SetState(str(markers / "setstate"))).save(str(setstate))
    pickled = tmp_path / "pickled.pt2"  # a .pt2 whose weights torch.export.load unpickles
    with zipfile.ZipFile(pt2) as src, zipfile.ZipFile(pickled, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("model_weights_config.json"):
                data = data.replace(b'"use_pickle": false', b'"use_pickle": true')
            dst.writestr(info.filename.replace("enc/", "pickled/"), data)
    source = EncoderSource(
        encoders=[str(p) for p in (script, pt2, from_file, setstate, pickled)],
        data=sprites64(),
        fingerprint=PROBE,
        cache_dir=str(tmp_path / "cache"),
    )
    found = list(source.iter_fingerprints())
    assert [fp.meta["provenance"]["path"] for fp in found] == [str(script), str(pt2)]
    np.testing.assert_allclose(found[0].mu, found[1].mu, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(found[0].logvar, found[1].logvar, rtol=1e-5, atol=1e-5)
    images = torch.from_numpy(np.stack([sprites64()[int(i)][0] for i in found[1].probe_index]))
    with torch.no_grad():
        np.testing.assert_allclose(found[1].mu, split(images)[0].numpy(), rtol=1e-5, atol=1e-5)
    assert list(markers.iterdir()) == []
    reasons = {s.run: s.reason for s in source.skipped}
    assert (
        "op aten::from_file" in reasons[str(from_file)]
        and str(from_file) in reasons[str(from_file)]
    )
    assert "__setstate__" in reasons[str(setstate)] and str(setstate) in reasons[str(setstate)]
    assert "pickled" in reasons[str(pickled)] and str(pickled) in reasons[str(pickled)]


@pytest.mark.slow
def test_run_json_ids_and_copies_under_checkpoints(trained_run, tmp_path):  # noqa: F811
    job, _ = trained_run
    sweep = tmp_path / "sweep"
    cases = {"0": None, "1": "/abs/escape", "2": "../../escape", "3": "..", "4": "two"}
    for name, bad in cases.items():
        shutil.copytree(job, sweep / name)
        meta = json.loads((sweep / name / "run.json").read_text())
        meta["run_id"] = f"{meta['run_id']}-{name}"
        if name in "123":
            meta["run_id"] = bad
        if name == "4":
            meta["job_num"] = bad
        (sweep / name / "run.json").write_text(json.dumps(meta))
    shutil.copytree(sweep / "0", sweep / "0 (copy)")
    shutil.copytree(sweep / "0", sweep / ".ipynb_checkpoints" / "2")
    cache = tmp_path / "work" / "cache"
    source = CheckpointSource(
        path=str(sweep), data=sprites64().__class__(resolution=32), cache_dir=str(cache)
    )
    found = list(source.iter_fingerprints())
    assert [fp.run_id.rsplit("-", 1)[-1] for fp in found] == ["0"]
    assert not (tmp_path / "escape").exists() and not Path("/abs/escape").exists()
    assert all(
        p.is_relative_to(cache) for p in tmp_path.rglob("fingerprint.npz") if "work" in p.parts
    )
    reasons = {str(Path(s.run).parent.relative_to(sweep)): s.reason for s in source.skipped}
    for name in "123":
        assert str(sweep / name / "run.json") in reasons[name] and "run id" in reasons[name]
    assert str(sweep / "4" / "run.json") in reasons["4"] and "job_num 'two'" in reasons["4"]
    assert "again" in reasons["0 (copy)"] and "again" in reasons[".ipynb_checkpoints/2"]
    assert len(source.skipped) == 6
