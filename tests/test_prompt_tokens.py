"""Token ids equal CLIP's own tokenizer; chunks are cut the way A1111 cuts them."""

import importlib.util
import json
from pathlib import Path

import pytest
from transformers import CLIPTokenizer
from transformers.convert_slow_tokenizer import bytes_to_unicode

from darkroom.prompt.chunks import tokenize_fragments, tokenize_prompt, tokenizer_spec

CLIP_DIR = Path(__file__).resolve().parent.parent / "darkroom" / "models" / "clip"


@pytest.fixture(scope="module")
def tokenizer():
    return CLIPTokenizer.from_pretrained(str(CLIP_DIR), local_files_only=True)


@pytest.fixture(scope="module")
def open_clip_tokenizer():
    # `import open_clip` needs torchvision; its tokenizer.py does not, so load that file alone.
    spec = importlib.util.find_spec("open_clip")
    assert spec is not None, "open_clip_torch is a test dependency"
    path = Path(spec.submodule_search_locations[0]) / "tokenizer.py"
    module_spec = importlib.util.spec_from_file_location("_open_clip_tokenizer", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.SimpleTokenizer()


LONG_PROMPT = (
    "masterpiece, best quality, ultra-detailed, 8k wallpaper, a lone lighthouse keeper standing on "
    "wet black rocks at dusk, enormous waves crashing, sea spray frozen in the air, dramatic rim "
    "light, volumetric fog, god rays through storm clouds, oil painting by a romantic-era master, "
    "thick impasto brush strokes, muted teal and amber palette, cinematic composition, rule of "
    "thirds, 35mm film grain, sharp focus on the lantern, bokeh in the background, trending on an "
    "art site, award-winning, highly intricate, hyper-realistic textures of weathered wool coat, "
    "seagulls circling overhead, distant ship with glowing portholes, moonrise over the horizon"
)

SENTENCES = [
    "a photo of a cat",
    "A Photo OF a CAT!!!",
    "masterpiece, best quality, (ultra-detailed:1.2), [blurry], 1girl, 2boys",
    "don't stop: it's 3.14159 - $100 & 50% #hashtag @user ~tilde~ a/b a_b a+b",
    "café naïve résumé Ünïcödé ßtraße Ελληνικά русский",
    "東京の夜景、ネオンサイン 한국어 中文提示词",
    "🐱🐶 emoji 🎨✨ 👩\u200d👩\u200d👧 🏳️\u200d🌈 ❤️",
    "tab\tnew\nline    many   spaces  ",
    "&amp; &lt;b&gt; html entities &quot;quoted&quot;",
    "Ｆｕｌｌｗｉｄｔｈ ｌｅｔｔｅｒｓ",
    "schön — “curly quotes” ‘single’ … ellipsis",
    "mojibake Ã© and ﬁne ligatures",
    "",
    LONG_PROMPT,
]


@pytest.mark.parametrize("text", SENTENCES, ids=range(len(SENTENCES)))
def test_token_ids_equal_open_clip(tokenizer, open_clip_tokenizer, text):
    assert tokenize_fragments(tokenizer, [text])[0] == open_clip_tokenizer.encode(text)


def test_long_prompt_is_longer_than_one_chunk(tokenizer):
    assert len(tokenize_fragments(tokenizer, [LONG_PROMPT])[0]) > 75


def test_cleaning_is_what_makes_unicode_agree(tokenizer, open_clip_tokenizer):
    # The HF fast tokenizer alone skips CLIP's ftfy/HTML clean-up; clean_text restores it.
    for text in ["schön — “curly quotes”", "Ｆｕｌｌｗｉｄｔｈ", "&amp;"]:
        raw = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert raw != open_clip_tokenizer.encode(text)
        assert tokenize_fragments(tokenizer, [text])[0] == open_clip_tokenizer.encode(text)


def test_spec_comes_from_the_tokenizer(tokenizer):
    spec = tokenizer_spec(tokenizer)  # no tokenizer_config.json: CLIP's context of 77
    assert (spec.bos_id, spec.eos_id, spec.pad_id) == (49406, 49407, 49407)
    assert spec.comma_id == tokenizer.convert_tokens_to_ids(",</w>")
    assert (spec.context_length, spec.chunk_length) == (77, 75)
    sd2 = CLIPTokenizer.from_pretrained(str(CLIP_DIR), pad_token="!", model_max_length=77)
    assert tokenizer_spec(sd2).pad_id == 0


def words(n, start=0):
    # "w0 w1 ..." is 2 tokens per word in CLIP; plain distinct words are 1 token each
    pool = "cat dog red blue sky sea sun moon tree rock fish bird".split()
    return " ".join(pool[(start + i) % len(pool)] for i in range(n))


def test_chunks_of_75_and_nothing_truncated(tokenizer):
    spec = tokenizer_spec(tokenizer)
    for n, sizes in [(1, [1]), (75, [75]), (76, [75, 1]), (150, [75, 75]), (200, [75, 75, 50])]:
        tp = tokenize_prompt(tokenizer, words(n), spec)
        assert [len(c.tokens) for c in tp.chunks] == sizes
        flat = [t.id for c in tp.chunks for t in c.tokens]
        assert flat == tokenize_fragments(tokenizer, [words(n)])[0]
        for chunk in tp.chunks:
            ids = chunk.input_ids(spec)
            assert len(ids) == 77 and ids[0] == 49406 and ids[len(chunk.tokens) + 1] == 49407


def test_padding_uses_the_pad_token_after_eos():
    sd2 = CLIPTokenizer.from_pretrained(str(CLIP_DIR), pad_token="!", model_max_length=77)
    spec = tokenizer_spec(sd2)
    ids = tokenize_prompt(sd2, "a cat", spec).chunks[0].input_ids(spec)
    assert ids[:4] == [49406, 320, 2368, 49407] and set(ids[4:]) == {0} and len(ids) == 77


def test_empty_prompt_is_one_empty_chunk(tokenizer):
    tp = tokenize_prompt(tokenizer, "")
    assert len(tp.chunks) == 1 and tp.chunks[0].tokens == [] and tp.token_count == 0


def test_break_pads_to_a_new_chunk(tokenizer):
    assert [len(c.tokens) for c in tokenize_prompt(tokenizer, "a cat BREAK a dog").chunks] == [2, 2]
    assert [c.end for c in tokenize_prompt(tokenizer, "a cat BREAK a dog").chunks] == ["BREAK", "end"]
    assert [len(c.tokens) for c in tokenize_prompt(tokenizer, "BREAK a dog").chunks] == [0, 2]
    assert [len(c.tokens) for c in tokenize_prompt(tokenizer, "a dog BREAK").chunks] == [2]
    assert [len(c.tokens) for c in tokenize_prompt(tokenizer, "a BREAK BREAK b").chunks] == [1, 0, 1]


def test_comma_backtrack_moves_the_last_phrase(tokenizer):
    # 70 words, a comma (token 71), then 10 words: the chunk is full at 75 with the comma
    # 5 tokens back, so the 4 words after the comma move to the next chunk (A1111: 20).
    prompt = words(70) + ", " + words(10, start=3)
    tp = tokenize_prompt(tokenizer, prompt)
    assert [len(c.tokens) for c in tp.chunks] == [71, 10]
    assert tp.chunks[0].tokens[-1].id == 267 and tp.chunks[0].end == "comma"
    # the same with the comma 25 tokens back: too far, the chunk is cut at 75
    prompt = words(50) + ", " + words(40, start=3)
    assert [len(c.tokens) for c in tokenize_prompt(tokenizer, prompt).chunks] == [75, 16]
    # and with backtracking switched off
    prompt = words(70) + ", " + words(10, start=3)
    assert [len(c.tokens) for c in tokenize_prompt(tokenizer, prompt, comma_backtrack=0).chunks] == [75, 6]


def test_weights_follow_the_tokens(tokenizer):
    tp = tokenize_prompt(tokenizer, "a (red:1.5) fox, [snow]")
    got = [(t.id, round(t.weight, 4)) for t in tp.chunks[0].tokens]
    assert got == [(320, 1.0), (736, 1.5), (3240, 1.0), (267, 1.0), (2583, 0.9091)]
    weights = tp.chunks[0].weights(tp.spec)
    assert len(weights) == 77 and weights[0] == weights[6] == weights[76] == 1.0 and weights[2] == 1.5


@pytest.fixture(scope="module")
def small_tokenizer(tmp_path_factory):
    """A tokenizer like the mini model's: its own small vocabulary and a 16-position context."""
    folder = tmp_path_factory.mktemp("mini-tokenizer")
    symbols = list(bytes_to_unicode().values())
    merges = [("c", "a"), ("ca", "t</w>"), ("d", "o"), ("do", "g</w>")]
    vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")
    return CLIPTokenizer.from_pretrained(str(folder), model_max_length=16)


def test_sizes_come_from_a_different_tokenizer(small_tokenizer):
    spec = tokenizer_spec(small_tokenizer)
    assert (spec.context_length, spec.chunk_length) == (16, 14)
    assert (spec.bos_id, spec.eos_id) == (516, 517)
    tp = tokenize_prompt(small_tokenizer, " ".join(["cat"] * 30), spec)
    assert [len(c.tokens) for c in tp.chunks] == [14, 14, 2]
    assert tp.chunks[2].input_ids(spec) == [516, 513, 513, 517] + [517] * 12
