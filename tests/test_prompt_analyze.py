"""`analyze` and `darkroom prompt analyze`: tokens, chunk boundaries, weights, warnings."""

import argparse
import json
import shutil
from pathlib import Path

import pytest
from transformers import CLIPTokenizer

from darkroom.cli import prompt as prompt_cli
from darkroom.errors import UnknownModel
from darkroom.prompt.analyze import analyze, format_analysis

CLIP_DIR = Path(__file__).resolve().parent.parent / "darkroom" / "models" / "clip"
WORDS = "cat dog red blue sky sea sun moon tree rock fish bird".split()


@pytest.fixture(scope="module")
def tokenizer():
    return CLIPTokenizer.from_pretrained(str(CLIP_DIR), local_files_only=True)


def test_tokens_with_ids_and_effective_weights(tokenizer):
    a = analyze(tokenizer, "a ((red)) fox, [snow] (sky:1.3)")
    assert [t.text for t in a.tokens] == ["a", "red", "fox", ",", "snow", "sky"]
    assert [t.id for t in a.tokens] == [320, 736, 3240, 267, 2583, 2390]
    assert [round(t.weight, 4) for t in a.tokens] == [1.0, 1.21, 1.0, 1.0, 0.9091, 1.3]
    assert [t.position for t in a.tokens] == [1, 2, 3, 4, 5, 6]
    assert a.token_count == 6 and (a.chunk_length, a.context_length) == (75, 77)
    assert a.warnings == []


def test_chunk_boundaries(tokenizer):
    prompt = " ".join(WORDS[i % 12] for i in range(80)) + " BREAK moon"
    a = analyze(tokenizer, prompt)
    assert [(c.first, c.count, c.end) for c in a.chunks] == [(0, 75, "full"), (75, 5, "BREAK"), (80, 1, "end")]
    assert a.token_count == 81
    assert [t.chunk for t in a.tokens[74:77]] == [0, 1, 1] and a.tokens[75].position == 1


def test_word_pieces_and_emoji_are_readable(tokenizer):
    a = analyze(tokenizer, "unclosed 🌌")
    assert [t.text for t in a.tokens] == ["un-", "closed", "🌌"]


@pytest.mark.parametrize(
    "prompt, fragment",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("(:1.2) BREAK", "no tokens"),
        ("a (cat", "never closed"),
        ("a cat) b", "unmatched ')'"),
        ("a cat:1.2) b", "no opening '('"),
        ("a \\cat", "backslash"),
        ("(a BREAK b)", "BREAK inside brackets"),
        ("a (\x07) b", "produces no tokens and is dropped"),
        ("a <|endoftext|> b", "end token"),
        ("a (cat:0)", "weight 0"),
        ("a (cat:-1)", "weight -1"),
        ("[cat:dog:0.5]", "not supported"),
    ],
)
def test_warnings(tokenizer, prompt, fragment):
    warnings = analyze(tokenizer, prompt).warnings
    assert any(fragment in w for w in warnings), warnings


def test_warnings_give_the_character_position(tokenizer):
    assert analyze(tokenizer, "a (cat").warnings == [
        "at character 3: '(' is never closed: everything after it is weighted x1.1."
    ]


def test_table(tokenizer):
    text = format_analysis(analyze(tokenizer, "a (red:1.3) fox BREAK [snow"))
    lines = text.splitlines()
    assert lines[0].startswith("4 tokens in 2 chunks of 75")
    assert "chunk 1: 3/75 tokens, ends at BREAK" in lines
    assert "chunk 2: 1/75 tokens, ends at end of prompt" in lines
    row = next(line for line in lines if " red " in line)
    assert row.split() == ["2", "736", "red", "1.300", "↑"]
    assert any(line.split()[-2:] == ["0.909", "↓"] for line in lines)
    assert "warnings:" in lines


def run_cli(argv):
    parser = argparse.ArgumentParser(prog="darkroom")
    prompt_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.run(args)


def test_cli_prints_the_table(capsys):
    assert run_cli(["prompt", "analyze", "a (red:1.3) fox"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("3 tokens in 1 chunk of 75") and "1.300" in out


def test_cli_json(capsys):
    assert run_cli(["prompt", "analyze", "--json", "a [fox"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["token_count"] == 2 and len(data["chunks"]) == 1
    assert data["tokens"][1]["text"] == "fox" and data["tokens"][1]["weight"] == pytest.approx(1 / 1.1)
    assert "never closed" in data["warnings"][0]


def test_cli_model_folder(tmp_path, capsys):
    folder = tmp_path / "model" / "tokenizer"
    folder.mkdir(parents=True)
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(CLIP_DIR / name, folder / name)
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "CLIPTokenizer", "model_max_length": 77, "pad_token": "!"})
    )
    assert run_cli(["prompt", "analyze", "--model", str(tmp_path / "model"), "a fox"]) == 0
    assert "2 tokens in 1 chunk of 75" in capsys.readouterr().out


def test_cli_unknown_model_is_a_clear_error():
    with pytest.raises(UnknownModel, match="unknown model 'no-such-model'"):
        run_cli(["prompt", "analyze", "--model", "no-such-model", "a fox"])


def test_bundled_family_configs_give_their_tokenizer():
    configs = Path(prompt_cli.__file__).resolve().parent.parent / "models" / "configs"
    for family, pad in [("sd1", 49407), ("sd2", 0), ("sdxl", 49407)]:
        tokenizer, spec = prompt_cli.load_tokenizer(str(configs / family))
        assert (spec.context_length, spec.pad_id) == (77, pad)
        assert analyze(tokenizer, "a fox", spec=spec).token_count == 2
