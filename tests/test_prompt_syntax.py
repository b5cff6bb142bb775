"""The A1111 attention parser: A1111's documented examples, then the edge cases."""

import pytest

from darkroom.prompt.syntax import BREAK, Fragment, as_a1111, parse, parse_prompt_attention


def a1111(text):
    return as_a1111(parse_prompt_attention(text))


# The doctest examples of parse_prompt_attention in AUTOMATIC1111's modules/prompt_parser.py,
# with the exact floats A1111 prints.
@pytest.mark.parametrize(
    "text, expected",
    [
        ("normal text", [["normal text", 1.0]]),
        ("an (important) word", [["an ", 1.0], ["important", 1.1], [" word", 1.0]]),
        ("(unbalanced", [["unbalanced", 1.1]]),
        ("\\(literal\\]", [["(literal]", 1.0]]),
        ("(unnecessary)(parens)", [["unnecessaryparens", 1.1]]),
        (
            "a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).",
            [
                ["a ", 1.0],
                ["house", 1.5730000000000004],
                [" ", 1.1],
                ["on", 1.0],
                [" a ", 1.1],
                ["hill", 0.55],
                [", sun, ", 1.1],
                ["sky", 1.4641000000000006],
                [".", 1.1],
            ],
        ),
    ],
)
def test_a1111_documented_examples(text, expected):
    assert a1111(text) == expected


def test_fragments_are_plain_tuples():
    parts = parse_prompt_attention("a (cat:1.3)")
    assert parts == [("a ", 1.0), ("cat", 1.3)]
    assert isinstance(parts[1], Fragment) and parts[1].text == "cat" and parts[1].weight == 1.3


@pytest.mark.parametrize(
    "text, expected",
    [
        ("(a)", [["a", 1.1]]),
        ("((a))", [["a", 1.1 * 1.1]]),
        ("(((a)))", [["a", 1.1 * 1.1 * 1.1]]),
        ("[a]", [["a", 1 / 1.1]]),
        ("[[a]]", [["a", (1 / 1.1) * (1 / 1.1)]]),
        ("(a:1.3)", [["a", 1.3]]),
        ("(a: 1.3 )", [["a", 1.3]]),  # A1111 >= 1.6 accepts spaces around the number
        ("(a:0.5)", [["a", 0.5]]),
        ("(a:-1)", [["a", -1.0]]),
        ("(a:.5)", [["a", 0.5]]),
        ("((a:1.5))", [["a", 1.5 * 1.1]]),
        ("((a):1.5)", [["a", 1.1 * 1.5]]),
        ("[(a:1.5)]", [["a", 1.5 * (1 / 1.1)]]),
        ("(a [b] c)", [["a ", 1.1], ["b", 1.1 / 1.1], [" c", 1.1]]),
        ("(a, (b:1.2), c:0.8)", [["a, ", 0.8], ["b", 1.2 * 0.8], [", c", 0.8]]),
    ],
)
def test_weights_and_nesting(text, expected):
    got = a1111(text)
    assert [t for t, _ in got] == [t for t, _ in expected]
    assert [w for _, w in got] == pytest.approx([w for _, w in expected], rel=1e-12)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("\\(a\\)", [["(a)", 1.0]]),
        ("\\[a\\]", [["[a]", 1.0]]),
        ("a \\\\ b", [["a \\ b", 1.0]]),
        ("(\\(a\\))", [["(a)", 1.1]]),
        ("time 12\\:30", [["time 12:30", 1.0]]),
        ("(ratio\\:1.5)", [["ratio:1.5", 1.1]]),  # \: keeps the colon from being a weight
        ("a\\b", [["ab", 1.0]]),  # a lone backslash is dropped (A1111)
        ("a:b", [["a:b", 1.0]]),
    ],
)
def test_escapes(text, expected):
    assert a1111(text) == expected


def test_unbalanced_brackets_are_tolerated_like_a1111():
    # an unclosed bracket weights everything after it
    assert a1111("a (b c") == [["a ", 1.0], ["b c", 1.1]]
    assert a1111("a [b c") == [["a ", 1.0], ["b c", 1 / 1.1]]
    # unmatched closers and a weight without "(" are literal text
    assert a1111("a) b] c") == [["a) b] c", 1.0]]
    assert a1111("a:1.2) b") == [["a:1.2) b", 1.0]]
    # an unclosed "(" and "[" both apply, rounds first
    got = a1111("(a [b")
    assert got == [["a ", 1.1], ["b", 1.1 * (1 / 1.1)]]
    # the weight closes the innermost "(" even across a "["
    got = a1111("(a [b:1.5)")
    assert got[0] == ["a ", 1.5] and got[1][0] == "b" and got[1][1] == pytest.approx(1.5 / 1.1)


def test_tolerated_mistakes_are_noted_with_positions():
    notes = parse("a (b c").notes
    assert [n.position for n in notes] == [2] and "never closed" in notes[0].message
    assert "unmatched ')'" in parse("a) b").notes[0].message
    assert "no opening '('" in parse("a:1.2) b").notes[0].message
    assert "backslash" in parse("a\\b").notes[0].message
    assert parse("a (b:1.2) [c] \\(d\\)").notes == []


def test_malformed_weight_keeps_the_colon_as_text():
    # A1111 crashes on float("1.2.3"); darkroom keeps the text and still closes the bracket
    parsed = parse("(a:1.2.3)")
    assert as_a1111(parsed.parts) == [["a:1.2.3", 1.1]]
    assert "not a number" in parsed.notes[0].message


def test_break():
    assert parse_prompt_attention("a BREAK b") == [("a", 1.0), BREAK, ("b", 1.0)]
    assert a1111("a BREAK b") == [["a", 1.0], ["BREAK", -1], ["b", 1.0]]
    assert parse_prompt_attention("a\nBREAK\nb") == [("a", 1.0), BREAK, ("b", 1.0)]
    # only the upper-case word on its own
    assert parse_prompt_attention("a break b") == [("a break b", 1.0)]
    assert parse_prompt_attention("aBREAKb") == [("aBREAKb", 1.0)]
    assert parse_prompt_attention("BREAKING news") == [("BREAKING news", 1.0)]
    # a leading BREAK leaves an empty first chunk; two BREAKs are two breaks
    assert parse_prompt_attention("BREAK a") == [("", 1.0), BREAK, ("a", 1.0)]
    assert parse_prompt_attention("a BREAK BREAK b") == [("a", 1.0), BREAK, ("", 1.0), BREAK, ("b", 1.0)]


def test_break_inside_brackets_is_still_a_break_and_noted():
    parsed = parse("(a BREAK b)")
    assert parsed.parts == [("a", 1.1), BREAK, ("b", 1.1)]
    assert "BREAK inside brackets" in parsed.notes[0].message


def test_equal_weights_merge_but_not_across_break():
    assert a1111("(a)(b)") == [["ab", 1.1]]
    assert a1111("(a) BREAK (b)") == [["a", 1.1], ["", 1.0], ["BREAK", -1], ["", 1.0], ["b", 1.1]]


def test_empty_and_syntax_only_prompts():
    assert a1111("") == [["", 1.0]]
    assert a1111("()") == [["", 1.0]]
    assert a1111("(:1.5)") == [["", 1.0]]


def test_scheduling_syntax_is_literal_and_noted():
    parsed = parse("a [cat:dog:0.5]")
    assert as_a1111(parsed.parts) == [["a ", 1.0], ["cat:dog:0.5", 1 / 1.1]]
    assert len(parsed.notes) == 1 and "not supported" in parsed.notes[0].message


def test_never_raises_on_bracket_soup():
    import itertools

    alphabet = "a(:)[]\\1.B"
    for length in range(1, 5):
        for combo in itertools.product(alphabet, repeat=length):
            text = "".join(combo)
            parts = parse_prompt_attention(text)
            assert parts and all(p is BREAK or isinstance(p.weight, float) for p in parts)
