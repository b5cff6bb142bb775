"""Build a real CLIP BPE tokenizer (vocab.json + merges.txt) for the mini model's vocabulary.

Vocabulary = CLIP's 512 byte symbols (each byte, and each byte + '</w>') + merges learned
here by plain BPE on the caption words until every word is one token + the two special
tokens. The files load with ``transformers.CLIPTokenizer`` like any SD tokenizer.
"""
from __future__ import annotations

import json
import os

from darkroom.mini import world


def bytes_to_unicode() -> dict[int, str]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def learn_merges(words: list[str]) -> list[tuple[str, str]]:
    segs = {w: list(w[:-1]) + [w[-1] + "</w>"] for w in words}
    merges: list[tuple[str, str]] = []
    while True:
        counts: dict[tuple[str, str], int] = {}
        for s in segs.values():
            for a, b in zip(s, s[1:]):
                counts[(a, b)] = counts.get((a, b), 0) + 1
        if not counts:
            return merges
        pair = max(sorted(counts), key=lambda p: counts[p])
        merges.append(pair)
        for w, s in segs.items():
            out, i = [], 0
            while i < len(s):
                if i + 1 < len(s) and (s[i], s[i + 1]) == pair:
                    out.append(s[i] + s[i + 1])
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            segs[w] = out


def build(out_dir: str, words: list[str] | None = None) -> None:
    words = words or world.VOCAB_WORDS
    os.makedirs(out_dir, exist_ok=True)
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    merges = learn_merges(words)
    for a, b in merges:
        vocab.append(a + b)
    vocab.extend(["<|startoftext|>", "<|endoftext|>"])
    with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({t: i for i, t in enumerate(vocab)}, f, ensure_ascii=False)
    with open(os.path.join(out_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(f"{a} {b}\n")
    with open(os.path.join(out_dir, "special_tokens_map.json"), "w") as f:
        json.dump({"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
                   "pad_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}, f, indent=2)
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "CLIPTokenizer", "model_max_length": 77, "do_lower_case": True,
                   "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
                   "pad_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
                   "clean_up_tokenization_spaces": False, "errors": "replace"}, f, indent=2)
