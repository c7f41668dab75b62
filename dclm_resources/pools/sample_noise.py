"""The sample pool's bad pages: boilerplate, spam, repetition, very short pages and symbol noise.

Why each kind exists: every DCLM mapper needs something in the pool to act on. Boilerplate feeds the
line-level modifiers (cookie banners, "items in cart", "Sign-in", "Read more...", counters, footers) and keeps a
little real content so that the modifiers, not the page filters, decide its fate; spam feeds the URL banlists
and banned-word filters; repetition feeds the Gopher repetition cascade; short and symbol pages feed the length,
symbol, bullet, ellipsis and word-length filters. Every generator returns ``(text, url)``.
"""

from __future__ import annotations

import random

from dclm_resources.pools.sample_english import (
    Article,
    capitalize,
    english_paragraphs,
    english_sentence,
    person_name,
    site_url,
    slugify,
    town_name,
)
from dclm_resources.pools.sample_vocab import MONTHS, TOPICS

# -- boilerplate ------------------------------------------------------------------------------------------

NAV_ITEMS = ("Home", "About", "Contact", "Shop", "Blog", "News", "Events", "Sale", "Gallery", "Help", "Login",
             "Basket", "FAQ", "Careers", "Press", "Donate", "Members", "Search")
COOKIE_LINES = (
    "This site uses cookies to improve your experience.",
    "We use cookies to personalise content and analyse our traffic. Accept all cookies",
    "By continuing to browse you agree to our cookie policy.",
    "Cookie settings | Accept | Reject",
    "Our website uses cookies. Learn more about how we use cookies in our privacy policy.",
)
JS_LINES = (
    "Please enable JavaScript to view the comments.",
    "JavaScript is disabled in your browser. Some features will not work.",
    "You need to enable javascript to run this app.",
)
ACCOUNT_LINES = (
    "Sign-in to your account", "Sign-in or register", "Sign-in to comment", "Sign in", "Create an account",
    "Forgot your password?", "Remember me", "My account", "Log out",
)
FOOTER_LINES = (
    "All rights reserved.", "Terms of use | Privacy policy | Cookie policy", "Back to top", "Site map",
    "Follow us", "Subscribe to our newsletter", "Powered by a content management system", "Contact us",
)
COUNTER_WORDS = ("likes", "shares", "comments", "views", "followers", "downloads")
PSEUDO_LATIN = ("lorem", "ipsum", "dolor", "amet", "sit", "vel", "tempor", "magna", "quis", "nostra", "vitae",
                "elit", "sed", "porta", "nunc", "velit", "rutrum", "ante", "orci", "lacus", "mauris", "felis")


def _nav(rng: random.Random) -> str:
    return " | ".join(rng.sample(NAV_ITEMS, rng.randint(4, 8)))


def _footer(rng: random.Random, site: str) -> list[str]:
    lines = [f"© {rng.randint(2012, 2023)} {site}. All rights reserved."]
    lines += rng.sample(FOOTER_LINES, rng.randint(1, 3))
    return lines


def _counter(rng: random.Random) -> str:
    n = rng.choice((str(rng.randint(2, 999)), f"{rng.randint(1, 9)}.{rng.randint(1, 9)}K"))
    return f"{n} {rng.choice(COUNTER_WORDS)}"


def _pseudo_latin(rng: random.Random, words: int) -> str:
    body = " ".join(rng.choice(PSEUDO_LATIN) for _ in range(words))
    return f"Lorem ipsum {body}."


def _teaser(rng: random.Random) -> str:
    """A short listing teaser that ends in the RefinedWeb "Read more..." suffix."""
    words = english_sentence(rng).rstrip(".").split()[: rng.randint(4, 7)]
    return " ".join(words) + " Read more..."


def boilerplate_page(rng: random.Random) -> tuple[str, str]:
    topic = rng.choice(TOPICS)
    site = f"{town_name(rng)} {rng.choice(topic.groups)}"
    style = rng.choice(("shop", "listing", "article", "placeholder", "login"))
    lines: list[str] = [_nav(rng)]
    if rng.random() < 0.6:
        lines.append(rng.choice(COOKIE_LINES))
    if style == "shop":
        art = Article(rng, topic)
        product = f"{art.brand} {art.fill('{thing}')}"
        lines += [
            rng.choice(ACCOUNT_LINES), f"{rng.randint(1, 9)} items in cart",
            f"Home > {topic.section.title()} > {capitalize(product)}", capitalize(product),
            f"Price: £{rng.randint(3, 300)}.{rng.randint(0, 99):02d}", "Add to cart", "Add to wishlist",
            rng.choice(("In stock", "Only 3 left", "Out of stock")),
        ]
        lines += [art.paragraph() for _ in range(rng.randint(1, 2))]
        lines += [f"Customer reviews ({rng.randint(0, 80)})", "You may also like", "Add to cart"]
    elif style == "listing":
        lines += [rng.choice(ACCOUNT_LINES), f"Latest posts from {site}"]
        for _ in range(rng.randint(4, 8)):
            art = Article(rng, topic)
            lines += [capitalize(art.fill("{roles} in {town} and {problem}")), _teaser(rng)]
            if rng.random() < 0.5:
                lines.append(_counter(rng))
        lines += english_paragraphs(rng, 1, topic)
        lines += ["Popular posts", "Archives", f"{rng.choice(MONTHS)} {rng.randint(2015, 2023)}"]
    elif style == "article":
        art = Article(rng, topic)
        _, article_lines = art.article()
        paragraphs = [line for line in article_lines[1:] if len(line.split()) >= 20]
        lines += [rng.choice(ACCOUNT_LINES), article_lines[0], *paragraphs[: rng.randint(1, 3)], "Read more..."]
        lines += [_counter(rng), _counter(rng), "Related articles"]
        lines += [capitalize(Article(rng, topic).fill("how to {task}")) for _ in range(3)]
        lines += [f"{rng.randint(0, 60)} comments", rng.choice(JS_LINES)]
    elif style == "placeholder":
        lines += [f"Welcome to {site}", _pseudo_latin(rng, rng.randint(20, 60))]
        lines += english_paragraphs(rng, 1, topic)
        lines += [_pseudo_latin(rng, rng.randint(15, 40)), "Coming soon", rng.choice(JS_LINES)]
    else:
        lines += ["Sign in", "Sign-in to continue reading", english_paragraphs(rng, 1, topic)[0]]
        lines += ["Read more...", "Forgot your password?", "Create an account", "Remember me", rng.choice(JS_LINES)]
    lines += _footer(rng, site)
    url = site_url(rng, topic.section, lines[min(3, len(lines) - 1)])
    return "\n".join(lines), url


# -- spam --------------------------------------------------------------------------------------------------

SPAM_THEMES: dict[str, tuple[str, ...]] = {
    "casino": ("casino", "online casino", "casino bonus", "free spins", "poker", "slots", "jackpot", "roulette",
               "betting", "blackjack", "win real money", "no deposit bonus"),
    "pills": ("viagra", "cialis", "cheap pills", "no prescription", "online pharmacy", "diet pills",
              "weight loss pills", "buy viagra", "generic cialis", "discount pharmacy"),
    "adult": ("xxx", "porn", "hot singles", "adult videos", "sex cams", "nude pics", "escort", "live cams",
              "free porn", "xxx videos"),
    "loans": ("payday loans", "fast cash", "no credit check", "instant approval", "quick loans",
              "bad credit loans", "cash advance", "same day loans"),
    "replica": ("replica watches", "cheap designer bags", "wholesale outlet", "luxury replica",
                "fake handbags", "discount watches", "replica sunglasses"),
}
# Adult and pharmacy spam dominate real crawls; they are also what the DCLM word banlists name.
SPAM_THEME_ORDER = ("adult", "pills", "casino", "loans", "replica")
SPAM_THEME_WEIGHTS = (30, 25, 20, 15, 10)
SPAM_TLDS = ("xyz", "top", "biz", "click", "info", "online", "win", "loan")
SPAM_SENTENCES = (
    "Looking for the best {kw}? You have come to the right place.",
    "Our experts compare every {kw} offer so you can get {kw} today.",
    "Click here to get {kw} and {kw} with no waiting.",
    "Thousands of happy customers already trust us for {kw}.",
    "Limited offer: {kw} at the lowest price online!",
    "Why pay more for {kw} when you can get {kw} here?",
    "Sign up now and receive a free {kw} voucher.",
    "Do not miss the hottest {kw} deals of the year.",
)


def _fill_keywords(rng: random.Random, template: str, keywords: tuple[str, ...]) -> str:
    """Each ``{kw}`` gets its own keyword, as stuffed copy does."""
    parts = template.split("{kw}")
    return "".join(part + (rng.choice(keywords) if i < len(parts) - 1 else "") for i, part in enumerate(parts))


def _spam_url(rng: random.Random, keywords: tuple[str, ...]) -> str:
    words = slugify(f"{keywords[0]} {rng.choice(keywords[1:])}", max_words=4)  # the theme word, then noise
    path = slugify(rng.choice(keywords))
    return f"http://{words}-{rng.randint(1, 999)}.{rng.choice(SPAM_TLDS)}/{path}.html?ref={rng.randrange(10**5)}"


def spam_page(rng: random.Random) -> tuple[str, str]:
    keywords = SPAM_THEMES[rng.choices(SPAM_THEME_ORDER, weights=SPAM_THEME_WEIGHTS)[0]]
    style = rng.choice(("stuffed", "pitch", "links"))
    lines = [f"{' '.join(rng.sample(keywords, 3)).upper()} !!!"]
    if style == "stuffed":
        for _ in range(rng.randint(5, 15)):
            lines.append(" ".join(rng.choice(keywords) for _ in range(rng.randint(8, 25))))
    elif style == "pitch":
        for _ in range(rng.randint(4, 9)):
            sentences = (_fill_keywords(rng, rng.choice(SPAM_SENTENCES), keywords) for _ in range(rng.randint(2, 5)))
            lines.append(" ".join(sentences))
        lines.append(f"Visit {_spam_url(rng, keywords)} now!")
    else:
        for _ in range(rng.randint(8, 20)):
            lines.append(f"{rng.choice(keywords)} | {rng.choice(keywords)} | {_spam_url(rng, keywords)}")
    return "\n".join(lines), _spam_url(rng, keywords)


# -- repetition ------------------------------------------------------------------------------------------

CHANT = ("click here to win", "buy now and save", "the best price of the year", "free shipping with every order",
         "call now to book", "subscribe to the channel", "limited offer for the first customers",
         "top rated in the shop")


def repetitive_page(rng: random.Random) -> tuple[str, str]:
    topic = rng.choice(TOPICS)
    style = rng.choice(("line", "paragraph", "ngram"))
    if style == "line":
        line = english_sentence(rng, topic)
        lines = [line] * rng.randint(20, 60)
    elif style == "paragraph":
        para = english_paragraphs(rng, 1, topic)[0]
        sep_lines = [para] * rng.randint(5, 12)
        lines = sep_lines if rng.random() < 0.5 else "\n\n".join(sep_lines).split("\n")
    else:
        phrase = rng.choice(CHANT)
        lines = [" ".join([phrase] * rng.randint(30, 80)) + "." for _ in range(rng.randint(1, 4))]
    title = capitalize(Article(rng, topic).fill("{thing} {thing} {thing}"))
    return "\n".join([title, *lines]), site_url(rng, topic.section, title)


# -- short pages -----------------------------------------------------------------------------------------

SHORT_FORMS = (
    "Page not found.", "404 Not Found", "Coming soon.", "Under construction", "Loading", "Access denied",
    "Thank you for your order.", "This page has moved.", "Hello world", "Nothing here yet.", "Error",
    "Session expired. Please log in again.", "Welcome to {town}", "Photo gallery", "{person}",
    "Subscribe to our newsletter", "Opening hours: 9 to 5", "{town} {group}", "Out of office until {month}.",
)


def short_page(rng: random.Random) -> tuple[str, str]:
    topic = rng.choice(TOPICS)
    values = {"town": town_name(rng), "person": person_name(rng), "group": rng.choice(topic.groups),
              "month": rng.choice(MONTHS)}
    lines = [rng.choice(SHORT_FORMS).format(**values) for _ in range(rng.randint(1, 2))]
    return "\n".join(lines), site_url(rng, topic.section, lines[0])


# -- symbol noise ----------------------------------------------------------------------------------------

_HEX = "0123456789abcdef"


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_HEX) for _ in range(n))


def symbols_page(rng: random.Random) -> tuple[str, str]:
    topic = rng.choice(TOPICS)
    art = Article(rng, topic)
    style = rng.choice(("hashtags", "separators", "code", "hashes", "ellipses"))
    lines: list[str] = []
    if style == "hashtags":  # a social post: a caption, then a wall of tags
        lines.append(art.paragraph(n=rng.randint(3, 5)))
        for _ in range(rng.randint(6, 14)):
            tags = (slugify(art.fill(rng.choice(("{thing}", "{role}", "{adj}")))).replace("-", "")
                    for _ in range(rng.randint(5, 15)))
            lines.append(" ".join(f"#{t}" for t in tags))
    elif style == "separators":
        for _ in range(rng.randint(15, 25)):
            lines.append(rng.choice(("#" * rng.randint(8, 40), "* * * * *", "=" * 20, "~~~ ### ~~~")))
            lines.append(f"• {art.fill('{thing}')} ... {art.fill('{thing}')} ...")
    elif style == "code":
        for i in range(rng.randint(20, 40)):
            v = f"{rng.choice('abcxyz')}{i}"
            lines.append(rng.choice((
                f"#define {v.upper()} 0x{_hex(rng, 4)}",
                f"if ({v} >= {rng.randint(0, 99)}) {{ {v} += {rng.randint(1, 9)}; }} // ##",
                f"{v}[{rng.randint(0, 9)}] = {{ {rng.randint(0, 9)}, {rng.randint(0, 9)}, {rng.randint(0, 9)} }};",
                f"# {_hex(rng, 8)} :: {v} -> {rng.randint(0, 999)} ...",
                "} else { return -1; }",
            )))
    elif style == "hashes":
        for _ in range(rng.randint(25, 50)):
            lines.append(f"{_hex(rng, 64)}  {slugify(art.fill('{thing}'))}_{_hex(rng, 6)}.tar.gz")
    else:
        for _ in range(rng.randint(35, 50)):
            lines.append(rng.choice(("Loading...", "Please wait...", "More...", "…", ". . .")))
            lines.append(capitalize(art.fill("{thing}")) + "...")
    title = f"{art.brand} ### {art.fill('{thing}')} ###"
    return "\n".join([title, *lines]), site_url(rng, topic.section, title)


BAD_PAGE_MAKERS = {
    "boilerplate": boilerplate_page,
    "spam": spam_page,
    "repetitive": repetitive_page,
    "short": short_page,
    "symbols": symbols_page,
}
