"""encode_prompt on tiny text encoders built here (random weights, fixed seeds) with the
real CLIP tokenizer: chunking, A1111 emphasis, BREAK, padding, clip skip, SDXL."""

import gc
import json
from pathlib import Path

import pytest
import torch
from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer
from transformers.convert_slow_tokenizer import bytes_to_unicode

from darkroom.errors import InvalidParameter
from darkroom.prompt.chunks import tokenize_prompt, tokenizer_spec
from darkroom.prompt.encode import PromptCache, encode_prompt, final_layer_norm

CLIP_DIR = Path(__file__).resolve().parent.parent / "darkroom" / "models" / "clip"
WORDS = "cat dog red blue sky sea sun moon tree rock fish bird".split()


def words(n, start=0):  # n distinct-enough words, one CLIP token each
    return " ".join(WORDS[(start + i) % len(WORDS)] for i in range(n))


def tiny_text_encoder(seed, hidden=32, layers=3, cls=CLIPTextModel, vocab=49408, context=77,
                      bos=49406, eos=49407):
    torch.manual_seed(seed)
    config = CLIPTextConfig(
        vocab_size=vocab, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
        num_attention_heads=4, max_position_embeddings=context, projection_dim=24,
        bos_token_id=bos, eos_token_id=eos, pad_token_id=eos,
    )
    model = cls(config).eval()
    # Default LayerNorms (weight 1, bias 0) make every token's mean exactly 0, which no
    # trained CLIP has; randomise them so A1111's mean restoration is measurable.
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "norm" in name:
                noise = 0.3 * torch.randn_like(param)
                param.copy_(1 + noise if name.endswith("weight") else noise)
    return model


@pytest.fixture(scope="module")
def tokenizer():
    return CLIPTokenizer.from_pretrained(str(CLIP_DIR), model_max_length=77)


@pytest.fixture(scope="module")
def sd(tokenizer):
    return StableDiffusionPipeline(
        vae=None, text_encoder=tiny_text_encoder(0), tokenizer=tokenizer, unet=None, scheduler=None,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )


@pytest.fixture(scope="module")
def sdxl(tokenizer):
    tokenizer_2 = CLIPTokenizer.from_pretrained(str(CLIP_DIR), model_max_length=77, pad_token="!")
    return StableDiffusionXLPipeline(
        vae=None, text_encoder=tiny_text_encoder(1),
        text_encoder_2=tiny_text_encoder(2, hidden=48, cls=CLIPTextModelWithProjection),
        tokenizer=tokenizer, tokenizer_2=tokenizer_2, unet=None, scheduler=None,
    )


def plain(pipe, ids, layer=None):
    """The text encoder on one 77-id chunk, nothing else."""
    with torch.no_grad():
        out = pipe.text_encoder(torch.tensor([ids]), output_hidden_states=True)
    if layer is None:
        return out.last_hidden_state
    return final_layer_norm(pipe.text_encoder)(out.hidden_states[layer])


def chunk_ids(pipe, prompt):
    spec = tokenizer_spec(pipe.tokenizer, pipe.text_encoder)
    return [c.input_ids(spec) for c in tokenize_prompt(pipe.tokenizer, prompt, spec).chunks]


def test_shapes_for_one_two_three_chunks(sd):
    for n_words, n_chunks in [(5, 1), (75, 1), (76, 2), (150, 2), (151, 3)]:
        out = encode_prompt(sd, words(n_words), "")
        assert set(out) == {"prompt_embeds", "negative_prompt_embeds"}
        assert out["prompt_embeds"].shape == (1, 77 * n_chunks, 32)
        assert out["negative_prompt_embeds"].shape == out["prompt_embeds"].shape


def test_unweighted_prompt_equals_plain_encoding_and_diffusers(sd, tokenizer):
    out = encode_prompt(sd, "a photo of a cat", "blurry")
    ids = tokenizer("a photo of a cat", padding="max_length", max_length=77).input_ids
    assert torch.equal(out["prompt_embeds"], plain(sd, ids))
    with torch.no_grad():
        ref, ref_negative = sd.encode_prompt("a photo of a cat", "cpu", 1, True, "blurry")
    assert torch.equal(out["prompt_embeds"], ref)
    assert torch.equal(out["negative_prompt_embeds"], ref_negative)
    # explicit weight 1.0 is the same as no weight
    assert torch.equal(encode_prompt(sd, "a photo of a (cat:1.0)")["prompt_embeds"], out["prompt_embeds"])


def test_each_chunk_equals_plain_encoding_of_that_chunk(sd):
    prompt = words(200)
    embeds = encode_prompt(sd, prompt)["prompt_embeds"]
    ids = chunk_ids(sd, prompt)
    assert len(ids) == 3  # 75 + 75 + 50: the 200-token prompt is not truncated
    for i, chunk in enumerate(ids):
        assert torch.equal(embeds[:, 77 * i : 77 * (i + 1)], plain(sd, chunk))


def test_emphasis_scales_the_word_and_rescales_the_chunk_to_its_mean(sd):
    base = encode_prompt(sd, "a photo of a cat on a mat")["prompt_embeds"]
    heavy = encode_prompt(sd, "a photo of a (cat:1.5) on a mat")["prompt_embeds"]
    cat = 5  # BOS, a, photo, of, a, cat
    ratio = heavy / base
    others = torch.cat([ratio[0, :cat], ratio[0, cat + 1 :]])
    c = others.mean()
    # every other token, padding included, is scaled by one common factor c ...
    assert torch.allclose(others, c.expand_as(others), rtol=1e-4)
    # ... the weighted token by 1.5 c ...
    assert torch.allclose(ratio[0, cat], 1.5 * c.expand(32), rtol=1e-4)
    # ... and c is exactly what restores the chunk's original mean (A1111 "Original")
    assert heavy.mean().item() == pytest.approx(base.mean().item(), rel=1e-5)
    weights = torch.ones(1, 77, 1)
    weights[0, cat] = 1.5
    assert c.item() == pytest.approx((base.mean() / (base * weights).mean()).item(), rel=1e-4)
    assert abs(c.item() - 1) > 1e-4  # measurable: the rest of the chunk moves too
    # a lower weight works the other way round
    light = encode_prompt(sd, "a photo of a [cat] on a mat")["prompt_embeds"]
    r = light / base
    assert torch.allclose(r[0, cat], r[0, 1] / 1.1, rtol=1e-4)


def test_emphasis_leaves_other_chunks_untouched(sd):
    first, second = words(70), words(10, start=5)
    base = encode_prompt(sd, f"{first} BREAK {second}")["prompt_embeds"]
    weighted = encode_prompt(sd, f"{first} BREAK ({second}:1.3)")["prompt_embeds"]
    assert torch.equal(base[:, :77], weighted[:, :77])
    assert not torch.allclose(base[:, 77:], weighted[:, 77:])


def test_break_starts_a_new_chunk(sd, tokenizer):
    out = encode_prompt(sd, "a cat BREAK a dog")["prompt_embeds"]
    assert out.shape == (1, 154, 32)
    for i, text in enumerate(["a cat", "a dog"]):
        ids = tokenizer(text, padding="max_length", max_length=77).input_ids
        assert torch.equal(out[:, 77 * i : 77 * (i + 1)], plain(sd, ids))


def test_negative_is_padded_to_the_prompts_chunks_and_back(sd, tokenizer):
    out = encode_prompt(sd, words(160), "blurry")
    assert out["negative_prompt_embeds"].shape == (1, 231, 32)
    empty = plain(sd, tokenizer("", padding="max_length", max_length=77).input_ids)
    blurry = plain(sd, tokenizer("blurry", padding="max_length", max_length=77).input_ids)
    negative = out["negative_prompt_embeds"]
    assert torch.equal(negative[:, :77], blurry)
    assert torch.equal(negative[:, 77:154], empty) and torch.equal(negative[:, 154:], empty)
    # a long negative pads the prompt the same way
    out = encode_prompt(sd, "a cat", words(100))
    assert out["prompt_embeds"].shape == out["negative_prompt_embeds"].shape == (1, 154, 32)
    assert torch.equal(out["prompt_embeds"][:, 77:], empty)


def test_clip_skip(sd):
    prompt = "a photo of a cat"
    ids = chunk_ids(sd, prompt)[0]
    skip1 = encode_prompt(sd, prompt, clip_skip=1)["prompt_embeds"]
    skip2 = encode_prompt(sd, prompt, clip_skip=2)["prompt_embeds"]
    skip3 = encode_prompt(sd, prompt, clip_skip=3)["prompt_embeds"]
    assert not torch.allclose(skip1, skip2) and not torch.allclose(skip2, skip3)
    # A1111 "Clip skip: 2" = penultimate layer through the final layer norm
    assert torch.equal(skip2, plain(sd, ids, layer=-2))
    assert torch.equal(skip3, plain(sd, ids, layer=-3))
    # diffusers' clip_skip=1 means the same; on transformers >= 5.6 it raises AttributeError
    # (no .text_model), which darkroom's path does not depend on.
    try:
        with torch.no_grad():
            ref, _ = sd.encode_prompt(prompt, "cpu", 1, False, clip_skip=1)
    except AttributeError:
        assert not hasattr(sd.text_encoder, "text_model")
    else:
        assert torch.allclose(skip2, ref)


@pytest.mark.parametrize("bad", [0, -1, 4, 2.0, "2", True])
def test_clip_skip_out_of_range_is_a_clear_error(sd, bad):
    with pytest.raises(InvalidParameter, match="clip skip"):
        encode_prompt(sd, "a cat", clip_skip=bad)


def test_batch_of_prompts(sd):
    out = encode_prompt(sd, ["a cat", words(80)], "blurry")
    assert out["prompt_embeds"].shape == (2, 154, 32) == out["negative_prompt_embeds"].shape
    single = encode_prompt(sd, "a cat", "blurry")["prompt_embeds"]
    assert torch.equal(out["prompt_embeds"][:1, :77], single)
    assert torch.equal(out["negative_prompt_embeds"][0], out["negative_prompt_embeds"][1])
    with pytest.raises(InvalidParameter):
        encode_prompt(sd, ["a", "b"], ["x", "y", "z"])
    with pytest.raises(InvalidParameter):
        encode_prompt(sd, None)


def test_sdxl_matches_diffusers_and_has_pooled(sdxl):
    out = encode_prompt(sdxl, "a photo of a cat", "blurry")
    assert out["prompt_embeds"].shape == (1, 77, 32 + 48)
    assert out["pooled_prompt_embeds"].shape == out["negative_pooled_prompt_embeds"].shape == (1, 24)
    with torch.no_grad():
        ref, ref_negative, ref_pooled, ref_negative_pooled = sdxl.encode_prompt(
            "a photo of a cat", device="cpu", num_images_per_prompt=1, do_classifier_free_guidance=True,
            negative_prompt="blurry",
        )
    assert torch.equal(out["prompt_embeds"], ref)
    assert torch.equal(out["negative_prompt_embeds"], ref_negative)
    assert torch.equal(out["pooled_prompt_embeds"], ref_pooled)
    assert torch.equal(out["negative_pooled_prompt_embeds"], ref_negative_pooled)


def test_sdxl_long_prompt_weights_and_pooled_from_first_chunk(sdxl):
    prompt = words(100)
    out = encode_prompt(sdxl, prompt, "")
    assert out["prompt_embeds"].shape == (1, 154, 80)
    first_chunk_only = encode_prompt(sdxl, words(75), "")
    assert torch.equal(out["pooled_prompt_embeds"], first_chunk_only["pooled_prompt_embeds"])
    assert torch.equal(out["prompt_embeds"][:, :77], first_chunk_only["prompt_embeds"])
    # an empty negative is encoded (A1111), not zeroed
    assert out["negative_pooled_prompt_embeds"].abs().sum() > 0
    # each encoder's half is rescaled to its own mean; pooled ignores weights
    base = encode_prompt(sdxl, "a photo of a cat")
    heavy = encode_prompt(sdxl, "a photo of a (cat:1.4)")
    for half in (slice(0, 32), slice(32, 80)):
        b, h = base["prompt_embeds"][..., half], heavy["prompt_embeds"][..., half]
        assert h.mean().item() == pytest.approx(b.mean().item(), rel=1e-5)
        assert torch.allclose((h / b)[0, 5], 1.4 * (h / b)[0, 1], rtol=1e-4)
    assert torch.equal(base["pooled_prompt_embeds"], heavy["pooled_prompt_embeds"])
    # clip skip is ignored for SDXL, as in A1111
    skipped = encode_prompt(sdxl, "a cat", clip_skip=2)["prompt_embeds"]
    assert torch.equal(skipped, encode_prompt(sdxl, "a cat")["prompt_embeds"])


def test_mini_sized_model_takes_sizes_from_its_tokenizer(tmp_path):
    symbols = list(bytes_to_unicode().values())
    merges = [("c", "a"), ("ca", "t</w>")]
    vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    (tmp_path / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (tmp_path / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")
    small = CLIPTokenizer.from_pretrained(str(tmp_path))  # says nothing about its context
    encoder = tiny_text_encoder(3, hidden=16, layers=2, vocab=len(vocab), context=16, bos=515, eos=516)
    pipe = StableDiffusionPipeline(
        vae=None, text_encoder=encoder, tokenizer=small, unet=None, scheduler=None,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    out = encode_prompt(pipe, " ".join(["cat"] * 20), "dog", clip_skip=2)  # 20 tokens -> 14 + 6
    assert out["prompt_embeds"].shape == out["negative_prompt_embeds"].shape == (1, 32, 16)


def test_prompt_cache_reuses_identical_encodings(sd):
    cache = PromptCache(maxsize=2)
    first = cache.encode(sd, "a cat", "blurry", clip_skip=2)
    again = cache.encode(sd, "a cat", "blurry", clip_skip=2)
    assert (cache.hits, cache.misses) == (1, 1)
    assert again["prompt_embeds"] is first["prompt_embeds"]
    assert torch.equal(first["prompt_embeds"], encode_prompt(sd, "a cat", "blurry", clip_skip=2)["prompt_embeds"])
    cache.encode(sd, "a cat", "blurry", clip_skip=1)  # another clip skip is another entry
    cache.encode(sd, "a dog", "blurry", clip_skip=2)
    assert (cache.hits, cache.misses, len(cache)) == (1, 3, 2)  # LRU kept the newest two
    cache.clear()
    assert len(cache) == 0


def test_prompt_cache_forgets_a_model_that_is_gone(tokenizer):
    cache = PromptCache()
    pipe = StableDiffusionPipeline(
        vae=None, text_encoder=tiny_text_encoder(4, layers=1), tokenizer=tokenizer, unet=None, scheduler=None,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    cache.encode(pipe, "a cat")
    assert len(cache) == 1
    del pipe
    gc.collect()
    assert len(cache) == 0


def test_half_precision_encoder(tokenizer):
    encoder = tiny_text_encoder(5, layers=2).to(torch.bfloat16)
    pipe = StableDiffusionPipeline(
        vae=None, text_encoder=encoder, tokenizer=tokenizer, unet=None, scheduler=None,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    out = encode_prompt(pipe, "a (cat:1.2)", "")
    assert out["prompt_embeds"].dtype == torch.bfloat16
    assert torch.isfinite(out["prompt_embeds"].float()).all()
