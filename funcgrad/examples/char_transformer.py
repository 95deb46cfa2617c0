"""Train a small causal transformer on characters, then let it write.

    python -m funcgrad.examples.char_transformer [--steps 400] [--seed 0]

The text is made here, not downloaded: sentences drawn from a small grammar ("the old fox
sees a quiet river.") -- enough structure for a character model to learn in a few hundred
steps, and no file to ship. The model is GPT-shaped, built from ``fg.nn``:

    Embedding(chars, 64) + Embedding(positions, 64)
    2 x [x + MultiHeadAttention(4, 64, causal)(LayerNorm(x)),
         x + Linear(256, 64)(gelu(Linear(64, 256)(LayerNorm(x))))]
    LayerNorm -> Linear(64, chars)

trained with AdamW (lr 3e-3) on the cross-entropy of each next character, batches of 32
windows of 64 characters. One step (loss, gradients, update) is one ``fg.jit`` function. A
progress bar shows the falling loss; at the end the model, in ``train=False`` mode, continues
a prompt one sampled character at a time (``fg.random.categorical`` on its logits, eagerly:
each step's context has another length). It prints ``loss: <first> -> <last>`` and the sample.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import nn
from funcgrad.examples.progress import ProgressBar

_SUBJECTS = ("the fox", "a cat", "the old dog", "my friend", "a small bird", "the farmer")
_VERBS = ("sees", "finds", "likes", "follows", "hears", "paints")
_OBJECTS = ("a quiet river", "the red barn", "an old tree", "the long road", "a green hill",
            "the cold moon")
_ENDINGS = (".", " at night.", " in the rain.", " every day.")


def make_text(sentences: int = 3000, seed: int = 0) -> str:
    """Sentences of the grammar, drawn with ``seed``: the training text."""
    rng = np.random.default_rng(seed)
    parts = (_SUBJECTS, _VERBS, _OBJECTS, _ENDINGS)
    return " ".join("{} {} {}{}".format(*(words[rng.integers(len(words))] for words in parts))
                    for _ in range(sentences)) + " "


class CharTransformer(nn.Module):
    """The model of the module docstring: ``apply(params, state, tokens)`` maps integer
    tokens ``(batch, length)`` to next-character logits ``(batch, length, chars)``."""

    def __init__(self, chars: int, length: int = 64, width: int = 64, heads: int = 4,
                 layers: int = 2, dtype=np.float32):
        self.chars, self.length, self.width = chars, length, width
        self.token = nn.Embedding(chars, width, dtype=dtype)
        self.position = nn.Embedding(length, width, dtype=dtype)
        self.blocks = [{"norm1": nn.LayerNorm(width, dtype=dtype),
                        "attention": nn.MultiHeadAttention(heads, width, causal=True,
                                                           dtype=dtype),
                        "norm2": nn.LayerNorm(width, dtype=dtype),
                        "up": nn.Linear(width, 4 * width, dtype=dtype),
                        "down": nn.Linear(4 * width, width, dtype=dtype)}
                       for _ in range(layers)]
        self.norm = nn.LayerNorm(width, dtype=dtype)
        self.head = nn.Linear(width, chars, dtype=dtype)

    def __repr__(self):
        return f"CharTransformer({self.chars}, {self.length}, {self.width})"

    def init(self, key):
        keys = iter(fg.random.split(key, 4 + 5 * len(self.blocks)))
        params = {"token": self.token.init(next(keys))[0],
                  "position": self.position.init(next(keys))[0],
                  "blocks": [{name: layer.init(next(keys))[0] for name, layer in block.items()}
                             for block in self.blocks],
                  "norm": self.norm.init(next(keys))[0], "head": self.head.init(next(keys))[0]}
        # Embeddings start at PyTorch's N(0, 1); a GPT's are smaller, so the residual stream
        # starts at the scale its LayerNorms expect.
        for name in ("token", "position"):
            params[name]["weight"] = params[name]["weight"] * np.float32(0.1)
        return params, {}

    def apply(self, params, state, tokens, *, train: bool, key=None):
        self._check_train(train)

        def run(layer, p, x):
            return layer.apply(p, {}, x, train=train)[0]

        length = tokens.shape[-1]
        if length > self.length:
            raise ValueError(f"{self!r}: at most {self.length} tokens, got {length}")
        x = run(self.token, params["token"], tokens) + \
            run(self.position, params["position"], np.arange(length))
        for block, p in zip(self.blocks, params["blocks"]):
            x = x + run(block["attention"], p["attention"], run(block["norm1"], p["norm1"], x))
            hidden = nn.gelu(run(block["up"], p["up"], run(block["norm2"], p["norm2"], x)),
                             approximate=True)
            x = x + run(block["down"], p["down"], hidden)
        return run(self.head, params["head"], run(self.norm, params["norm"], x)), state


def make_train_step(model, optimizer, jit: bool = True):
    """``step(params, opt_state, tokens) -> (params, opt_state, loss)``: next-character
    cross-entropy on windows ``tokens`` ``(batch, length + 1)``."""
    def loss_fn(params, tokens):
        logits, _ = model.apply(params, {}, tokens[:, :-1], train=True)
        return nn.cross_entropy(fnp.reshape(logits, (-1, model.chars)),
                                fnp.reshape(tokens[:, 1:], (-1,)))

    def step(params, opt_state, tokens):
        loss, grads = fg.value_and_grad(loss_fn)(params, tokens)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return fg.optim.apply_updates(params, updates), opt_state, loss
    return fg.jit(step) if jit else step


def sample(model, params, alphabet: str, prompt: str, count: int, key) -> str:
    """``prompt`` continued by ``count`` characters drawn from the model (``train=False``)."""
    index = {c: i for i, c in enumerate(alphabet)}
    tokens = [index[c] for c in prompt]
    for _ in range(count):
        context = np.array([tokens[-model.length:]])
        logits, _ = model.apply(params, {}, context, train=False)
        key, draw = fg.random.split(key)
        tokens.append(int(fg.random.categorical(draw, logits[0, -1])))
    return "".join(alphabet[t] for t in tokens)


def train(steps: int = 400, batch_size: int = 32, length: int = 64, learning_rate: float = 3e-3,
          seed: int = 0, progress: bool = True, stream=None, jit: bool = True,
          prompt: str = "the fox ", sample_length: int = 120) -> dict:
    """Train; return ``{"losses", "params", "sample", "alphabet", "seconds"}`` (``losses``:
    the loss of every step)."""
    text = make_text(seed=seed)
    alphabet = "".join(sorted(set(text)))
    data = np.array([alphabet.index(c) for c in text], dtype=np.int64)
    model = CharTransformer(len(alphabet), length)
    key, init_key = fg.random.split(fg.random.key(seed))
    params, _ = model.init(init_key)
    optimizer = fg.optim.adamw(learning_rate, weight_decay=0.01)
    opt_state = optimizer.init(params)
    step = make_train_step(model, optimizer, jit)
    rng = np.random.default_rng(seed)

    def batch():
        starts = rng.integers(0, len(data) - length - 1, batch_size)
        return data[starts[:, None] + np.arange(length + 1)]

    bar = ProgressBar(steps, stream, label="step") if progress else None
    every = max(1, steps // 20)
    start = time.perf_counter()
    losses = []
    for i in range(1, steps + 1):
        params, opt_state, loss = step(params, opt_state, batch())
        losses.append(float(loss))
        if bar is not None and (i % every == 0 or i == steps):
            bar.update(i, loss=float(np.mean(losses[-every:])))
    seconds = time.perf_counter() - start
    return {"losses": losses, "params": params, "alphabet": alphabet, "seconds": seconds,
            "sample": sample(model, params, alphabet, prompt, sample_length, key)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    result = train(steps=args.steps, seed=args.seed)
    losses = result["losses"]
    print(f"loss: {losses[0]:.4f} -> {np.mean(losses[-20:]):.4f}")
    print(f"sample: {result['sample']!r}")
    return result


if __name__ == "__main__":
    main()
