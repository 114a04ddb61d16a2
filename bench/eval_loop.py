#!/usr/bin/python3
"""Candidate evaluations/s of a plain PyTorch loop: the baseline of the C++ candidate evaluator.

This is the evaluation loop of the original Python project, written the straightforward way:
for every candidate code set it runs the teacher forward AND the student forward on the
reward batch (the teacher logits are recomputed every time, as the original's reward did),
then the KD loss `kl_div(log_softmax(s/T), softmax(t/T), batchmean) * T^2` at T = 2, the
student accuracy and the teacher/student agreement. Both networks are built from the exported
integer model `<run-dir>/int8/model.h5` (docs/int8-model.md), read with h5py.

Teacher (`--teacher`, default `int8`): a true quantized network like the original's fbgemm INT8
teacher. Debian's torch (1.13) has no fbgemm here; its quantized engines are
qnnpack and onednn, and `torch.nn.intrinsic.quantized.ConvReLU2d` works on onednn, so the
teacher is fused quantized ConvReLU2d blocks (per-channel int8 weights, the layer's output
scale and zero point) on the onednn engine, quantized max-pool, then a float linear layer on the
dequantized features. We use it because it is what the original did, and because it is also the
faster teacher on x86 (onednn's int8 convolutions beat float ones several times), so the
baseline is not slowed down on purpose. `--teacher fakequant` uses instead the float
fake-quant network described below, without tri-segment codes.

Student (`--student`, default `fakequant`): like the original's FakeQuant student, a float
network that reproduces the integer model: dequantized weights (int8 * weight_scale), float
conv2d plus the bias (int32 * input_scale * weight_scale), output rounded to uint8 codes with
the layer's output scale and zero point (round half to even, clamp to [zero_point, 255], which
is the ReLU), the tri-segment function on those codes (the original's torch.where chain:
code <= t1 -> 0, t1 < code <= t2 -> v1, t2 < code <= tmax -> v2, above tmax unchanged), 2x2
max-pool, dequantize, and a float linear classifier. `--student int8` applies the same
function to the int_repr() of the teacher's quantized network instead (the fastest thing one
can do in Python on this CPU; not what the original did).

Neither onednn nor the fake-quant network is bit-exact to the integer arithmetic of
docs/int8-model.md (both requantize in float: about 0.1-0.7% of the codes of the deep layers
differ by 1 or 2), so with `--check-identity` (hidden) the script checks the pieces separately:
the identity-code student must equal the fake-quant teacher bit for bit (KD 0, agreement 100%),
the int8 teacher must agree with it closely, and the accuracies of the fake-quant, int8 and an
exact integer reference (float64 convolutions, exact for these integers) on the first
`--accuracy-images` test images are printed.

Data: the first `--images` Fashion-MNIST test images (IDX gzip), zero-padded 28 -> 32 centred,
pixel / 255, normalized with the mean and std stored in model.h5. Candidates: `--candidates`
random valid code sets (seeded, tmax = 32, the original's search-space rules), after 2 untimed
warm-up candidates; one forward of each network per candidate on the whole batch, under
torch.no_grad(). The last line printed is `evals_per_s <float>` (timed candidates / seconds).
Run it with Debian's interpreter, /usr/bin/python3 (python3-torch, python3-h5py).
"""

import argparse
import gzip
import os
import random
import sys
import time

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    sys.exit("eval_loop.py: cannot import torch; run it with /usr/bin/python3 "
             "after `apt-get install python3-torch`")
try:
    import h5py
except ImportError:
    sys.exit("eval_loop.py: cannot import h5py; run it with /usr/bin/python3 "
             "after `apt-get install python3-h5py`")

TMAX = 32
TEMPERATURE = 2.0
WARMUP = 2
FORMAT = "triseg-int8-v2"
FORMAT_V1 = "triseg-int8-v1"
KD_ZERO_TOL = 1e-6          # KD of identical logits: log(softmax) vs log_softmax rounding
INT8_MIN_AGREEMENT = 99.0   # % argmax agreement, onednn int8 teacher vs fake-quant network


def fail(msg, code=1):
    # The running script's name: ppo_loop.py imports this module.
    print(f"{os.path.basename(sys.argv[0]) or 'eval_loop.py'}: {msg}", file=sys.stderr)
    sys.exit(code)


# ---------------------------------------------------------------- model file and data

def load_int8_model(path):
    """The integer model of docs/int8-model.md as numpy arrays and Python scalars."""
    if not os.path.isfile(path):
        fail(f"{path}: no such file (run `triseg export-int8` first)", 4)
    with h5py.File(path, "r") as f:
        fmt = f.attrs.get("format")
        if isinstance(fmt, bytes):
            fmt = fmt.decode()
        if fmt not in (FORMAT, FORMAT_V1):
            fail(f"{path}: format is {fmt!r}, expected {FORMAT!r} or {FORMAT_V1!r}", 3)
        a = f["input"].attrs
        model = {
            "in_channels": int(f.attrs["in_channels"]),
            "image_size": int(f.attrs["image_size"]),
            "num_classes": int(f.attrs["num_classes"]),
            "input": {"scale": float(np.float32(a["scale"])), "zero_point": int(a["zero_point"]),
                      "mean": np.asarray(a["mean"], np.float64),
                      "std": np.asarray(a["std"], np.float64)},
            "layers": [],
        }
        if fmt == FORMAT_V1:
            read_v1_chain(f, model)
        else:
            read_v2_chain(path, f, model)
    return model


def read_v1_chain(f, model):
    """The conv layers and classifier of a v1 file (groups /layers/<name>, /classifier)."""
    for name in f["layer_names"].asstr()[()]:
        g = f["layers"][name]
        layer = {k: g[k][()] for k in ("weight", "weight_scale", "bias")}
        layer.update(name=str(name), pool_after=bool(g.attrs["pool_after"]),
                     in_channels=int(g.attrs["in_channels"]),
                     out_channels=int(g.attrs["out_channels"]))
        for k in ("input_scale", "output_scale"):
            layer[k] = float(np.float32(g.attrs[k]))
        for k in ("input_zero_point", "output_zero_point"):
            layer[k] = int(g.attrs[k])
        # Only for the exact reference of --check-identity.
        layer["multiplier"] = g["multiplier"][()]
        layer["shift"] = g["shift"][()]
        model["layers"].append(layer)
    c = f["classifier"]
    model["classifier"] = {k: c[k][()] for k in ("weight", "weight_scale", "bias")}
    model["classifier"].update(input_scale=float(np.float32(c.attrs["input_scale"])),
                               input_zero_point=int(c.attrs["input_zero_point"]))


def read_v2_chain(path, f, model):
    """The same from a v2 file of a VGG chain: conv ops (3x3, stride 1, padding 1, ReLU),
    `<layer>.pool` max-pools and the linear classifier (docs/int8-model.md)."""
    tensors = f["tensor_names"].asstr()[()]

    def quant(index):
        t = f["tensors"][tensors[index]].attrs
        return float(np.float32(t["scale"])), int(t["zero_point"])

    for name in f["op_names"].asstr()[()]:
        g = f["ops"][name]
        kind = g.attrs["kind"]
        kind = kind.decode() if isinstance(kind, bytes) else str(kind)
        (src,) = [int(i) for i in g.attrs["inputs"]]
        if kind == "maxpool":
            model["layers"][-1]["pool_after"] = True
            continue
        if kind == "linear":
            s_in, zp_in = quant(src)
            model["classifier"] = {k: g[k][()] for k in ("weight", "weight_scale", "bias")}
            model["classifier"].update(input_scale=s_in, input_zero_point=zp_in)
            continue
        if (kind != "conv" or int(g.attrs["kernel"]) != 3 or int(g.attrs["stride"]) != 1
                or int(g.attrs["groups"]) != 1):
            fail(f"{path}: op {name!r} ({kind}) is not part of a VGG chain; "
                 "this loop runs VGG models only", 3)
        s_in, zp_in = quant(src)
        s_out, zp_out = quant(int(g.attrs["output"]))
        layer = {k: g[k][()] for k in ("weight", "weight_scale", "bias", "multiplier", "shift")}
        layer.update(name=str(name), pool_after=False,
                     in_channels=int(g.attrs["in_channels"]),
                     out_channels=int(g.attrs["out_channels"]),
                     input_scale=s_in, output_scale=s_out,
                     input_zero_point=zp_in, output_zero_point=zp_out)
        model["layers"].append(layer)
    return model


def read_idx(path):
    if not os.path.isfile(path):
        fail(f"{path}: no such file (apt-get install dataset-fashion-mnist, or --data-root)", 4)
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(magic & 0xFF)]
    if magic >> 8 != 0x08 or len(raw) != 4 + 4 * len(dims) + int(np.prod(dims)):
        fail(f"{path}: not an uint8 IDX file", 3)
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def load_test_images(root, count, model):
    """First `count` test images, padded 28 -> 32 centred, normalized; and their labels."""
    if model["in_channels"] != 1 or model["image_size"] != 32:
        fail("only 1x32x32 models (Fashion-MNIST / MNIST) are supported, the model has "
             f"{model['in_channels']} channels and image_size {model['image_size']}", 3)
    images = read_idx(os.path.join(root, "t10k-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(root, "t10k-labels-idx1-ubyte.gz"))
    if count > len(images):
        fail(f"--images {count}: the test set has only {len(images)} images", 2)
    pixels = np.zeros((count, 1, 32, 32), np.uint8)
    pixels[:, 0, 2:30, 2:30] = images[:count]
    mean = model["input"]["mean"][None, :, None, None]
    std = model["input"]["std"][None, :, None, None]
    x = ((pixels.astype(np.float64) / 255.0 - mean) / std).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(labels[:count].astype(np.int64))


def float_bias(bias_acc, input_scale, weight_scale):
    """int32 bias in accumulator units -> float bias (scale input_scale * weight_scale)."""
    return torch.from_numpy((bias_acc.astype(np.float64) * input_scale
                             * weight_scale.astype(np.float64)).astype(np.float32))


def dequantized_weight(weight, weight_scale):
    shape = (-1,) + (1,) * (weight.ndim - 1)
    return torch.from_numpy(weight.astype(np.float32) * weight_scale.reshape(shape))


# ---------------------------------------------------------------- tri-segment codes

def tri_segment(q, t1, v1, t2, v2, tmax):
    """The original's hard tri-segment function on codes (float or uint8 tensor)."""
    zero = torch.zeros((), dtype=q.dtype)
    m1 = q <= t1
    m2 = (q > t1) & (q <= t2)
    m3 = (q > t2) & (q <= tmax)
    return torch.where(m1, zero, torch.where(m2, torch.tensor(v1, dtype=q.dtype),
                                             torch.where(m3, torch.tensor(v2, dtype=q.dtype),
                                                         q)))


def random_code_set(rng, layers):
    """One valid code set: [(t1, v1, t2, v2, tmax)] per layer, the original's rules."""
    codes = []
    for _ in range(layers):
        t1 = rng.randint(2, min(10, TMAX - 8))
        t2 = rng.randint(t1 + 4, TMAX - 4)
        v1 = rng.randint(t1 + 1, t2 - 1)
        v2 = rng.randint(t2 + 1, TMAX)
        codes.append((t1, v1, t2, v2, TMAX))
    return codes


# ---------------------------------------------------------------- networks

class FakeQuantBlock(nn.Module):
    """conv3x3 (dequantized weights) + bias -> uint8 codes (ReLU) -> [tri-segment] -> pool."""

    def __init__(self, layer):
        super().__init__()
        self.register_buffer("weight", dequantized_weight(layer["weight"], layer["weight_scale"]))
        self.register_buffer("bias", float_bias(layer["bias"], layer["input_scale"],
                                                layer["weight_scale"]))
        self.scale = layer["output_scale"]
        self.inv_scale = float(np.float32(1) / np.float32(self.scale))
        self.zero_point = float(layer["output_zero_point"])
        self.pool = layer["pool_after"]

    def forward(self, x, codes=None):
        y = F.conv2d(x, self.weight, self.bias, padding=1)
        q = torch.clamp(torch.round(y * self.inv_scale) + self.zero_point, self.zero_point, 255.0)
        if codes is not None:
            q = tri_segment(q, *codes)
        if self.pool:
            q = F.max_pool2d(q, 2, 2)
        return (q - self.zero_point) * self.scale


class FakeQuantVgg(nn.Module):
    """The integer model as a float fake-quant network; forward(x, code_set=None)."""

    def __init__(self, model):
        super().__init__()
        self.in_scale = model["input"]["scale"]
        self.in_zero_point = model["input"]["zero_point"]
        self.blocks = nn.ModuleList(FakeQuantBlock(layer) for layer in model["layers"])
        clf = model["classifier"]
        self.register_buffer("fc_weight", dequantized_weight(clf["weight"], clf["weight_scale"]))
        self.register_buffer("fc_bias", float_bias(clf["bias"], clf["input_scale"],
                                                   clf["weight_scale"]))

    def forward(self, x, code_set=None):
        x = torch.fake_quantize_per_tensor_affine(x, self.in_scale, self.in_zero_point, 0, 255)
        for i, block in enumerate(self.blocks):
            x = block(x, None if code_set is None else code_set[i])
        return F.linear(x.flatten(1), self.fc_weight, self.fc_bias)


def quantized_modules():
    try:
        import torch.ao.nn.intrinsic.quantized as nniq  # torch >= 2.0
    except ImportError:
        import torch.nn.intrinsic.quantized as nniq  # Debian 12: torch 1.13
    return nniq


class QuantizedVgg(nn.Module):
    """True INT8 network: quantized ConvReLU2d blocks (onednn), quantized max-pool, float fc.

    forward(x, code_set=None): with a code set, the tri-segment function is applied to each
    block's int_repr() codes (the `--student int8` variant)."""

    def __init__(self, model):
        super().__init__()
        nniq = quantized_modules()
        self.in_scale = model["input"]["scale"]
        self.in_zero_point = model["input"]["zero_point"]
        self.pools = []
        self.out_qparams = []
        blocks = []
        for layer in model["layers"]:
            conv = nniq.ConvReLU2d(layer["in_channels"], layer["out_channels"], 3, padding=1)
            ws = torch.from_numpy(layer["weight_scale"].astype(np.float64))
            qw = torch._make_per_channel_quantized_tensor(
                torch.from_numpy(layer["weight"]), ws, torch.zeros(len(ws), dtype=torch.int64),
                0)
            conv.set_weight_bias(qw, float_bias(layer["bias"], layer["input_scale"],
                                                layer["weight_scale"]))
            conv.scale = layer["output_scale"]
            conv.zero_point = layer["output_zero_point"]
            blocks.append(conv)
            self.pools.append(layer["pool_after"])
            self.out_qparams.append((layer["output_scale"], layer["output_zero_point"]))
        self.blocks = nn.ModuleList(blocks)
        clf = model["classifier"]
        self.register_buffer("fc_weight", dequantized_weight(clf["weight"], clf["weight_scale"]))
        self.register_buffer("fc_bias", float_bias(clf["bias"], clf["input_scale"],
                                                   clf["weight_scale"]))

    def forward(self, x, code_set=None):
        q = torch.quantize_per_tensor(x, self.in_scale, self.in_zero_point, torch.quint8)
        for i, (conv, pool) in enumerate(zip(self.blocks, self.pools)):
            q = conv(q)
            if code_set is not None:
                scale, zero_point = self.out_qparams[i]
                q = torch._make_per_tensor_quantized_tensor(
                    tri_segment(q.int_repr(), *code_set[i]), scale, zero_point)
            if pool:
                q = F.max_pool2d(q, 2, 2)
        return F.linear(q.dequantize().flatten(1), self.fc_weight, self.fc_bias)


def exact_reference_logits(model, x):
    """docs/int8-model.md bit for bit (float64 convs are exact for these integers)."""
    inp = model["input"]
    inv = np.float32(1) / np.float32(inp["scale"])
    codes = torch.clamp(torch.round(x * torch.tensor(inv)) + float(inp["zero_point"]), 0, 255)
    codes = codes.double()
    for layer in model["layers"]:
        w = torch.from_numpy(layer["weight"].astype(np.float64))
        b = torch.from_numpy(layer["bias"].astype(np.float64))
        acc = F.conv2d(codes - layer["input_zero_point"], w, b, padding=1).round().long()
        m = torch.from_numpy(layer["multiplier"].astype(np.int64))[None, :, None, None]
        s = torch.from_numpy(layer["shift"].astype(np.int64))[None, :, None, None]
        r = (acc * m + (torch.ones_like(s) << (s - 1))) >> s
        zo = layer["output_zero_point"]
        codes = torch.clamp(zo + r, zo, 255).double()
        if layer["pool_after"]:
            codes = F.max_pool2d(codes, 2, 2)
    clf = model["classifier"]
    v = codes.flatten(1) - clf["input_zero_point"]
    acc = v @ torch.from_numpy(clf["weight"].astype(np.float64)).T \
        + torch.from_numpy(clf["bias"].astype(np.float64))
    return (acc * clf["input_scale"]
            * torch.from_numpy(clf["weight_scale"].astype(np.float64))).float()


# ---------------------------------------------------------------- evaluation

def kd_loss(s_logits, t_logits, T=TEMPERATURE):
    return F.kl_div(F.log_softmax(s_logits / T, dim=1), F.softmax(t_logits / T, dim=1),
                    reduction="batchmean") * (T * T)


def evaluate_candidate(teacher, student, x, labels, code_set):
    """The original's reward computation: teacher forward, student forward, KD, accuracies."""
    t_logits = teacher(x)
    s_logits = student(x, code_set)
    kd = kd_loss(s_logits, t_logits).item()
    pred_t = t_logits.argmax(1)
    pred_s = s_logits.argmax(1)
    return {"kd": kd,
            "acc_teacher": 100.0 * pred_t.eq(labels).float().mean().item(),
            "acc_student": 100.0 * pred_s.eq(labels).float().mean().item(),
            "agreement": 100.0 * pred_s.eq(pred_t).float().mean().item()}


def accuracy(logits, labels):
    return 100.0 * logits.argmax(1).eq(labels).float().mean().item()


def check_identity(model, teacher, student, fq_net, q_net, args):
    """Identity codes: the student must reproduce the teacher; print teacher accuracies."""
    x, labels = load_test_images(args.data_root, args.accuracy_images, model)
    identity = [(0, 0, 0, 0, 0)] * len(model["layers"])  # tmax 0: every code unchanged
    bx, blabels = x[:args.images], labels[:args.images]
    ok = True

    # 1. The student's own path with identity codes vs the same network without codes.
    ref = (fq_net if args.student == "fakequant" else q_net)(bx)
    s_logits = student(bx, identity)
    kd = kd_loss(s_logits, ref).item()
    agree = 100.0 * s_logits.argmax(1).eq(ref.argmax(1)).float().mean().item()
    exact = torch.equal(s_logits, ref)
    print(f"identity codes, {args.student} student vs {args.student} network without codes: "
          f"KD {kd:.3g}, agreement {agree:.2f}%, logits bit-identical: {exact}")
    ok &= exact and abs(kd) <= KD_ZERO_TOL and agree == 100.0

    # 2. The teacher actually used vs the identity student (differs only for mixed kinds).
    r = evaluate_candidate(teacher, student, bx, blabels, identity)
    print(f"identity codes, {args.teacher} teacher vs {args.student} student: "
          f"KD {r['kd']:.3g}, agreement {r['agreement']:.2f}%")
    if args.teacher == args.student:
        ok &= abs(r["kd"]) <= KD_ZERO_TOL and r["agreement"] == 100.0
    else:
        ok &= r["agreement"] >= INT8_MIN_AGREEMENT

    # 3. Teacher accuracies on the first --accuracy-images test images.
    exact_logits = exact_reference_logits(model, x)
    exact_pred = exact_logits.argmax(1)
    for name, net in (("fakequant", fq_net), ("int8", q_net)):
        logits = net(x)
        print(f"teacher {name:<9} accuracy on the first {len(x)} test images: "
              f"{accuracy(logits, labels):.2f}% (argmax agreement with the exact integer "
              f"model {100.0 * logits.argmax(1).eq(exact_pred).float().mean().item():.2f}%)")
    print(f"exact integer reference accuracy on the first {len(x)} test images: "
          f"{accuracy(exact_logits, labels):.2f}%")
    if not ok:
        fail("identity check FAILED", 1)
    print("identity check passed")


def int_at_least(lo):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {lo}, got '{text}'")
        if value < lo:
            raise argparse.ArgumentTypeError(f"must be an integer >= {lo}, got '{text}'")
        return value
    return parse


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run-dir", required=True, help="run folder holding int8/model.h5")
    p.add_argument("--images", type=int_at_least(1), default=256,
                   help="reward batch: the first N test images (default 256)")
    p.add_argument("--candidates", type=int_at_least(1), default=20,
                   help="timed candidates (default 20), after 2 untimed warm-up ones")
    p.add_argument("--threads", type=int_at_least(1), default=1)
    p.add_argument("--seed", type=int_at_least(0), default=0)
    p.add_argument("--teacher", choices=("int8", "fakequant"), default="int8")
    p.add_argument("--student", choices=("fakequant", "int8"), default="fakequant")
    p.add_argument("--data-root", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--check-identity", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--accuracy-images", type=int_at_least(1), default=2000,
                   help=argparse.SUPPRESS)
    return p.parse_args(argv)  # exits with code 2 on a bad flag


def main(argv):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # inter-op pool already started; the intra-op setting is what counts
    if "int8" in (args.teacher, args.student) or args.check_identity:
        if "onednn" not in torch.backends.quantized.supported_engines:
            fail("this torch has no onednn quantized engine (supported: "
                 f"{torch.backends.quantized.supported_engines}); use --teacher fakequant")
        torch.backends.quantized.engine = "onednn"

    model = load_int8_model(os.path.join(args.run_dir, "int8", "model.h5"))
    x, labels = load_test_images(args.data_root, args.images, model)
    fq_net = FakeQuantVgg(model).eval()
    q_net = None
    if "int8" in (args.teacher, args.student) or args.check_identity:
        q_net = QuantizedVgg(model).eval()
    teacher = q_net if args.teacher == "int8" else fq_net
    student = q_net if args.student == "int8" else fq_net

    with torch.no_grad():
        if args.check_identity:
            check_identity(model, teacher, student, fq_net, q_net, args)
            return 0
        rng = random.Random(args.seed)
        layers = len(model["layers"])
        for _ in range(WARMUP):
            evaluate_candidate(teacher, student, x, labels, random_code_set(rng, layers))
        code_sets = [random_code_set(rng, layers) for _ in range(args.candidates)]
        results = []
        start = time.perf_counter()
        for code_set in code_sets:
            results.append(evaluate_candidate(teacher, student, x, labels, code_set))
        seconds = time.perf_counter() - start

    def mean(key):
        return sum(r[key] for r in results) / len(results)

    print(f"eval_loop.py: {args.teacher} teacher (recomputed per candidate) + {args.student} "
          f"student, {layers} layers, run {args.run_dir}")
    print(f"images {args.images}, threads {args.threads}, candidates {args.candidates} "
          f"(+{WARMUP} warm-up), seconds {seconds:.3f}, "
          f"{1000.0 * seconds / args.candidates:.1f} ms per candidate")
    print(f"mean KD (T={TEMPERATURE:g}) {mean('kd'):.4f}, teacher acc "
          f"{results[0]['acc_teacher']:.2f}%, mean student acc {mean('acc_student'):.2f}%, "
          f"mean agreement {mean('agreement'):.2f}%")
    print(f"evals_per_s {args.candidates / seconds:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
