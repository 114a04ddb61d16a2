#!/usr/bin/python3
"""Float VGG training throughput (images/s) in PyTorch: the baseline of bench_train_throughput.

Same model (models/vgg.cpp: conv3x3 no-bias + BatchNorm2d + ReLU blocks, 2x2 max-pool after
each stage, flatten, one Linear; Kaiming-normal fan_out conv init, N(0, 0.01) linear weight,
zero bias), same SGD, same flags and the same step as engine/train/float_trainer.cpp. Prints one JSON
line. Run it with Debian's interpreter, /usr/bin/python3 (python3-torch).
"""

import argparse
import json
import math
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    sys.exit("train_throughput.py: cannot import torch; run it with /usr/bin/python3 "
             "after `apt-get install python3-torch`")

LR = 0.05
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4
POOL = 0
BASE_TABLES = {
    "vgg11": [64, POOL, 128, POOL, 256, 256, POOL, 512, 512, POOL, 512, 512, POOL],
    "vgg16": [64, 64, POOL, 128, 128, POOL, 256, 256, 256, POOL, 512, 512, 512, POOL,
              512, 512, 512, POOL],
}


def scaled_width(base, width):
    """max(1, llround(base * width)): rounds halves away from zero like models/spec/vgg_layout.cpp."""
    return max(1, int(math.floor(base * width + 0.5)))


class ConvBlock(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        return self.bn(self.conv(x)).relu_()


class Vgg(nn.Module):
    def __init__(self, arch, width, in_channels, num_classes, image_size):
        super().__init__()
        blocks, pool_after = [], []
        channels = in_channels
        for entry in BASE_TABLES[arch]:
            if entry == POOL:
                pool_after[-1] = True
                continue
            out = scaled_width(entry, width)
            blocks.append(ConvBlock(channels, out))
            pool_after.append(False)
            channels = out
        self.blocks = nn.ModuleList(blocks)
        self.pool_after = pool_after
        side = image_size // 32
        self.classifier = nn.Linear(channels * side * side, num_classes)
        nn.init.normal_(self.classifier.weight, 0.0, 0.01)
        nn.init.zeros_(self.classifier.bias)

    def forward(self, x):
        for block, pool in zip(self.blocks, self.pool_after):
            x = block(x)
            if pool:
                x = F.max_pool2d(x, 2, 2)
        return self.classifier(x.flatten(1))


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
    p.add_argument("--arch", choices=sorted(BASE_TABLES), default="vgg16")
    p.add_argument("--width", type=float, default=0.25, help="channel multiplier in [0.01, 4]")
    p.add_argument("--batch", type=int_at_least(1), default=128)
    p.add_argument("--threads", type=int_at_least(1), default=2)
    p.add_argument("--warmup", type=int_at_least(0), default=3)
    p.add_argument("--iters", type=int_at_least(1), default=20)
    p.add_argument("--in-channels", type=int_at_least(1), default=1)
    p.add_argument("--image-size", type=int_at_least(32), default=32)
    p.add_argument("--classes", type=int_at_least(2), default=10)
    p.add_argument("--seed", type=int_at_least(0), default=0)
    args = p.parse_args(argv)  # exits with code 2 on a bad flag
    if not 0.01 <= args.width <= 4.0:
        p.error(f"--width must be in [0.01, 4], got {args.width}")
    if args.image_size % 32 != 0:
        p.error(f"--image-size must be a multiple of 32 (five 2x2 max-pools), "
                f"got {args.image_size}")
    return args


def train_step(model, opt, images, labels):
    """The body of the FloatTrainer loop (engine/train/float_trainer.cpp)."""
    for group in opt.param_groups:
        group["lr"] = LR
    x = images.clone()  # the trainer copies each batch out of the loader
    y = labels.clone()
    opt.zero_grad()
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    opt.step()
    loss_value = loss.item()
    correct = logits.argmax(1).eq(y).sum().item()
    return loss_value, correct


def main(argv):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # inter-op pool already started; the intra-op setting is what counts
    torch.manual_seed(args.seed)
    model = Vgg(args.arch, args.width, args.in_channels, args.classes, args.image_size)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM,
                          weight_decay=WEIGHT_DECAY)
    side = args.image_size
    images = torch.randn(args.batch, args.in_channels, side, side)
    labels = torch.randint(args.classes, (args.batch,), dtype=torch.int64)

    correct = 0
    loss = 0.0
    for _ in range(args.warmup):
        loss, c = train_step(model, opt, images, labels)
        correct += c
    start = time.perf_counter()
    for _ in range(args.iters):
        loss, c = train_step(model, opt, images, labels)
        correct += c
    seconds = time.perf_counter() - start
    print(json.dumps({
        "impl": "pytorch-python",
        "arch": args.arch,
        "width": args.width,
        "batch": args.batch,
        "threads": args.threads,
        "iters": args.iters,
        "seconds": round(seconds, 6),
        "images_per_s": round(args.batch * args.iters / seconds, 3),
        "final_loss": round(loss, 6),
        "correct": correct,
    }, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
