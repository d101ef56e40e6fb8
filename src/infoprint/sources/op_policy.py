"""What a model file may make us run: allow-lists of the ops an encoder needs.

See ``docs/architecture.md`` §7 ("Sources": the trust model). Every model file we did not
write is treated as hostile: it must not run code we did not allow, nor read or write
files outside what its loader reads. Before any TensorFlow session, function, TorchScript
method or exported program runs, the file's graph is read and every op checked here;
a model with any other op is refused (:class:`ModelError` naming the file and the op),
which the sources turn into a skipped run.

* **TensorFlow** (:func:`check_saved_model`): ``saved_model.pb`` is parsed as a protocol
  buffer, without TF's loader, and every node of every MetaGraphDef's ``graph_def`` and
  of every function in its library (nested calls included) must be in
  :data:`TF_ENCODER_OPS`. That covers signatures, ``main_op``/init ops, asset and
  resource initialisers, and the restore graph. The one exception is the saver's *save*
  subgraph (the nodes only ``saver_def.save_tensor_name`` depends on, and the functions
  only they call): it holds the :data:`TF_SAVER_ONLY_OPS` (``SaveV2``...), which no loader
  runs; any other node that depends on them makes them count as executable (refused).
* **TorchScript** (:func:`check_torchscript_archive`, :func:`check_torch_graph`):
  ``torch.jit.load`` runs a scripted ``__setstate__`` while loading, so an archive whose
  code defines one is refused before loading; after loading (which compiles but runs
  nothing else) the inlined graph of the method we call must use only
  :data:`TORCH_ENCODER_OPS`.
* **torch.export** (:func:`check_pt2_archive`, :func:`check_exported_program`):
  ``torch.export.load`` unpickles (``weights_only=False``) pickled weights, constants,
  custom objects and, when a safe load fails, sample inputs; the archive is therefore
  checked first (known entries only, no pickled payload, sample inputs loadable with
  ``weights_only=True``, every graph node's target allowed) and the loaded program's graph
  again.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from infoprint.fingerprint.stage import ModelError

# -- TensorFlow ---------------------------------------------------------------------------

TF_ENCODER_OPS = frozenset(
    {
        # graph structure, inputs and calls (callees are checked too)
        "Const", "Identity", "IdentityN", "NoOp", "Placeholder", "PlaceholderWithDefault",
        "StopGradient", "PreventGradient", "Snapshot", "PartitionedCall",
        "StatefulPartitionedCall",
        # variables (TF1 reference and TF2 resource variables) and their restore
        "VariableV2", "Assign", "IsVariableInitialized", "VarHandleOp", "ReadVariableOp",
        "AssignVariableOp", "VarIsInitializedOp", "RestoreV2",
        # the saver's filename arithmetic (pure string ops)
        "StringJoin", "ShardedFilename", "StaticRegexFullMatch",
        # shapes and arrays
        "Shape", "ShapeN", "Size", "Rank", "Reshape", "Squeeze", "ExpandDims",
        "StridedSlice", "Slice", "Pack", "Unpack", "ConcatV2", "Split", "SplitV",
        "Transpose", "Tile", "Fill", "ZerosLike", "OnesLike", "Cast", "GatherV2", "Pad",
        "PadV2", "MirrorPad", "Range", "BroadcastTo", "BroadcastArgs", "Select", "SelectV2",
        # arithmetic
        "Add", "AddV2", "AddN", "Sub", "Mul", "RealDiv", "Div", "DivNoNan", "FloorDiv",
        "FloorMod", "Neg", "Exp", "Log", "Log1p", "Sqrt", "Rsqrt", "Square",
        "SquaredDifference", "Pow", "Maximum", "Minimum", "Abs", "Sign", "Reciprocal",
        "Floor", "Ceil", "Round", "ClipByValue", "Erf", "Mean", "Sum", "Max", "Min", "Prod",
        "ArgMax", "ArgMin", "Equal", "NotEqual", "Less", "LessEqual", "Greater",
        "GreaterEqual", "LogicalAnd", "LogicalOr", "LogicalNot",
        # activations
        "Tanh", "Sigmoid", "Relu", "Relu6", "Elu", "Selu", "LeakyRelu", "Softplus",
        "Softsign", "Softmax", "LogSoftmax",
        # layers
        "MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "Einsum", "Conv2D",
        "Conv2DBackpropInput", "Conv3D", "DepthwiseConv2dNative", "BiasAdd", "MaxPool",
        "AvgPool", "FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3",
        "ResizeBilinear", "ResizeNearestNeighbor",
        # initialisers and the reparametrisation's noise (compute only)
        "RandomUniform", "RandomStandardNormal", "TruncatedNormal",
    }
)  # fmt: skip
"""Ops a disentanglement_lib encoder graph may hold: those of its TF1 Hub modules (conv or
fc encoder and decoder, sampling, initialisers, saver restore, collected from modules built
as disentanglement_lib exports them) and of TF2 SavedModels, plus generic encoder ops.
Everything else is refused, notably file, process and Python ops (``WriteFile``,
``ReadFile``, ``MatchingFiles``, ``PrintV2``, ``PyFunc``, ``EagerPyFunc``,
``DecodeProto``, ``SaveV2`` outside the save subgraph, control flow, datasets)."""

TF_SAVER_ONLY_OPS = frozenset({"SaveV2", "MergeV2Checkpoints", "Save", "SaveSlices"})
"""Writing ops allowed only in the saver's save subgraph, which loading never runs."""


def check_saved_model(module: Path) -> None:
    """Refuse the SavedModel / TF1 Hub module in ``module`` unless all its ops are allowed."""
    from tensorflow.core.protobuf import saved_model_pb2

    pb = module / "saved_model.pb"
    if not pb.is_file():
        raise ModelError(f"{pb}: no saved_model.pb (a TF Hub module or SavedModel has one)")
    saved = saved_model_pb2.SavedModel()
    try:
        saved.ParseFromString(pb.read_bytes())
    except Exception as err:  # a protobuf DecodeError or a foreign file
        raise ModelError(f"{pb}: not a SavedModel ({type(err).__name__})") from err
    if not saved.meta_graphs:
        raise ModelError(f"{pb}: holds no graph")
    for meta in saved.meta_graphs:
        _check_meta_graph(meta, pb)


def _check_meta_graph(meta: Any, pb: Path) -> None:
    graph = meta.graph_def
    functions = {f.signature.name: f for f in graph.library.function}
    nodes = {n.name: n for n in graph.node}
    save_only = _save_only_nodes(nodes, meta.saver_def.save_tensor_name)
    # functions called from executable nodes (or nested in them) vs only from the save path
    run_fns = _called(functions, (n for name, n in nodes.items() if name not in save_only))
    run_fns |= set(functions) - _called(functions, (nodes[n] for n in save_only))
    # a function the object graph names (TF2 resource initialisers...) may run at load time
    objects = meta.object_graph_def.SerializeToString()
    named = [functions[f] for f in functions if f.encode() in objects]
    run_fns |= {f.signature.name for f in named}
    run_fns |= _called(functions, (node for f in named for node in f.node_def))
    for name, node in nodes.items():
        _check_op(node, functions, save_only=name in save_only, where=pb)
    for fname, function in functions.items():
        for node in function.node_def:
            _check_op(node, functions, save_only=fname not in run_fns, where=pb, fn=fname)


def _check_op(node: Any, functions: dict, save_only: bool, where: Path, fn: str = "") -> None:
    op = node.op
    if op in TF_ENCODER_OPS or op in functions or (save_only and op in TF_SAVER_ONLY_OPS):
        return
    inside = f" in function '{fn}'" if fn else ""
    raise ModelError(
        f"{where}: op {op} (node '{node.name}'{inside}) is not allowed in an encoder graph"
    )


def _save_only_nodes(nodes: dict, save_tensor: str) -> set[str]:
    """Nodes that only the saver's save tensor depends on (empty when there is none)."""
    root = _node_name(save_tensor) if save_tensor else ""
    if root not in nodes:
        return set()
    save_path = _upstream(nodes, [root])
    used = _upstream(nodes, [n for n in nodes if n not in save_path])
    return save_path - used


def _upstream(nodes: dict, roots: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    stack = [r for r in roots if r in nodes]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        stack.extend(n for n in map(_node_name, nodes[name].input) if n in nodes)
    return seen


def _node_name(tensor: str) -> str:
    return tensor.lstrip("^").split(":")[0]


def _called(functions: dict, nodes: Iterable[Any]) -> set[str]:
    """Functions ``nodes`` call (by op type or a function-valued attr), transitively."""
    found: set[str] = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        for name in _callees(node):
            if name in functions and name not in found:
                found.add(name)
                stack.extend(functions[name].node_def)
    return found


def _callees(node: Any) -> Iterator[str]:
    yield node.op
    for value in node.attr.values():
        if value.HasField("func"):
            yield value.func.name
        yield from (f.name for f in value.list.func)


# -- TorchScript and torch.export -----------------------------------------------------------

TORCH_ENCODER_OPS = frozenset(
    {f"aten::{op}" for op in (
        # layers
        "linear", "matmul", "mm", "addmm", "bmm", "baddbmm", "einsum", "conv1d", "conv2d",
        "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
        "_convolution", "convolution", "batch_norm", "_native_batch_norm_legit_no_training",
        "native_batch_norm", "layer_norm", "native_layer_norm", "group_norm",
        "native_group_norm", "instance_norm", "dropout", "feature_dropout", "alpha_dropout",
        "max_pool1d", "max_pool2d", "max_pool3d", "max_pool2d_with_indices", "avg_pool1d",
        "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
        "adaptive_avg_pool3d", "adaptive_max_pool2d", "upsample_nearest2d",
        "upsample_bilinear2d", "pixel_shuffle", "pixel_unshuffle",
        # activations
        "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu", "celu",
        "gelu", "silu", "silu_", "mish", "sigmoid", "sigmoid_", "tanh", "tanh_", "softplus",
        "hardtanh", "hardtanh_", "hardsigmoid", "hardswish", "softmax", "log_softmax",
        "_softmax", "_log_softmax",
        # arithmetic and reductions
        "add", "add_", "sub", "sub_", "rsub", "mul", "mul_", "div", "div_", "neg", "abs",
        "exp", "exp_", "log", "log1p", "sqrt", "rsqrt", "pow", "square", "reciprocal",
        "clamp", "clamp_", "clamp_min", "clamp_max", "clip", "floor", "ceil", "round",
        "floor_divide", "remainder", "sign", "where", "lerp", "erf", "mean", "sum", "prod",
        "amax", "amin", "max", "min", "argmax", "argmin", "var", "std", "norm",
        "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_not",
        "__and__", "__or__", "__not__", "__is__", "__isnot__",
        # shapes, views, copies, creation of small tensors
        "flatten", "unflatten", "view", "reshape", "_reshape_alias", "_unsafe_view",
        "permute", "transpose", "t", "contiguous", "squeeze", "unsqueeze", "expand",
        "expand_as", "repeat", "cat", "concat", "stack", "split", "split_with_sizes",
        "chunk", "unbind", "slice", "select", "narrow", "index_select", "size", "sym_size",
        "dim", "numel", "len", "__getitem__", "to", "_to_copy", "type_as", "detach", "clone",
        "alias", "lift_fresh_copy", "zeros", "zeros_like", "ones", "ones_like", "full",
        "full_like", "Int", "Float", "Bool", "ScalarImplicit", "format",
        "_assert_tensor_metadata", "_assert_scalar", "sym_constrain_range_for_size",
    )}
    | {f"prim::{op}" for op in (
        "Constant", "ListConstruct", "ListUnpack", "TupleConstruct", "TupleUnpack",
        "TupleIndex", "GetAttr", "If", "Loop", "RaiseException", "Uninitialized",
        "unchecked_cast", "NumToTensor", "device", "dtype", "shape", "layout", "min", "max",
        "isinstance", "requires_grad", "is_cuda", "data",
    )}
    | {"_operator.getitem", "_operator.add", "_operator.sub", "_operator.mul",
       "_operator.floordiv", "_operator.truediv", "_operator.neg"}
)  # fmt: skip
"""TorchScript node kinds / exported-graph targets an encoder may use (overloads ignored):
tensor maths of the usual layers, control flow of scripted code, and shape arithmetic.
Refused: everything else, notably ``aten::from_file``, ``aten::save``, ``prim::Print``,
``prim::CallFunction`` / ``prim::CallMethod`` left after inlining, in-place storage ops
(``aten::set_``, ``aten::as_strided``), and ops of any other namespace (``torch.ops.*``)."""

_SETSTATE = re.compile(rb"\bdef\s+__setstate__\b")
_PT2_FIXED = {
    "archive_format",
    "archive_version",
    "byteorder",
    ".data/version",
    ".data/serialization_id",
}
_PT2_PATTERNS = (
    re.compile(r"models/[\w.-]+\.json"),
    re.compile(r"data/weights/(model_weights_config\.json|weight_\d+)"),
    re.compile(r"data/constants/(model_constants_config\.json|tensor_\w+)"),
    re.compile(r"data/sample_inputs/[\w.-]+\.pt"),
)


def _op_name(target: str) -> str:
    """``torch.ops.aten.linear.default`` / ``aten::linear.out`` -> ``aten::linear``."""
    if target.startswith("torch.ops."):
        parts = target.split(".")
        return f"{parts[2]}::{parts[3]}" if len(parts) >= 4 else target
    return target.split(".")[0] if "::" in target else target


def check_torch_graph(graph: Any, where: str) -> None:
    """Refuse a TorchScript graph (inlined) with a node kind outside the allow-list."""
    for node in _all_nodes(graph.nodes()):
        kind = node.kind()
        if kind not in TORCH_ENCODER_OPS:
            raise ModelError(f"{where}: op {kind} is not allowed in an encoder")


def _all_nodes(nodes: Iterable[Any]) -> Iterator[Any]:
    for node in nodes:
        yield node
        for block in node.blocks():
            yield from _all_nodes(block.nodes())


def check_torchscript_archive(path: Path) -> None:
    """Refuse a TorchScript archive whose code defines ``__setstate__`` (run by loading)."""
    data = path.read_bytes()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as err:
        raise ModelError(f"{path}: not a TorchScript file ({type(err).__name__}: {err})") from err
    for name, payload in [(path.name, data), *members]:
        if _SETSTATE.search(payload):
            raise ModelError(f"{path}: {name} defines __setstate__, which torch.jit.load would run")


def check_pt2_archive(path: Path) -> None:
    """Refuse a ``torch.export`` archive unless loading it unpickles nothing and its graph
    uses allowed ops only (see the module docstring)."""
    import torch

    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise ModelError(f"{path}: not a torch.export archive ({err})") from err
    with archive:
        names = archive.namelist()
        roots = {n.split("/", 1)[0] for n in names}
        if len(roots) != 1 or len(names) != len(set(names)):
            raise ModelError(f"{path}: not a torch.export archive (one top folder expected)")
        for name in names:
            rest = name.split("/", 1)[1] if "/" in name else ""
            if rest in _PT2_FIXED or any(p.fullmatch(rest) for p in _PT2_PATTERNS):
                continue
            raise ModelError(f"{path}: unexpected entry {name} in a torch.export archive")
        for name in names:
            rest = name.split("/", 1)[1]
            payload = archive.read(name)
            if rest.endswith("_config.json") and re.search(rb'"use_pickle"\s*:\s*true', payload):
                raise ModelError(f"{path}: {name} holds pickled payloads (refused)")
            if rest.startswith("data/sample_inputs/"):
                try:
                    torch.load(io.BytesIO(payload), weights_only=True)
                except Exception as err:
                    raise ModelError(
                        f"{path}: {name} is not loadable without unpickling code "
                        f"({type(err).__name__})"
                    ) from err
            if rest.startswith("models/"):
                try:
                    program = json.loads(payload)
                except (ValueError, UnicodeDecodeError) as err:
                    raise ModelError(f"{path}: {name} is not JSON ({err})") from err
                _check_pt2_json(program, f"{path}: {name}")


def _check_pt2_json(value: Any, where: str) -> None:
    if isinstance(value, dict):
        if value.get("custom_obj_values"):
            raise ModelError(f"{where}: holds custom objects (refused)")
        target = value.get("target")
        if isinstance(target, str) and "inputs" in value:
            if _op_name(target) not in TORCH_ENCODER_OPS:
                raise ModelError(f"{where}: op {target} is not allowed in an encoder")
        for item in value.values():
            _check_pt2_json(item, where)
    elif isinstance(value, list):
        for item in value:
            _check_pt2_json(item, where)


def check_exported_program(program: Any, where: str) -> None:
    """Refuse a loaded ExportedProgram whose graph calls anything outside the allow-list."""
    for node in program.graph.nodes:
        if node.op in ("placeholder", "output"):
            continue
        if node.op != "call_function":
            raise ModelError(f"{where}: graph node {node.name} ({node.op}) is not allowed")
        target = node.target
        name = getattr(target, "name", None)
        key = (
            _op_name(f"torch.ops.{target.namespace}.{name().split('::')[-1]}")
            if callable(name) and hasattr(target, "namespace")
            else f"{getattr(target, '__module__', '')}.{getattr(target, '__name__', target)}"
        )
        if key not in TORCH_ENCODER_OPS:
            raise ModelError(f"{where}: op {key} is not allowed in an encoder")
