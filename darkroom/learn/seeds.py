"""Lesson 2, the seed is the guess: one prompt, eight seeds, eight layouts."""

from __future__ import annotations

from darkroom.learn import checks


def run(lab) -> None:
    prompt = lab.options.get("prompt") or ("a red circle" if lab.mini else "a cat sitting on a windowsill")
    seed, count = int(lab.options.get("seed", 1)), lab.pick(8, 2)
    row = lab.figure("row", "pictures", columns=8)
    halves = [(seed, (count + 1) // 2), (seed + (count + 1) // 2, count // 2)]  # two jobs, one per worker
    runs = [(lab.recipe({"op": "generate", "prompt": prompt, "seed": first, "steps": lab.pick(20, 4), "cfg": 5.0,
                         "sampler": "DPM++ 2M", "batch_size": size}), row) for first, size in halves if size]
    pictures = [p for made, _ in lab.run_all(runs, previews=True) for p in made]
    for picture in pictures:
        shot = lab.shot(picture, f"seed {picture.recipe.steps[0].seed}")
        if lab.mini:
            shot.reading = checks.reading(shot.image)
        lab.add(row, shot)
    if lab.mini:
        layouts = [(s.reading["background"], s.reading["position"], s.reading["size"]) for s in row.shots]
        table = lab.figure("readings", "table")
        lab.table(table, [["seed", "background", "colour", "position", "size", "shape"]] + [
            [s.label.split()[-1], *(str(s.reading[k]) for k in checks.ATTRIBUTES)] for s in row.shots])
        lab.numbers["different layouts (background, position, size)"] = f"{len(set(layouts))} of {count}"
