"""Encode a prompt and its negative the way A1111 does, for any diffusers SD pipeline.

    kwargs = encode_prompt(pipe, "a (red:1.3) fox, BREAK snow", "blurry", clip_skip=2)
    image = pipe(**kwargs, num_inference_steps=20, guidance_scale=7).images[0]

1. Parse the A1111 syntax (syntax.py) and cut the tokens into chunks (chunks.py).
2. Pad prompt and negative to the same number of chunks with empty chunks
   ([BOS][EOS][PAD]...), as A1111 does when it pads cond/uncond.
3. Encode every chunk on its own (batch of one, so a chunk's embedding never depends
   on what it is batched with) and concatenate along the sequence axis:
   (1, chunks * context, channels). Nothing is truncated.
4. Weights, A1111's "Original" emphasis, per chunk and per encoder: multiply each
   token's hidden state by its weight, then rescale the chunk so its mean equals the
   unweighted mean. (Consequence, measured in the tests: a weight moves the weighted
   tokens *and* rescales every other token of that chunk by one common factor;
   other chunks are untouched.) The mean is taken per prompt, not over a batch, so
   each image of a batch is encoded as if it were generated alone.

Which hidden states (A1111 "Clip skip"; 1 = off):
- one text encoder (SD1, SD2, mini): clip_skip 1 is the last layer after the final
  layer norm; clip_skip N takes the N-th layer from the end and applies the final
  layer norm. (diffusers' own `clip_skip=N-1` means the same but, on transformers
  >= 5.6, fails on the removed `text_model` attribute; this module does not need it.)
  Note: A1111 ignores clip skip for SD 2.x (its OpenCLIP path never reads it);
  darkroom applies it, so pass 1 for SD 2.x to reproduce A1111 images exactly.
- SDXL (tokenizer/text_encoder + tokenizer_2/text_encoder_2): the penultimate layer of
  both, without final layer norm, concatenated on the channel axis; the pooled
  embedding is text_encoder_2's projection of the first chunk. Clip skip is ignored,
  as A1111 ignores it for SDXL by default. An empty negative prompt is encoded as ""
  (A1111), not zeroed (diffusers' force_zeros_for_empty_prompt).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import torch

from darkroom.errors import InvalidParameter, ModelError
from darkroom.prompt.chunks import Chunk, TokenizedPrompt, TokenizerSpec, tokenize_prompt, tokenizer_spec
from darkroom.prompt.syntax import parse


@dataclass
class _Encoder:
    tokenizer: object
    model: torch.nn.Module
    spec: TokenizerSpec
    layer: int | None  # None: last_hidden_state; else an index into hidden_states
    final_norm: bool  # apply the final layer norm to hidden_states[layer]
    pooled: bool  # this encoder provides SDXL's pooled embedding


def final_layer_norm(text_encoder: torch.nn.Module) -> torch.nn.Module:
    """The final LayerNorm of a CLIP text encoder, on transformers 4.x (under
    `.text_model`) and 5.x (CLIPTextModel holds it directly)."""
    module = text_encoder
    for _ in range(3):
        norm = getattr(module, "final_layer_norm", None)
        if isinstance(norm, torch.nn.Module):
            return norm
        module = getattr(module, "text_model", None)
        if module is None:
            break
    raise ModelError(f"{type(text_encoder).__name__} has no final_layer_norm; clip skip needs a CLIP text encoder.")


def _num_layers(model: torch.nn.Module) -> int:
    return int(model.config.num_hidden_layers)


def _encoders(pipe, clip_skip: int) -> list[_Encoder]:
    pairs = [
        (getattr(pipe, "tokenizer", None), getattr(pipe, "text_encoder", None)),
        (getattr(pipe, "tokenizer_2", None), getattr(pipe, "text_encoder_2", None)),
    ]
    sdxl = pairs[1][1] is not None
    found = [(t, m) for t, m in pairs if t is not None and m is not None]
    if not found:
        raise ModelError(f"{type(pipe).__name__} has no tokenizer and text encoder to encode a prompt with.")
    if not isinstance(clip_skip, int) or isinstance(clip_skip, bool) or clip_skip < 1:
        raise InvalidParameter(f"clip skip must be a whole number >= 1 (1 = off), not {clip_skip!r}.")
    encoders = []
    for tokenizer, model in found:
        if sdxl:
            layer, norm = -2, False
        else:
            if clip_skip > _num_layers(model):
                raise InvalidParameter(
                    f"clip skip {clip_skip} is more than this text encoder's {_num_layers(model)} layers; "
                    "use 1 (off) or 2 (the usual choice for anime models)."
                )
            layer, norm = (None, False) if clip_skip == 1 else (-clip_skip, True)
        encoders.append(
            _Encoder(
                tokenizer=tokenizer,
                model=model,
                spec=tokenizer_spec(tokenizer, model),
                layer=layer,
                final_norm=norm,
                pooled=sdxl and model is pairs[1][1],
            )
        )
    if len({e.spec.context_length for e in encoders}) > 1:
        raise ModelError("the text encoders of this pipeline have different context lengths; cannot concatenate them.")
    return encoders


def apply_emphasis(z: torch.Tensor, weights: list[float]) -> torch.Tensor:
    """A1111's "Original" emphasis on one chunk: z * w, rescaled to z's original mean.
    Computed in float32 (a bf16/fp16 mean is too coarse), returned in z's dtype."""
    if all(w == 1.0 for w in weights):
        return z
    w = torch.tensor(weights, dtype=torch.float32, device=z.device).reshape(1, -1, 1)
    z32 = z.float()
    original_mean = z32.mean()
    z32 = z32 * w
    z32 = z32 * (original_mean / z32.mean())
    return z32.to(z.dtype)


def _run(encoder: _Encoder, ids: list[int], device) -> tuple[torch.Tensor, torch.Tensor | None]:
    input_ids = torch.tensor([ids], dtype=torch.long, device=device)
    out = encoder.model(input_ids, output_hidden_states=encoder.layer is not None)
    if encoder.layer is None:
        z = out.last_hidden_state
    else:
        z = out.hidden_states[encoder.layer]
        if encoder.final_norm:
            z = final_layer_norm(encoder.model)(z)
    pooled = None
    if encoder.pooled:
        pooled = getattr(out, "text_embeds", None)
        if pooled is None:
            pooled = out.pooler_output
    return z, pooled


def _as_list(value, name: str) -> list[str]:
    items = [value] if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else None
    if items is None or not all(isinstance(v, str) for v in items):
        raise InvalidParameter(f"{name} must be text (or a list of texts), not {type(value).__name__}.")
    return items


def _default_device(pipe, encoders: list[_Encoder]) -> torch.device:
    device = getattr(pipe, "_execution_device", None)
    if device is None:
        device = next(encoders[0].model.parameters()).device
    return torch.device(device)


def with_embeddings(pipe, text: str) -> str:
    """A textual-inversion trigger word of several vectors stands for all its tokens (`name name_1
    ...`), as diffusers' `maybe_convert_prompt` writes it; other text is unchanged."""
    convert = getattr(pipe, "maybe_convert_prompt", None)
    tokenizer = getattr(pipe, "tokenizer", None)
    if convert is None or tokenizer is None or not any(t.endswith("_1") for t in tokenizer.get_added_vocab()):
        return text
    return convert(text, tokenizer)


def encode_prompt(
    pipe,
    prompt: str | list[str],
    negative_prompt: str | list[str] | None = "",
    *,
    clip_skip: int = 1,
    device: str | torch.device | None = None,
) -> dict[str, torch.Tensor]:
    """Keyword arguments for a diffusers SD/SDXL pipeline call (`pipe(**kwargs, ...)`):
    `prompt_embeds` and `negative_prompt_embeds` of shape (batch, chunks * context,
    channels), and for SDXL also `pooled_prompt_embeds` and
    `negative_pooled_prompt_embeds` of shape (batch, projection). `clip_skip` follows
    A1111 (1 = last layer). A list of prompts gives a batch; a single negative is used
    for all of them."""
    prompts = _as_list(prompt, "the prompt")
    negatives = _as_list("" if negative_prompt is None else negative_prompt, "the negative prompt")
    if len(negatives) == 1 and len(prompts) > 1:
        negatives = negatives * len(prompts)
    if len(negatives) != len(prompts):
        raise InvalidParameter(f"{len(prompts)} prompts but {len(negatives)} negative prompts; give one or as many.")

    encoders = _encoders(pipe, clip_skip)
    device = torch.device(device) if device is not None else _default_device(pipe, encoders)

    texts = prompts + negatives
    parsed = {t: parse(with_embeddings(pipe, t)) for t in texts}
    tokenized: list[list[TokenizedPrompt]] = [
        [tokenize_prompt(e.tokenizer, parsed[t], e.spec) for e in encoders] for t in texts
    ]
    n_chunks = max(len(tp.chunks) for per_text in tokenized for tp in per_text)

    memo: dict[tuple[int, tuple[int, ...]], tuple[torch.Tensor, torch.Tensor | None]] = {}
    embeds, pooled = [], []
    with torch.no_grad():
        for per_text in tokenized:
            per_encoder, text_pooled = [], None
            for index, (encoder, tp) in enumerate(zip(encoders, per_text)):
                chunks = tp.chunks + [Chunk() for _ in range(n_chunks - len(tp.chunks))]
                zs = []
                for chunk_index, chunk in enumerate(chunks):
                    ids = chunk.input_ids(encoder.spec)
                    key = (index, tuple(ids))
                    if key not in memo:
                        memo[key] = _run(encoder, ids, device)
                    z, chunk_pooled = memo[key]
                    zs.append(apply_emphasis(z, chunk.weights(encoder.spec)))
                    if chunk_index == 0 and chunk_pooled is not None:
                        text_pooled = chunk_pooled
                per_encoder.append(torch.cat(zs, dim=1))
            embeds.append(torch.cat(per_encoder, dim=-1))
            pooled.append(text_pooled)

    n = len(prompts)
    result = {
        "prompt_embeds": torch.cat(embeds[:n]).to(device),
        "negative_prompt_embeds": torch.cat(embeds[n:]).to(device),
    }
    if pooled[0] is not None:
        result["pooled_prompt_embeds"] = torch.cat(pooled[:n]).to(device)
        result["negative_pooled_prompt_embeds"] = torch.cat(pooled[n:]).to(device)
    return result


class PromptCache:
    """Remembers `encode_prompt` results per loaded model, so the steps of a run (generate,
    hires fix, inpaint zones) encode an identical (prompt, negative, clip skip) once.

    Entries are keyed by the text encoder object (weakly: they vanish with the model)
    and the exact inputs; the least recently used beyond `maxsize` per model are dropped.
    Call `clear()` after changing a model's weights in place (e.g. fusing a LoRA)."""

    def __init__(self, maxsize: int = 32):
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._by_model: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def encode(
        self,
        pipe,
        prompt: str | list[str],
        negative_prompt: str | list[str] | None = "",
        *,
        clip_skip: int = 1,
        device: str | torch.device | None = None,
        adapters: tuple = (),
    ) -> dict[str, torch.Tensor]:
        """`adapters`: the LoRAs and embeddings in force (darkroom.models.networks.adapter_key); part of the key."""
        owner = getattr(pipe, "text_encoder", None) or getattr(pipe, "text_encoder_2", None)
        if owner is None:
            return encode_prompt(pipe, prompt, negative_prompt, clip_skip=clip_skip, device=device)
        components = tuple(
            id(getattr(pipe, name, None)) for name in ("tokenizer", "text_encoder", "tokenizer_2", "text_encoder_2")
        )
        key = (
            tuple(prompt) if isinstance(prompt, list) else prompt,
            tuple(negative_prompt) if isinstance(negative_prompt, list) else negative_prompt,
            clip_skip,
            str(device),
            components,
            adapters,
        )
        with self._lock:
            entries = self._by_model.setdefault(owner, OrderedDict())
            if key in entries:
                entries.move_to_end(key)
                self.hits += 1
                return dict(entries[key])
        result = encode_prompt(pipe, prompt, negative_prompt, clip_skip=clip_skip, device=device)
        with self._lock:
            self.misses += 1
            entries = self._by_model.setdefault(owner, OrderedDict())
            entries[key] = result
            while len(entries) > self.maxsize:
                entries.popitem(last=False)
        return dict(result)

    def clear(self) -> None:
        with self._lock:
            self._by_model = weakref.WeakKeyDictionary()

    def __len__(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._by_model.values())
