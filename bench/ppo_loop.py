#!/usr/bin/python3
"""Episodes/s of a seed-faithful PyTorch PPO search loop: the baseline of `triseg search --method ppo`.

This is the search loop of the original Python project (approx_train_ppo.py, as its design
describes it), written the straightforward way, on the networks of bench/eval_loop.py:

- Teacher: the oneDNN INT8 network (eval_loop.QuantizedVgg), recomputed on the reward batch in
  every episode, as the original did (it drew a fresh batch per episode; here the batch is the
  same first `--images` test images every time, as triseg's reward set is fixed).
- Student (`--student`, default `fakequant`): the fake-quant float network with the
  torch.where tri-segment tables (eval_loop.FakeQuantVgg), one forward per episode with the
  episode's codes. `--student int8` applies the same torch.where tables to the int_repr() of
  the oneDNN network instead (eval_loop.QuantizedVgg; faster here, not what the original did):
  a conservative baseline.
- Reward: -KD, KD = kl_div(log_softmax(s/T), softmax(t/T), batchmean) * T^2 at T = 2, shared
  evenly by the episode's layer transitions (reward / layers each, the last one terminal).
- Policy: the original's ActorCritic: a learned embedding per layer (layers x 64) as the state;
  four categorical heads over the 256 codes (t1, t2, v1, v2) and a critic, each
  Linear(64, 64) -> tanh -> Linear(64, out) (triseg's ppo.embedding_dim and ppo.hidden
  defaults), float32 as PyTorch's default.
- Masked sampling, layer by layer under torch.no_grad(): t1 in [2, min(10, tmax-8)], then
  t2 in [t1+4, tmax-4], v1 in [t1+1, t2-1], v2 in [t2+1, tmax], tmax = 32; logits outside the
  allowed range are set to -inf before Categorical.
- PPO (Schulman et al. 2017) with the original's hyperparameters: an update every 50
  transitions; discounted returns (gamma 0.99, reset at terminals), normalized
  ((R - mean) / (std + 1e-7)); K = 4 epochs over the whole buffer of
  -min(rho A, clip(rho, 0.8, 1.2) A) + 0.5 MSE(V, R) - 0.01 H, A = R - V.detach(); Adam 3e-4.

Set-up (reading the model and the images, building the networks, one untimed forward of each
network) is not timed. Then `--episodes` episodes run, each timed part summed separately:
policy sampling, teacher forward, student forward with the KD, PPO updates. The last line
printed is `episodes_per_s <float>` (episodes / seconds of the loop). Run it with Debian's
interpreter, /usr/bin/python3 (python3-torch, python3-h5py).
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import eval_loop  # noqa: E402  (the teacher, student, data and model reader)
from eval_loop import F, nn, torch  # noqa: E402

TMAX = eval_loop.TMAX
TEMPERATURE = eval_loop.TEMPERATURE
CODES = 256

# The original's PPO hyperparameters (triseg's PpoOptions defaults).
LR = 3e-4
GAMMA = 0.99
EPS_CLIP = 0.2
K_EPOCHS = 4
VALUE_COEF = 0.5
ENTROPY_COEF = 0.01
UPDATE_TIMESTEP = 50
STATE_DIM = 64
HIDDEN = 64


def head(out):
    return nn.Sequential(nn.Linear(STATE_DIM, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, out))


def allowed_ranges(t1=None, t2=None):
    """Allowed (lo, hi) of each head given the earlier picks (the original's rules)."""
    r = {"t1": (2, min(10, TMAX - 8))}
    if t1 is not None:
        r["t2"] = (t1 + 4, TMAX - 4)
    if t1 is not None and t2 is not None:
        r["v1"] = (t1 + 1, t2 - 1)
        r["v2"] = (t2 + 1, TMAX)
    return r


def masked(logits, lo, hi):
    """logits [.., 256] with everything outside [lo, hi] (tensors or ints) set to -inf."""
    idx = torch.arange(CODES)
    lo = torch.as_tensor(lo).unsqueeze(-1)
    hi = torch.as_tensor(hi).unsqueeze(-1)
    return logits.masked_fill((idx < lo) | (idx > hi), float("-inf"))


class ActorCritic(nn.Module):
    """The original's actor-critic: layer embedding -> four masked code heads + a critic."""

    def __init__(self, layers):
        super().__init__()
        self.layer_embeddings = nn.Embedding(layers, STATE_DIM)
        self.actor_t1 = head(CODES)
        self.actor_t2 = head(CODES)
        self.actor_v1 = head(CODES)
        self.actor_v2 = head(CODES)
        self.critic = head(1)

    def act(self, layer):
        """Sample (t1, t2, v1, v2) for one layer; returns the action, its log-prob and value."""
        s = self.layer_embeddings(torch.tensor(layer))
        lo, hi = allowed_ranges()["t1"]
        d1 = torch.distributions.Categorical(logits=masked(self.actor_t1(s), lo, hi))
        t1 = d1.sample()
        lo, hi = allowed_ranges(int(t1))["t2"]
        d2 = torch.distributions.Categorical(logits=masked(self.actor_t2(s), lo, hi))
        t2 = d2.sample()
        r = allowed_ranges(int(t1), int(t2))
        dv1 = torch.distributions.Categorical(logits=masked(self.actor_v1(s), *r["v1"]))
        dv2 = torch.distributions.Categorical(logits=masked(self.actor_v2(s), *r["v2"]))
        v1 = dv1.sample()
        v2 = dv2.sample()
        logp = d1.log_prob(t1) + d2.log_prob(t2) + dv1.log_prob(v1) + dv2.log_prob(v2)
        action = torch.stack([t1, t2, v1, v2])
        return action, logp, self.critic(s).squeeze(-1)

    def evaluate(self, layers, actions):
        """Log-probs, values and entropies of a batch of (layer, action) transitions."""
        s = self.layer_embeddings(layers)
        t1, t2 = actions[:, 0], actions[:, 1]
        ranges = [(torch.full_like(t1, 2), torch.full_like(t1, min(10, TMAX - 8))),
                  (t1 + 4, torch.full_like(t1, TMAX - 4)),
                  (t1 + 1, t2 - 1),
                  (t2 + 1, torch.full_like(t1, TMAX))]
        logp = 0
        entropy = 0
        for h, net in enumerate((self.actor_t1, self.actor_t2, self.actor_v1, self.actor_v2)):
            d = torch.distributions.Categorical(logits=masked(net(s), *ranges[h]))
            logp = logp + d.log_prob(actions[:, h])
            entropy = entropy + d.entropy()
        return logp, self.critic(s).squeeze(-1), entropy


class Memory:
    def __init__(self):
        self.clear()

    def clear(self):
        self.layers, self.actions, self.logprobs, self.rewards, self.terminals = [], [], [], [], []

    def __len__(self):
        return len(self.rewards)


class PPO:
    def __init__(self, layers):
        self.policy = ActorCritic(layers)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=LR)
        self.updates = 0

    def update(self, memory):
        returns = []
        discounted = 0.0
        for reward, terminal in zip(reversed(memory.rewards), reversed(memory.terminals)):
            if terminal:
                discounted = 0.0
            discounted = reward + GAMMA * discounted
            returns.insert(0, discounted)
        returns = torch.tensor(returns, dtype=torch.float32)
        returns = (returns - returns.mean()) / (returns.std() + 1e-7)
        layers = torch.tensor(memory.layers)
        actions = torch.stack(memory.actions)
        old_logprobs = torch.stack(memory.logprobs).detach()
        for _ in range(K_EPOCHS):
            logprobs, values, entropy = self.policy.evaluate(layers, actions)
            advantages = returns - values.detach()
            ratios = torch.exp(logprobs - old_logprobs)
            surr1 = ratios * advantages
            surr2 = torch.clamp(ratios, 1 - EPS_CLIP, 1 + EPS_CLIP) * advantages
            loss = (-torch.min(surr1, surr2) + VALUE_COEF * F.mse_loss(values, returns)
                    - ENTROPY_COEF * entropy)
            self.optimizer.zero_grad()
            loss.mean().backward()
            self.optimizer.step()
        self.updates += 1


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run-dir", required=True, help="run folder holding int8/model.h5")
    p.add_argument("--images", type=eval_loop.int_at_least(1), default=128,
                   help="reward batch: the first N test images (default 128)")
    p.add_argument("--episodes", type=eval_loop.int_at_least(1), default=100,
                   help="timed episodes (default 100)")
    p.add_argument("--threads", type=eval_loop.int_at_least(1), default=1)
    p.add_argument("--seed", type=eval_loop.int_at_least(0), default=0)
    p.add_argument("--student", choices=("fakequant", "int8"), default="fakequant")
    p.add_argument("--data-root", default="/usr/share/datasets/fashion-mnist")
    return p.parse_args(argv)  # exits with code 2 on a bad flag


def main(argv):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    if "onednn" not in torch.backends.quantized.supported_engines:
        eval_loop.fail("this torch has no onednn quantized engine (supported: "
                       f"{torch.backends.quantized.supported_engines})")
    torch.backends.quantized.engine = "onednn"
    torch.manual_seed(args.seed)

    model = eval_loop.load_int8_model(os.path.join(args.run_dir, "int8", "model.h5"))
    x, labels = eval_loop.load_test_images(args.data_root, args.images, model)
    teacher = eval_loop.QuantizedVgg(model).eval()
    student = eval_loop.FakeQuantVgg(model).eval() if args.student == "fakequant" else teacher
    layers = len(model["layers"])
    ppo = PPO(layers)
    memory = Memory()
    with torch.no_grad():  # untimed warm-up of both networks
        teacher(x)
        student(x, eval_loop.random_code_set(eval_loop.random.Random(args.seed), layers))

    timers = {"policy": 0.0, "teacher": 0.0, "student": 0.0, "update": 0.0}
    clock = time.perf_counter
    best_kd = float("inf")
    start = clock()
    for _ in range(args.episodes):
        t = clock()
        with torch.no_grad():
            steps = [ppo.policy.act(layer) for layer in range(layers)]
        code_set = [tuple(int(c) for c in action[[0, 2, 1, 3]]) + (TMAX,)
                    for action, _, _ in steps]  # (t1, v1, t2, v2, tmax)
        t2 = clock()
        timers["policy"] += t2 - t
        with torch.no_grad():
            t_logits = teacher(x)
            t3 = clock()
            timers["teacher"] += t3 - t2
            s_logits = student(x, code_set)
            kd = eval_loop.kd_loss(s_logits, t_logits).item()
        t4 = clock()
        timers["student"] += t4 - t3
        best_kd = min(best_kd, kd)
        reward = -kd
        for layer, (action, logp, _) in enumerate(steps):
            memory.layers.append(layer)
            memory.actions.append(action)
            memory.logprobs.append(logp)
            memory.rewards.append(reward / layers)
            memory.terminals.append(layer == layers - 1)
            if len(memory) >= UPDATE_TIMESTEP:
                ppo.update(memory)
                memory.clear()
        timers["update"] += clock() - t4
    seconds = clock() - start

    print(f"ppo_loop.py: int8 teacher (recomputed per episode) + {args.student} student, "
          f"{layers} layers, run {args.run_dir}")
    print(f"images {args.images}, threads {args.threads}, episodes {args.episodes}, "
          f"{ppo.updates} updates, seconds {seconds:.3f}, best KD {best_kd:.4f}")
    per = {k: 1000.0 * v / args.episodes for k, v in timers.items()}
    print("ms per episode: " + ", ".join(f"{k} {v:.2f}" for k, v in per.items())
          + f", other {1000.0 * seconds / args.episodes - sum(per.values()):.2f}")
    print(f"episodes_per_s {args.episodes / seconds:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
