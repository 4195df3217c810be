"""The demo dataset: seeded, generated product reviews with simulated labellers. No Django here.

Each item gets a true sentiment, a text composed from phrase banks for that sentiment (some
mixed, sarcastic or vague on purpose), slice metadata, and up to three labels from simulated
labellers of known reliability. Hard slices (email, en-IN, accessories) hold more hard texts and
get more label errors, so agreement, label-issue and slice analysis have something to find.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

DEMO_DATASET_NAME = "Product reviews (demo)"
DEMO_SEED = 7
DEMO_ITEM_COUNT = 600
DEMO_SOURCE = "Generated demo data (seeded)"
DEMO_PASSWORD = "demo-workbench"  # noqa: S105 - a documented demo login
DEMO_OWNER = "demo"
DEMO_REVIEWER = "alice"
DEMO_ANNOTATORS = ("bob", "carol", "dave", "erin")

DEMO_DESCRIPTION = (
    "Short English product reviews from the web shop, the mobile app, support e-mails and "
    "in-store kiosks, labelled by three people each. Generated with a fixed seed so that every "
    "installation shows the same numbers."
)
DEMO_LABELS = (
    {
        "name": "positive",
        "hotkey": "1",
        "description": "The reviewer is satisfied overall or would recommend the product.",
    },
    {
        "name": "negative",
        "hotkey": "2",
        "description": "The reviewer is dissatisfied overall, regrets buying it or warns others.",
    },
    {
        "name": "neutral",
        "hotkey": "3",
        "description": "Factual, lukewarm or undecided: no overall verdict either way.",
    },
)
DEMO_GUIDELINES = """\
Label the overall sentiment of the reviewer towards the product they bought: positive, negative \
or neutral. Judge the text only. The star rating, the channel and the product category are shown \
for context but must not decide the label: people often give four stars to a review that reads \
neutral, and a five-star rating on a sarcastic text is still a negative review.

Positive means the reviewer is satisfied overall: praise, a recommendation, "would buy again". \
Mild praise counts ("not bad for the price", "does the job well, happy with it"). Negative means \
the reviewer is dissatisfied overall: a fault, a return, a warning to others, "would not buy \
again". Mild criticism that ends in regret ("expected more for the money") is negative. Neutral \
is for factual or lukewarm texts ("arrived on time", "it's okay", "same as my old one"), for \
questions to support, and for reviewers who say they will decide later.

Mixed reviews praise one thing and criticise another. Label the reviewer's overall verdict, \
wherever it appears in the text: "the camera is great but the battery is poor; still, I'm \
keeping it" is positive, and "lovely screen, awful speaker, sending it back" is negative. Only \
when the two sides balance and the reviewer gives no verdict ("great sound, terrible fit, not \
sure yet") is a mixed review neutral.

Sarcasm is labelled by what the reviewer means, not by the words: "Oh great, it died after two \
days, exactly what I paid for" is negative. Support e-mails often open politely and bury the \
complaint; read to the end. Regional phrasing is normal English: "not up to the mark" is \
negative, "value for money" and "superb" are positive, "ok ok" is neutral.

If you can't tell, pick the closest label and move on; the reviewer resolves disagreements. \
Don't skip items because they are hard: hard items are where the labels matter most.
"""

LABEL_NAMES = ("positive", "negative", "neutral")
SOURCES = ("web", "app", "email", "store")
DEVICES = ("android", "ios", "desktop")
LANGUAGE_VARIANTS = ("en-US", "en-GB", "en-IN")
CATEGORIES = ("phones", "laptops", "headphones", "accessories")
CSV_COLUMNS = (
    "external_id",
    "text",
    "source",
    "device",
    "language_variant",
    "product_category",
    "rating_stars",
    "collected_at",
    "labeller",
    "label",
    "time_spent_ms",
)


@dataclass(frozen=True)
class SimulatedLabeller:
    name: str
    accuracy: float  # on an easy item; hard items pull it towards chance
    workload: float  # relative share of the items this labeller gets
    speed: float  # multiplies the time spent per item
    leans_positive: bool = False  # errors go to "positive" more often (a careless labeller)


TEAM = (
    SimulatedLabeller("alice", 0.93, 0.9, 1.15),
    SimulatedLabeller("bob", 0.88, 1.2, 1.0),
    SimulatedLabeller("carol", 0.80, 1.2, 0.9),
    SimulatedLabeller("dave", 0.70, 1.0, 0.8),
    SimulatedLabeller("erin", 0.55, 0.9, 0.45, leans_positive=True),
)
CROWD = (
    SimulatedLabeller("crowd:W3KX9", 0.78, 0.6, 0.6),
    SimulatedLabeller("crowd:Q7TZ2", 0.62, 0.4, 0.5, leans_positive=True),
)
# Items collected before this date went through a crowd-labelling campaign as well.
CROWD_CAMPAIGN_END = date(2026, 4, 1)

# Per category: products, qualities people praise or criticise, and parts that can break.
PRODUCTS = {
    "phones": (
        ("phone", "smartphone", "handset"),
        ("battery life", "camera", "screen", "speaker", "charging speed"),
        ("camera", "screen", "speaker", "fingerprint reader", "charging port"),
    ),
    "laptops": (
        ("laptop", "notebook", "gaming laptop"),
        ("keyboard", "trackpad", "display", "battery life", "webcam", "build quality"),
        ("keyboard", "trackpad", "display", "webcam", "hinge", "fan"),
    ),
    "headphones": (
        ("headset", "pair of earbuds", "pair of headphones"),
        ("noise cancelling", "sound", "bass", "microphone", "fit", "battery life"),
        ("left side", "microphone", "Bluetooth connection", "charging port"),
    ),
    "accessories": (
        ("phone case", "charger", "USB-C cable", "power bank", "laptop stand", "screen protector"),
        ("build quality", "finish", "grip", "charging speed", "fit"),
        ("connector", "clip", "magnet", "coating"),
    ),
}

# Words that differ between English variants; the templates name them in braces.
VARIANT_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "en-US": {
        "great": ("great", "awesome", "amazing", "excellent", "really solid"),
        "bad": ("terrible", "garbage", "awful", "a joke", "really disappointing"),
        "meh": ("underwhelming", "so-so", "mediocre"),
        "money": ("money", "bucks", "cash"),
        "colour": ("color",),
        "friend": ("my brother", "my wife", "my roommate", "a coworker"),
    },
    "en-GB": {
        "great": ("brilliant", "lovely", "spot on", "excellent", "cracking"),
        "bad": ("rubbish", "dreadful", "naff", "poor", "a bit shoddy"),
        "meh": ("a bit underwhelming", "middling", "so-so"),
        "money": ("money", "quid", "pennies"),
        "colour": ("colour",),
        "friend": ("my brother", "my wife", "my flatmate", "a colleague"),
    },
    "en-IN": {
        "great": ("superb", "very nice", "excellent", "awesome", "too good"),
        "bad": ("worst", "not up to the mark", "very poor", "pathetic", "useless"),
        "meh": ("just ok", "average only", "not that great"),
        "money": ("money", "rupees", "hard-earned money"),
        "colour": ("colour",),
        "friend": ("my brother", "my wife", "my cousin", "a colleague"),
    },
}

OPENERS = (
    "Bought this {product} for {friend}.",
    "Got the {product} last week.",
    "Ordered this {product} during the sale.",
    "Replaced my old {product} with this one.",
    "Using this {product} for about {n} days now.",
    "Second {product} from this brand.",
)
POSITIVE = (
    "The {aspect} is {great}.",
    "Really happy with the {aspect}.",
    "The {aspect} is even better than I expected.",
    "Worth every bit of the {money}.",
    "Would buy it again without thinking twice.",
    "Setup took two minutes and it just works.",
    "Best {product} I have owned.",
    "Five stars, the {aspect} alone is worth it.",
    "No complaints at all, the {aspect} is {great}.",
    "Already recommended it to {friend}.",
)
NEGATIVE = (
    "The {aspect} is {bad}.",
    "The {part} stopped working after {n} days.",
    "Sending it back.",
    "Support took {n} days to reply and fixed nothing.",
    "Don't waste your {money} on this.",
    "Cheap build, the {part} feels like it will break any moment.",
    "Arrived with a faulty {part}.",
    "Really regret buying this {product}.",
    "The {aspect} is {bad} and the replacement was no better.",
    "Would not buy this again.",
)
NEUTRAL = (
    "The {aspect} is fine, nothing special.",
    "Does what it says on the box.",
    "Arrived on time and matches the description.",
    "About average for a {product} at this price.",
    "Pretty similar to my old {product}.",
    "The {aspect} is what you would expect.",
    "No strong feelings either way so far.",
    "The {colour} is as shown in the pictures.",
    "Comes with a short manual and a cable.",
)
MILD_POSITIVE = (
    "Not bad for the price.",
    "Does the job well enough, happy overall.",
    "Decent {product}, I'd probably recommend it.",
    "Can't really complain about the {aspect}.",
    "Better than I expected for the {money}.",
)
MILD_NEGATIVE = (
    "Could be better, the {aspect} is {meh}.",
    "Expected more for the {money}.",
    "Not awful, but I wouldn't buy it again.",
    "The {aspect} is {meh} and it shows after a few weeks.",
    "Hoped for more, honestly.",
)
VAGUE = (
    "It's a {product}.",
    "Gift for {friend}, no feedback yet.",
    "Works. For now.",
    "Same as the other one I bought.",
    "Will update after a month of use.",
    "The {aspect} is {meh} but it's fine I guess.",
    "Ok ok.",
    "Haven't really used the {part} much yet.",
)
SARCASTIC = (
    "Oh great, the {part} died after {n} days. Exactly what I paid for.",
    "Five stars for teaching me patience: it takes forever to do anything.",
    "Fantastic, another {product} that lasts exactly until the warranty ends.",
    "Best {product} ever, if you enjoy sending things back.",
    "Love how the {part} gives up every {n} days. Real quality.",
    "Wow, {great} {aspect}, really. Shame it only worked for a week.",
)
MIXED = (
    "The {aspect} is {great} but the {aspect2} is {bad}.",
    "Love the {aspect}, hate the {aspect2}.",
    "The {aspect2} is {bad}, though the {aspect} is {great}.",
    "{great_cap} {aspect}, {bad} {aspect2}.",
)
VERDICTS = {
    "positive": (
        "Overall I'm keeping it.",
        "Still recommend it on balance.",
        "Happy with it overall.",
        "For the price I can live with that.",
    ),
    "negative": (
        "Overall not worth it.",
        "Returning it anyway.",
        "Can't recommend it because of that.",
        "That ruins it for me.",
    ),
    "neutral": (
        "Not sure yet if I'll keep it.",
        "So, mixed feelings.",
        "Let's see how it holds up.",
    ),
}
EMAIL_OPENERS = (
    "Hi team, writing about my recent {product} order.",
    "Hello, quick note about the {product} I bought from you.",
    "Dear support team, a note about order {ref}.",
    "Hi, following up on order {ref}.",
)
EMAIL_CLOSERS = ("Thanks.", "Regards.", "Please advise.", "Thanks in advance.", "Order {ref}.")
EMAIL_QUESTIONS = (
    "Can you tell me whether the {part} is covered by the warranty?",
    "Is there a firmware update for the {part}?",
    "Could you send me an invoice for it?",
)

# How hard a kind of text is to label (0: obvious, towards 1: a coin toss), and what each slice
# adds to it.
KIND_DIFFICULTY = {
    "clear": 0.0,
    "mild": 0.3,
    "vague": 0.35,
    "mixed": 0.4,
    "sarcastic": 0.45,
    "question": 0.25,
}
SLICE_DIFFICULTY = {
    ("source", "email"): 0.15,
    ("language_variant", "en-IN"): 0.12,
    ("product_category", "accessories"): 0.12,
}


@dataclass(frozen=True)
class DemoAnnotation:
    labeller: str
    label: str
    time_spent_ms: int


@dataclass(frozen=True)
class DemoItem:
    external_id: str
    text: str
    metadata: dict[str, str | int]
    truth: str  # the label the text was written to have; never exported
    kind: str
    difficulty: float
    annotations: tuple[DemoAnnotation, ...]


def _weighted(rng: random.Random, options: Sequence[str], weights: Sequence[float]) -> str:
    return rng.choices(options, weights=weights, k=1)[0]


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


class _Writer:
    """Fills templates for one item, with words of its English variant and its product."""

    def __init__(self, rng: random.Random, variant: str, category: str) -> None:
        self.rng = rng
        self.words = VARIANT_WORDS[variant]
        products, qualities, parts = PRODUCTS[category]
        self.product = rng.choice(products)
        self.aspects = rng.sample(qualities, 2)
        self.part = rng.choice(parts)
        self.ref = f"#{rng.randint(100000, 999999)}"

    def fill(self, template: str) -> str:
        great = self.rng.choice(self.words["great"])
        values = {
            "product": self.product,
            "aspect": self.aspects[0],
            "aspect2": self.aspects[1],
            "great": great,
            "great_cap": _sentence_case(great),
            "bad": self.rng.choice(self.words["bad"]),
            "meh": self.rng.choice(self.words["meh"]),
            "money": self.rng.choice(self.words["money"]),
            "colour": self.words["colour"][0],
            "friend": self.rng.choice(self.words["friend"]),
            "n": str(self.rng.randint(2, 30)),
            "ref": self.ref,
            "part": self.part,
        }
        return _sentence_case(template.format(**values))

    def pick(self, bank: Sequence[str], k: int) -> list[str]:
        return [self.fill(t) for t in self.rng.sample(bank, k)]


def _metadata(rng: random.Random) -> dict[str, str | int]:
    collected = date(2026, 1, 5) + timedelta(days=rng.randint(0, 175))
    # The app's share grows over the half-year (a drift the workbench can show).
    app_weight = 0.2 + 0.25 * (collected.month - 1) / 5
    source = _weighted(rng, SOURCES, (0.4, app_weight, 0.15, 0.1))
    if source == "app":
        device = _weighted(rng, ("android", "ios"), (0.55, 0.45))
    elif source == "email":
        device = _weighted(rng, DEVICES, (0.2, 0.2, 0.6))
    else:
        device = _weighted(rng, DEVICES, (0.35, 0.3, 0.35))
    return {
        "source": source,
        "device": device,
        "language_variant": _weighted(rng, LANGUAGE_VARIANTS, (0.5, 0.25, 0.25)),
        "product_category": _weighted(rng, CATEGORIES, (0.3, 0.25, 0.25, 0.2)),
        "collected_at": collected.isoformat(),
    }


def _truth_and_kind(rng: random.Random, meta: dict[str, str | int]) -> tuple[str, str]:
    weights = {
        "web": (0.45, 0.33, 0.22),
        "app": (0.55, 0.27, 0.18),
        "email": (0.22, 0.48, 0.30),
        "store": (0.45, 0.30, 0.25),
    }[str(meta["source"])]
    truth = _weighted(rng, LABEL_NAMES, weights)
    if truth == "neutral" and meta["source"] == "email" and rng.random() < 0.5:
        return truth, "question"  # support e-mails that ask rather than judge
    hard = 0.18 + sum(0.1 for (key, value) in SLICE_DIFFICULTY if meta.get(key) == value)
    if rng.random() >= hard:
        return truth, "clear"
    kinds = {
        "positive": (("mixed", "mild"), (0.5, 0.5)),
        "negative": (("mixed", "sarcastic", "mild"), (0.35, 0.35, 0.3)),
        "neutral": (("mixed", "vague"), (0.4, 0.6)),
    }[truth]
    return truth, _weighted(rng, *kinds)


def _text(rng: random.Random, meta: dict[str, str | int], truth: str, kind: str) -> str:
    writer = _Writer(rng, str(meta["language_variant"]), str(meta["product_category"]))
    bank = {"positive": POSITIVE, "negative": NEGATIVE, "neutral": NEUTRAL}[truth]
    if kind == "clear":
        parts = writer.pick(bank, rng.choice((1, 2, 2, 3)))
        if rng.random() < 0.35:
            parts.insert(0, writer.fill(rng.choice(OPENERS)))
    elif kind == "mild":
        parts = writer.pick(MILD_POSITIVE if truth == "positive" else MILD_NEGATIVE, 1)
        if rng.random() < 0.5:
            parts.append(writer.fill(rng.choice(NEUTRAL)))
    elif kind == "vague":
        parts = writer.pick(VAGUE, rng.choice((1, 1, 2)))
    elif kind == "sarcastic":
        parts = writer.pick(SARCASTIC, 1)
    elif kind == "question":
        parts = writer.pick(EMAIL_QUESTIONS, 1)
        if rng.random() < 0.5:
            parts.insert(0, writer.fill(rng.choice(NEUTRAL)))
    else:  # mixed: the verdict decides, before or after the two sides (none: neutral)
        parts = writer.pick(MIXED, 1)
        verdict = writer.fill(rng.choice(VERDICTS[truth]))
        if truth != "neutral" and rng.random() < 0.3:
            parts.insert(0, verdict)
        else:
            parts.append(verdict)
    if meta["source"] == "email":
        parts.insert(0, writer.fill(rng.choice(EMAIL_OPENERS)))
        parts.append(writer.fill(rng.choice(EMAIL_CLOSERS)))
    return " ".join(parts)


def _stars(rng: random.Random, truth: str, kind: str) -> int:
    if kind == "sarcastic":
        weights: tuple[float, ...] = (0.7, 0.1, 0.0, 0.0, 0.2)  # some sarcastic five-star reviews
    elif kind == "mixed":
        weights = {
            "positive": (0.0, 0.05, 0.35, 0.5, 0.1),
            "negative": (0.2, 0.45, 0.3, 0.05, 0.0),
            "neutral": (0.0, 0.2, 0.6, 0.2, 0.0),
        }[truth]
    else:
        weights = {
            "positive": (0.0, 0.02, 0.08, 0.35, 0.55),
            "negative": (0.6, 0.3, 0.08, 0.02, 0),
            "neutral": (0.03, 0.15, 0.55, 0.25, 0.02),
        }[truth]
    return int(_weighted(rng, ("1", "2", "3", "4", "5"), weights))


def _difficulty(meta: dict[str, str | int], kind: str, truth: str) -> float:
    base = KIND_DIFFICULTY[kind] + (0.1 if kind == "mixed" and truth == "neutral" else 0.0)
    extra = sum(add for (key, value), add in SLICE_DIFFICULTY.items() if meta.get(key) == value)
    return min(base + extra, 0.8)


def _wrong_label(rng: random.Random, truth: str, kind: str, labeller: SimulatedLabeller) -> str:
    if labeller.leans_positive and truth != "positive" and rng.random() < 0.5:
        return "positive"
    if kind == "sarcastic":  # read literally
        return _weighted(rng, ("positive", "neutral"), (0.6, 0.4))
    if truth == "neutral":
        return _weighted(rng, ("positive", "negative"), (0.55, 0.45))
    opposite = "negative" if truth == "positive" else "positive"
    # Mixed reviews pull towards the other side; otherwise errors are mostly "neutral".
    weights = (0.8, 0.2) if kind != "mixed" else (0.4, 0.6)
    return _weighted(rng, ("neutral", opposite), weights)


def _labellers(rng: random.Random, count: int, crowd: bool) -> list[SimulatedLabeller]:
    pool = list(TEAM)
    chosen: list[SimulatedLabeller] = []
    if crowd and count:
        chosen.append(CROWD[0] if rng.random() < 0.6 else CROWD[1])
    while len(chosen) < count:
        pick = rng.choices(pool, weights=[lab.workload for lab in pool], k=1)[0]
        pool.remove(pick)
        chosen.append(pick)
    return chosen


def generate_demo_items(seed: int = DEMO_SEED, count: int = DEMO_ITEM_COUNT) -> list[DemoItem]:
    """The demo items with their true sentiment and simulated labels, the same for a seed."""
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not security
    # Exact shares: ~5% unlabelled, ~15% with one or two labels, the rest with three.
    order = list(range(count))
    rng.shuffle(order)
    unlabelled = set(order[: round(count * 0.05)])
    partial = set(order[round(count * 0.05) : round(count * 0.20)])
    items = []
    for index in range(count):
        meta = _metadata(rng)
        truth, kind = _truth_and_kind(rng, meta)
        text = _text(rng, meta, truth, kind)
        meta = {**meta, "rating_stars": _stars(rng, truth, kind)}
        difficulty = _difficulty(meta, kind, truth)
        if index in unlabelled:
            n_labels = 0
        elif index in partial:
            n_labels = rng.choice((1, 2, 2))
        else:
            n_labels = 3
        collected = date.fromisoformat(str(meta["collected_at"]))
        crowd = collected < CROWD_CAMPAIGN_END and rng.random() < 0.4
        annotations = []
        for labeller in _labellers(rng, n_labels, crowd):
            p_correct = labeller.accuracy - (labeller.accuracy - 1 / 3) * difficulty
            label = truth if rng.random() < p_correct else _wrong_label(rng, truth, kind, labeller)
            seconds = (2.5 + 0.035 * len(text) + 9 * difficulty) * labeller.speed
            ms = int(seconds * 1000 * rng.lognormvariate(0, 0.35)) // 10 * 10
            annotations.append(DemoAnnotation(labeller.name, label, ms))
        items.append(
            DemoItem(
                external_id=f"rev-{index + 1:04d}",
                text=text,
                metadata=meta,
                truth=truth,
                kind=kind,
                difficulty=round(difficulty, 3),
                annotations=tuple(annotations),
            )
        )
    return items


def generate_demo_rows(seed: int = DEMO_SEED, count: int = DEMO_ITEM_COUNT) -> list[dict[str, str]]:
    """The demo data in long format: one row per annotation, one row per unlabelled item."""
    rows = []
    for item in generate_demo_items(seed, count):
        base = {
            "external_id": item.external_id,
            "text": item.text,
            **{key: str(item.metadata[key]) for key in CSV_COLUMNS[2:8]},
        }
        if not item.annotations:
            rows.append({**base, "labeller": "", "label": "", "time_spent_ms": ""})
        for ann in item.annotations:
            rows.append(
                {
                    **base,
                    "labeller": ann.labeller,
                    "label": ann.label,
                    "time_spent_ms": str(ann.time_spent_ms),
                }
            )
    return rows


def rows_to_csv(rows: Sequence[dict[str, str]]) -> bytes:
    """Long-format rows as CSV bytes (UTF-8, a header row first)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()
