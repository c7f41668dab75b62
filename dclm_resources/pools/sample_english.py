"""A small compositional English grammar that writes plausible web articles for the sample pool.

Why a grammar rather than canned text: the pool must hold thousands of distinct, readable pages without
committing any third-party text, and each page must be different enough that 13-gram near-dedup (BFF)
leaves the good pages alone. Every page draws a topic, a cast (a town, people, an organisation, a brand)
and a genre; sentences are templates whose slots are filled from per-page shuffled decks, so a page seldom
repeats a phrase and two pages seldom share a 13-gram.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable, Sequence

from dclm_resources.pools.sample_templates import (
    BLOG,
    ENDINGS,
    FEELS,
    GENERAL,
    LEADS,
    OPENERS,
    ORDINALS,
    QUESTIONS,
    QUOTES,
    REVIEW,
    SPEAKER_DESCS,
    STATS,
    STEP_REASONS,
    STEPS,
    TAILS,
    TIPS,
)
from dclm_resources.pools.sample_vocab import (
    BRAND_SYLLABLES,
    DURATIONS,
    FIRST_NAMES,
    LAST_NAMES,
    MONTHS,
    NUMBER_WORDS,
    PERIODS,
    SITE_WORDS,
    TLDS,
    TOPICS,
    TOWN_HEADS,
    TOWN_TAILS,
    WEEKDAYS,
    Topic,
)

# Verbs whose past tense or gerund the regular rules get wrong.
_IRREGULAR = {
    "sow": ("sowed", "sowing"), "make": ("made", "making"), "take": ("took", "taking"),
    "build": ("built", "building"), "run": ("ran", "running"), "set": ("set", "setting"),
    "get": ("got", "getting"), "put": ("put", "putting"), "cut": ("cut", "cutting"),
    "keep": ("kept", "keeping"), "buy": ("bought", "buying"), "find": ("found", "finding"),
    "write": ("wrote", "writing"), "read": ("read", "reading"), "bring": ("brought", "bringing"),
    "feed": ("fed", "feeding"), "hold": ("held", "holding"), "plan": ("planned", "planning"),
    "stop": ("stopped", "stopping"), "ride": ("rode", "riding"), "leave": ("left", "leaving"),
    "pay": ("paid", "paying"), "win": ("won", "winning"), "go": ("went", "going"), "give": ("gave", "giving"),
    "draw": ("drew", "drawing"), "shoot": ("shot", "shooting"), "split": ("split", "splitting"),
    "tell": ("told", "telling"), "sweep": ("swept", "sweeping"), "swim": ("swam", "swimming"),
    "sit": ("sat", "sitting"), "wear": ("wore", "wearing"), "fit": ("fitted", "fitting"),
    "net": ("netted", "netting"), "pin": ("pinned", "pinning"), "do": ("did", "doing"),
    "have": ("had", "having"), "see": ("saw", "seeing"), "begin": ("began", "beginning"),
    "grow": ("grew", "growing"), "sell": ("sold", "selling"), "bleed": ("bled", "bleeding"),
    "light": ("lit", "lighting"), "chop": ("chopped", "chopping"), "break": ("broke", "breaking"),
    "let": ("let", "letting"), "cancel": ("cancelled", "cancelling"), "travel": ("travelled", "travelling"),
    "drink": ("drank", "drinking"), "grind": ("ground", "grinding"), "label": ("labelled", "labelling"),
}
_IRREGULAR_PLURAL_ENDINGS = {"knife": "knives", "leaf": "leaves", "loaf": "loaves", "shelf": "shelves"}


def plural(noun: str) -> str:
    """Pluralise the head (last word) of a noun phrase; ``a/b`` entries carry their own plural."""
    if "/" in noun:
        return noun.split("/", 1)[1]
    head, _, last = noun.rpartition(" ")
    prefix = f"{head} " if head else ""
    for ending, replacement in _IRREGULAR_PLURAL_ENDINGS.items():
        if last.endswith(ending):
            return prefix + last[: -len(ending)] + replacement
    if last.endswith(("s", "x", "ch", "sh")):
        return f"{noun}es"
    if last.endswith("y") and last[-2:-1] not in "aeiou":
        return f"{noun[:-1]}ies"
    return f"{noun}s"


def singular(noun: str) -> str:
    return noun.split("/", 1)[0]


def conjugate(phrase: str, form: str) -> str:
    """Inflect the first word of a verb phrase: ``form`` is ``"past"`` or ``"ing"``."""
    verb, _, rest = phrase.partition(" ")
    if verb in _IRREGULAR:
        past, ing = _IRREGULAR[verb]
    else:
        if verb.endswith("e"):
            past = f"{verb}d"
        elif verb.endswith("y") and verb[-2:-1] not in "aeiou":
            past = f"{verb[:-1]}ied"
        else:
            past = f"{verb}ed"
        if verb.endswith("ie"):
            ing = f"{verb[:-2]}ying"
        elif verb.endswith("e") and not verb.endswith(("ee", "ye", "oe")):
            ing = f"{verb[:-1]}ing"
        else:
            ing = f"{verb}ing"
    word = past if form == "past" else ing
    return f"{word} {rest}".rstrip()


_A_BEFORE_VOWEL = re.compile(r"\b([Aa]) (?=[aeioAEIO]|u(?!s|ni)|hour|honest)(?!one\b|one-)")


def fix_articles(text: str) -> str:
    """Slots are filled independently, so "a" must become "an" after the fact."""
    return _A_BEFORE_VOWEL.sub(lambda m: m.group(1) + "n ", text)


def capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def town_name(rng: random.Random) -> str:
    return rng.choice(TOWN_HEADS) + rng.choice(TOWN_TAILS)


def person_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def slugify(text: str, max_words: int = 8) -> str:
    """ASCII URL slug; accents are folded so that non-English titles give readable paths too."""
    folded = unicodedata.normalize("NFKD", text.replace("ß", "ss")).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", folded.lower())
    return "-".join(words[:max_words]) or "page"


def site_url(rng: random.Random, section: str, title: str) -> str:
    """A plausible article URL on an invented site; the trailing id keeps every URL unique."""
    name = rng.choice((town_name(rng).lower(), section.replace(" ", ""), rng.choice(LAST_NAMES).lower()))
    domain = f"{name}{rng.choice(SITE_WORDS)}.{rng.choice(TLDS)}"
    host = f"www.{domain}" if rng.random() < 0.6 else domain
    date = f"{rng.randint(2014, 2023)}/{rng.randint(1, 12):02d}/" if rng.random() < 0.5 else ""
    return f"https://{host}/{section.replace(' ', '-')}/{date}{slugify(title)}-{rng.randrange(10**10)}"


def brand_name(rng: random.Random) -> str:
    return capitalize("".join(rng.choice(BRAND_SYLLABLES) for _ in range(rng.randint(2, 3))))


class _Deck:
    """Draw without replacement, reshuffling when empty: a page rarely repeats a template or phrase."""

    def __init__(self, rng: random.Random, items: Sequence[str]) -> None:
        self._rng, self._items, self._pool = rng, items, list[str]()

    def draw(self) -> str:
        if not self._pool:
            self._pool = list(self._items)
            self._rng.shuffle(self._pool)
        return self._pool.pop()


class _Slots(dict):
    """A ``format_map`` source where every field lookup draws a fresh value."""

    def __init__(self, fill: Callable[[str], str]) -> None:
        super().__init__()
        self._fill = fill

    def __missing__(self, key: str) -> str:
        return self._fill(key)


class Article:
    """One page's cast and decks; renders sentences, paragraphs and whole articles."""

    def __init__(self, rng: random.Random, topic: Topic | None = None) -> None:
        self.rng = rng
        self.topic = topic or rng.choice(TOPICS)
        self.town = town_name(rng)
        self.person = person_name(rng)
        self.first, self.last = self.person.split(" ", 1)
        self.cast = [person_name(rng) for _ in range(3)]
        self.org = f"{self.town} {rng.choice(self.topic.groups)}"
        self.brand = brand_name(rng)
        self.year = rng.randint(2014, 2023)
        self._decks: dict[str, _Deck] = {}
        self._slots = _Slots(self.slot)

    def deck(self, name: str, items: Sequence[str]) -> str:
        if name not in self._decks:
            self._decks[name] = _Deck(self.rng, items)
        return self._decks[name].draw()

    def slot(self, key: str) -> str:
        """Value for one template field; multi-word phrases come from decks so they rarely repeat."""
        t, rng = self.topic, self.rng
        simple: dict[str, Callable[[], str]] = {
            "thing": lambda: singular(self.deck("thing", t.things)),
            "things": lambda: plural(self.deck("thing", t.things)),
            "role": lambda: singular(self.deck("role", t.roles)),
            "roles": lambda: plural(self.deck("role", t.roles)),
            "task": lambda: self.deck("task", t.tasks),
            "task_d": lambda: conjugate(self.deck("task", t.tasks), "past"),
            "task_ing": lambda: conjugate(self.deck("task", t.tasks), "ing"),
            "adj": lambda: self.deck("adj", t.adjectives),
            "place": lambda: self.deck("place", t.places),
            "problem": lambda: self.deck("problem", t.problems),
            "benefit": lambda: self.deck("benefit", t.benefits),
            "org": lambda: self.org,
            "town": lambda: self.town if rng.random() < 0.7 else town_name(rng),
            "person": lambda: self.person,
            "last": lambda: self.last,
            "other": lambda: rng.choice(self.cast),
            "other_first": lambda: rng.choice(self.cast).split(" ")[0],
            "brand": lambda: self.brand,
            "small": lambda: self.deck("small", NUMBER_WORDS),
            "num": lambda: str(rng.randint(12, 950)),
            "num2": lambda: str(rng.randint(12, 950)),
            "pct": lambda: str(rng.randint(3, 87)),
            "year": lambda: str(rng.randint(self.year - 9, self.year - 1)),
            "month": lambda: self.deck("month", MONTHS),
            "weekday": lambda: rng.choice(WEEKDAYS),
            "dur": lambda: self.deck("dur", DURATIONS),
            "period": lambda: rng.choice(PERIODS),
            "money": lambda: f"{rng.choice('$£€')}{rng.randint(15, 2400)}",
            "feel": lambda: self.deck("feel", FEELS),
        }
        return simple[key]()

    def fill(self, template: str) -> str:
        return fix_articles(template.format_map(self._slots))

    def sentence(self, kind: str, templates: Sequence[str], decorate: bool = True, end: str = ".") -> str:
        template = self.deck(kind, templates)
        text = self.fill(template)
        decorate = decorate and kind in ("general", "stat", "lead")
        if decorate and self.rng.random() < 0.3:
            text = self.fill(self.deck("opener", OPENERS)) + text
        elif decorate and "," not in template and self.rng.random() < 0.25:
            text += self.fill(self.deck("tail", TAILS))
        return capitalize(text) + end

    def quote(self) -> str:
        body = capitalize(self.fill(self.deck("quote", QUOTES)))
        speaker = self.rng.choice(self.cast + [self.person])
        desc = self.fill(self.deck("desc", SPEAKER_DESCS)) if self.rng.random() < 0.6 else ""
        form = self.rng.randrange(5)
        if form == 0:
            return f'"{body}," said {speaker}{desc}.'
        if form == 1:
            return f'"{body}," {speaker.split(" ")[1]} said.'
        if form == 2:
            return f'{speaker} put it simply: "{body}."'
        if form == 3:
            return f'As {speaker} told us, "{body}."'
        return f'"{body}," added {speaker}{desc}.'

    def paragraph(self, lead: tuple[str, Sequence[str]] | None = None, n: int | None = None,
                  mix: Sequence[tuple[str, Sequence[str]]] = (("general", GENERAL),)) -> str:
        """A paragraph: an optional lead sentence then ``n`` sentences drawn from the ``mix`` pools."""
        n = n if n is not None else self.rng.randint(3, 6)
        sentences = [self.sentence(*lead)] if lead else []
        for _ in range(n):
            roll = self.rng.random()
            if roll < 0.12:
                sentences.append(self.quote())
            elif roll < 0.24:
                sentences.append(self.sentence("stat", STATS))
            else:
                sentences.append(self.sentence(*self.rng.choice(mix)))
        return " ".join(sentences)

    # -- genres: each returns the page's lines (title first) ------------------------------------------------

    def _dateline(self) -> str:
        month, day = self.rng.choice(MONTHS), self.rng.randint(1, 28)
        forms = (
            f"By {self.person}",
            f"{month} {day}, {self.year}",
            f"Posted by {self.first} on {day} {month} {self.year}",
            f"Updated {day} {month} {self.year}",
            f"By {self.person}, {month} {day}, {self.year}",
        )
        return self.rng.choice(forms)

    def news(self) -> list[str]:
        title = capitalize(self.fill(self.rng.choice((
            "{org} plans to {task}", "{roles} in {town} warn of {problem}",
            "new scheme helps {town} {roles} tackle {problem}", "{town} meeting hears concerns over {problem}",
            "{town} {roles} {task_d} for the first time",
        ))))
        lines = [title, self._dateline(), self.paragraph(("lead", LEADS), n=self.rng.randint(2, 3))]
        for _ in range(self.rng.randint(3, 6)):
            lines.append(self.paragraph())
        lines.append(self.paragraph(n=self.rng.randint(1, 3)) + " " + self.sentence("end", ENDINGS))
        return lines

    def howto(self) -> list[str]:
        title = capitalize(self.fill(self.rng.choice((
            "how to {task}", "a beginner's guide to the {thing}", "{small} simple ways to get {benefit}",
            "how to deal with {problem}", "getting started: how to {task}",
        ))))
        lines = [title, self.paragraph(n=self.rng.randint(3, 4))]
        if self.rng.random() < 0.6:
            lines.append(self.fill("You will need a {thing}, a {thing}, some patience and about {small} spare hours."))
        for i in range(self.rng.randint(4, 6)):
            ordinal = ORDINALS[i] if i < 5 else "finally"
            step = self.fill(self.deck("step", STEPS)) + self.fill(self.deck("reason", STEP_REASONS))
            lines.append(capitalize(f"{ordinal}, {step}.") + " " + self.paragraph(
                n=self.rng.randint(2, 3), mix=(("general", GENERAL), ("tip", TIPS))))
        lines.append(self.paragraph(n=self.rng.randint(2, 3), mix=(("tip", TIPS),)))
        return lines

    def blog(self) -> list[str]:
        title = capitalize(self.fill(self.rng.choice((
            "why I decided to {task}", "what {dur} of " + self.topic.name + " taught me", "notes from {place}",
            "my {adj} {thing} and other stories", "a {period} of {task_ing}",
        ))))
        lines = [title, self._dateline()]
        for _ in range(self.rng.randint(4, 7)):
            lines.append(self.paragraph(("blog", BLOG), mix=(("blog", BLOG), ("general", GENERAL), ("general", GENERAL))))
        lines.append(self.sentence("blog", BLOG, decorate=False) + " Thanks for reading.")
        return lines

    def review(self) -> list[str]:
        title = capitalize(self.fill(self.rng.choice((
            "review: the {brand} {thing}", "{brand} {thing} review after {dur}", "is the {brand} {thing} any good",
        ))))
        lines = [title, f"Rating: {self.rng.randint(2, 5)} out of 5."]
        for _ in range(self.rng.randint(4, 6)):
            lines.append(self.paragraph(("review", REVIEW), mix=(("general", GENERAL), ("tip", TIPS))))
        lines.append(self.paragraph(("review", REVIEW), n=1, mix=(("tip", TIPS),)))
        return lines

    def explainer(self) -> list[str]:
        title = capitalize(self.fill(self.rng.choice((
            "everything you need to know about the {thing}", self.topic.name + " questions answered",
            "understanding {problem}", "common questions about the {thing}",
        ))))
        lines = [title, self.paragraph(n=self.rng.randint(3, 5))]
        for _ in range(self.rng.randint(4, 6)):
            lines.append(self.sentence("question", QUESTIONS, decorate=False, end="?"))
            lines.append(self.paragraph(n=self.rng.randint(3, 5), mix=(("general", GENERAL), ("tip", TIPS))))
        lines.append(self.sentence("end", ENDINGS))
        return lines

    def interview(self) -> list[str]:
        lines = [
            f"In conversation with {self.person}",
            self.fill(f"{self.person} has been a {{role}} in {self.town} for {{small}} years. ")
            + self.paragraph(n=self.rng.randint(1, 3)),
        ]
        for _ in range(self.rng.randint(4, 6)):
            lines.append("Q: " + self.sentence("question", QUESTIONS, decorate=False, end="?"))
            answer = [capitalize(self.fill(self.deck("quote", QUOTES))) + "."]
            answer += [self.sentence(*self.rng.choice((("blog", BLOG), ("general", GENERAL))))
                       for _ in range(self.rng.randint(2, 4))]
            lines.append("A: " + " ".join(answer))
        lines.append(self.sentence("end", ENDINGS))
        return lines

    def article(self) -> tuple[str, list[str]]:
        """Pick a genre and write the page; returns the genre name and the lines."""
        genre = self.rng.choices(
            ("news", "howto", "blog", "review", "explainer", "interview"), weights=(28, 20, 20, 10, 14, 8)
        )[0]
        return genre, getattr(self, genre)()


def good_article(rng: random.Random) -> tuple[Topic, str, str, list[str]]:
    """A complete good page: (topic, genre, title, lines)."""
    art = Article(rng)
    genre, lines = art.article()
    return art.topic, genre, lines[0], lines


def english_paragraphs(rng: random.Random, n: int, topic: Topic | None = None) -> list[str]:
    """A few real paragraphs, used to give boilerplate pages some content worth keeping."""
    art = Article(rng, topic)
    return [art.paragraph() for _ in range(n)]


def english_sentence(rng: random.Random, topic: Topic | None = None) -> str:
    """One plausible English sentence (near-duplicate edits swap one in)."""
    return Article(rng, topic).sentence("general", GENERAL)
