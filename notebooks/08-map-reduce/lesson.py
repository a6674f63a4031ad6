"""Lesson 08: Map-reduce over a text corpus. Its exercises: each one's check, its hints (tiers, never the answer), and
whether it asks the cluster; the solutions are in ``solutions/``."""

from __future__ import annotations

from collections import Counter
from typing import Any

from raiden_lab.workshop.checks import Exercise, call
from raiden_lab.workshop.reference import (
    SAMPLE,
    corpus,
    words,
)

TITLE = "Map-reduce over a text corpus"
TEACHES = "map, combine, data pushed once against shipped with every task (predicted), shuffle by a stable hash (`hash()` differs per engine), reduce"
MINUTES = 25  # in class
RUN_TIME = "4 s"  # executed top to bottom on a laptop's local cluster
RUN_TIME_SEAT = "5 s"  # ... in a student's seat on the virtual Pi cluster (tests/test_workshop_seats.py)
NEEDS = "-"


def _pairs(text: str) -> Counter:
    w = words(text)
    return Counter(zip(w, w[1:], strict=False))


def check_mapper(answer: Any, _: Any) -> tuple[bool, str]:
    for text in (SAMPLE, "", "one", "a b a b"):
        got = call(answer, text)
        want = _pairs(text)
        if not isinstance(got, dict):
            return False, f"mapper({text!r}) returned {type(got).__name__}, not a Counter."
        if Counter(got) == want:
            continue
        if Counter(got) == Counter(words(text)) and text:
            return False, f"mapper({text!r}) counts single words; this mapper counts each word with the next."
        if any(not isinstance(k, tuple) for k in got):
            key = next(k for k in got if not isinstance(k, tuple))
            return False, f"mapper({text!r}) has the key {key!r}; each key should be a (word, next word) tuple."
        if any(w != w.lower() for k in got for w in k):
            return False, f"mapper({text!r}) keeps capitals: 'The' and 'the' should be one word."
        return False, f"mapper({text!r}) returned {dict(got)}."
    return True, "right: one Counter per document, computed wherever the document is."


def check_reducer(answer: Any, _: Any) -> tuple[bool, str]:
    parts = [Counter(a=2, b=1), Counter(b=3), Counter(), Counter(c=1, a=1)]
    got = call(answer, [Counter(p) for p in parts])
    if not isinstance(got, dict):
        return False, f"reducer returned {type(got).__name__}, not a Counter."
    if Counter(got) == Counter(a=2, b=2, c=1):
        got_empty = call(answer, [])
        if Counter(got_empty or {}) != Counter():
            return False, f"reducer([]) returned {got_empty!r}: no documents, no words."
        return True, "right: document frequency, what search engines weigh words by; it adds up in any order too."
    if Counter(got) == Counter(a=3, b=4, c=1):
        return False, "those are the total counts (what the lesson's reduce added up), not numbers of documents."
    return False, f"reducer of four small Counters returned {dict(got)}."


def check_patent(answer: Any, _: Any) -> tuple[bool, str]:
    counts = {name: _pairs(text)[("patent", "license")] for name, text in corpus().items()}
    best = max(counts, key=counts.get)
    if answer == best:
        return True, f"right: {best} says 'patent license' {counts[best]} times."
    if answer in counts:
        return False, f"{answer} says 'patent license' {counts[answer]} times; another licence says it more."
    return False, f"{answer!r} is not one of the corpus's documents ({', '.join(counts)})."


EXERCISES: dict[str, Exercise] = {
    "08.mapper": Exercise(
        check_mapper,
        (
            "the lesson's count_words finds the words; here each word is counted together with the one after it.",
            "a list and the same list shifted by one place, walked side by side, give each word and the next.",
        ),
    ),
    "08.reducer": Exercise(
        check_reducer,
        (
            "a key counts once for each document that has it, however often that document says it.",
            "a Counter counts whatever things it is given: which things, and how many times each per document?",
        ),
    ),
    "08.patent": Exercise(
        check_patent,
        "your reduced counts are per corpus; count per document instead (the mapper's output, one per document).",
    ),
}
