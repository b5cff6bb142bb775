"""Rebuild vocab.json and merges.txt (the Hugging Face CLIPTokenizer files) from the
BPE merge list that OpenAI's CLIP and open_clip ship as bpe_simple_vocab_16e6.txt.gz.

    python -m darkroom.models.clip.build_vocab PATH/TO/bpe_simple_vocab_16e6.txt.gz
"""

import gzip
import json
import sys
from pathlib import Path

from transformers.convert_slow_tokenizer import bytes_to_unicode

HERE = Path(__file__).parent


def build(bpe_gz: Path, out_dir: Path = HERE) -> None:
    lines = gzip.open(bpe_gz).read().decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]
    symbols = list(bytes_to_unicode().values())
    vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    (out_dir / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}, ensure_ascii=False))
    (out_dir / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")


if __name__ == "__main__":
    build(Path(sys.argv[1]))
