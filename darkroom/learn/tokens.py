"""Lesson 5, tokens: how a prompt is cut into tokens, the 75-token chunks and BREAK, and what a weight
`(word:1.4)` does to the picture (a grid over weights)."""

from __future__ import annotations

WEIGHTS = (0.0, 0.5, 1.0, 1.4, 2.0, 3.0)


def run(lab) -> None:
    prompt = lab.options.get("prompt") or ("a large red circle in the center, blue background" if lab.mini
                                           else "a portrait of an old fisherman, (weathered face:1.3), harbour")
    analysis = lab.studio.analyze_prompt(prompt)
    lab.table(lab.figure("tokens", "table"), [["#", "token", "id", "weight", "chunk"]] + [
        [str(i + 1), t.text, str(t.id), f"{t.weight:g}", str(t.chunk + 1)] for i, t in enumerate(analysis.tokens)])
    long = ", ".join([prompt] * 8) + " BREAK " + prompt
    cut = lab.studio.analyze_prompt(long)
    lab.table(lab.figure("chunks", "table", count=cut.token_count), [["chunk", "tokens", "ends with"]] + [
        [str(c.index + 1), str(c.count), lab.term(c.end)] for c in cut.chunks])
    lab.numbers.update({"tokens": analysis.token_count, "long prompt tokens": cut.token_count,
                        "long prompt chunks": len(cut.chunks), "warnings": analysis.warnings + cut.warnings})
    word = lab.options.get("word") or ("red" if lab.mini else "weathered face")
    weights = lab.pick(WEIGHTS, (0.5, 1.4))
    grid = lab.figure("weights", "pictures", columns=len(weights), word=word)
    items = []
    for weight in weights:
        weighted = (prompt.replace(word, f"({word}:{weight:g})", 1) if word in prompt
                    else f"({word}:{weight:g}), {prompt}")
        items.append((f"({word}:{weight:g})", None, {"prompt": weighted, "seed": int(lab.options.get("seed", 11)),
                                                   "steps": lab.pick(16, 3), "cfg": 5.0, "sampler": "DPM++ 2M"}))
    for weight, shot in zip(weights, lab.generate_all(grid, items)):
        if shot.reading is not None:
            lab.numbers[f"colour read at weight {weight:g}"] = shot.reading["color"]
