#!/usr/bin/env python3
"""Generate the small synthetic dataset bundled in data/tiny/.

Standard library only; deterministic (same --seed => byte-identical files).

The data mimics the LETTER / LC-Rec preprocessed Amazon format and has planted
structure that later tests check the models actually learn:

  * 12 topics, each with 2-3 subtopics and its own vocabulary; item titles and
    descriptions are built mostly from topic + subtopic words (hierarchy
    topic -> subtopic shows up both in the text and in the category path).
  * user histories stay mostly inside one topic, and inside a subtopic follow a
    "successor" order (after item j, items j+1..j+3 of the same subtopic are
    likely), with drift to a related topic and some random noise.

Usage:
    python3 scripts/make_tiny_data.py [--seed 2024] [--out data/tiny]
"""

import argparse
import json
import os
import sys
from random import Random

DATASET = "tiny"

# --------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------
# name -> (topic words, {subtopic name: subtopic words}, brands)
TOPICS = [
    ("coffee",
     ["coffee", "brew", "roast", "barista", "aroma", "caffeine", "mug", "grind",
      "grinder", "burr", "kettle", "carafe", "arabica", "robusta", "decaf",
      "mocha", "latte", "cappuccino", "beans", "filter", "brewer", "tumbler",
      "creamer", "java", "percolator", "saucer", "demitasse", "roastery"],
     {"Espresso": ["espresso", "portafilter", "tamper", "crema", "shot",
                   "steamer", "frother", "ristretto", "macchiato"],
      "Pour Over": ["pourover", "dripper", "gooseneck", "chemex", "cone",
                    "bloom", "v60", "siphon", "aeropress"],
      "Whole Beans": ["single-origin", "ethiopian", "colombian", "sumatra",
                      "darkroast", "lightroast", "fairtrade", "blend",
                      "microlot"]},
     ["BrewCraft", "Roastwell", "Crema Co"]),
    ("yoga",
     ["yoga", "mat", "asana", "stretch", "pose", "flow", "vinyasa", "hatha",
      "mindful", "breath", "meditation", "balance", "flexibility", "namaste",
      "chakra", "zen", "posture", "core", "sun-salutation", "downward",
      "lotus", "warrior", "savasana", "pranayama", "studio", "retreat",
      "alignment", "calm"],
     {"Mats & Props": ["block", "strap", "bolster", "cork", "non-slip",
                       "cushion", "wheel", "grip", "rubber"],
      "Apparel": ["leggings", "sports-bra", "tank", "moisture-wicking",
                  "waistband", "racerback", "seamless", "jogger", "hoodie"]},
     ["ZenFlow", "Asana Labs", "Lotus & Co"]),
    ("camping",
     ["camping", "tent", "campfire", "outdoor", "hiking", "trail", "lantern",
      "backpack", "wilderness", "campsite", "waterproof", "tarp", "stakes",
      "compass", "trek", "backcountry", "cooler", "firestarter", "paracord",
      "carabiner", "survival", "headlamp", "canteen", "basecamp", "forest",
      "overnight", "mosquito", "bivouac"],
     {"Shelter": ["dome", "rainfly", "footprint", "hammock", "poles",
                  "vestibule", "guyline", "canopy", "2-person"],
      "Sleeping": ["sleeping-bag", "mummy", "down", "insulated", "pad",
                   "inflatable", "pillow", "liner", "cot"],
      "Camp Kitchen": ["stove", "butane", "skillet", "mess-kit", "spork",
                       "percolating", "griddle", "windscreen", "fuel"]},
     ["TrailPeak", "Summit Gear", "Pinecrest"]),
    ("baking",
     ["baking", "bake", "oven", "dough", "flour", "whisk", "pastry", "bakeware",
      "cookie", "muffin", "cake", "batter", "yeast", "knead", "spatula",
      "parchment", "frosting", "icing", "sourdough", "loaf", "crust",
      "sprinkles", "rolling-pin", "baker", "confectioner", "sifter",
      "measuring", "vanilla"],
     {"Pans & Molds": ["bundt", "springform", "loaf-pan", "silicone", "mold",
                       "tart", "ramekin", "sheet-pan", "nonstick"],
      "Decorating": ["piping", "nozzle", "fondant", "turntable", "stencil",
                     "buttercream", "offset", "airbrush", "edible"],
      "Bread": ["proofing", "banneton", "lame", "starter", "dutch-oven",
                "couche", "crumb", "levain", "scoring"]},
     ["Bakewise", "Golden Crust", "FlourPower"]),
    ("guitar",
     ["guitar", "strings", "fret", "chord", "pick", "capo", "tuner", "riff",
      "strum", "neck", "fretboard", "headstock", "bridge", "saddle", "nut",
      "luthier", "rosewood", "maple", "gauge", "solo", "melody", "tremolo",
      "fingerstyle", "rhythm", "slide", "truss-rod", "open-tuning", "jam"],
     {"Acoustic": ["acoustic", "dreadnought", "soundhole", "spruce",
                   "phosphor-bronze", "cutaway", "parlor", "classical",
                   "nylon"],
      "Electric": ["electric", "humbucker", "pickup", "amp", "distortion",
                   "overdrive", "pedal", "whammy", "stratocaster"]},
     ["Fretline", "StringKing", "Amptone"]),
    ("skincare",
     ["skincare", "serum", "moisturizer", "cleanser", "toner", "hydrating",
      "collagen", "retinol", "hyaluronic", "niacinamide", "pores", "glow",
      "complexion", "dermatologist", "spf", "sunscreen", "exfoliating",
      "peptide", "ceramide", "facial", "wrinkle", "radiance", "sensitive-skin",
      "fragrance-free", "lotion", "brightening", "skin", "acne"],
     {"Face Care": ["face", "cream", "eye-cream", "mask", "sheet-mask",
                    "vitamin-c", "essence", "night", "anti-aging"],
      "Body Care": ["body", "butter", "scrub", "shea", "cocoa", "bath",
                    "shower-gel", "hand-cream", "foot"]},
     ["GlowLab", "Dermique", "PureSkin"]),
    ("cycling",
     ["cycling", "bike", "bicycle", "pedal", "saddle", "handlebar", "chain",
      "gear", "derailleur", "spoke", "wheelset", "tire", "tube", "pump",
      "cyclist", "helmet", "cadence", "sprocket", "cassette", "crankset",
      "brake", "road", "mountain", "commute", "peloton", "velo", "ride",
      "frame"],
     {"Components": ["carbon", "aluminum", "crank", "chainring", "disc",
                     "caliper", "hub", "tubeless", "bottom-bracket"],
      "Accessories": ["bottle-cage", "bike-light", "lock", "kickstand",
                      "pannier", "fender", "bell", "mirror", "saddlebag"],
      "Apparel": ["jersey", "bib-shorts", "chamois", "gloves", "windbreaker",
                  "cleats", "arm-warmers", "cap", "overshoes"]},
     ["VeloMax", "Spokeworks", "Crankline"]),
    ("painting",
     ["painting", "paint", "canvas", "brush", "easel", "palette", "acrylic",
      "oil", "watercolor", "pigment", "artist", "stroke", "sketch", "gesso",
      "varnish", "hue", "shade", "tint", "art", "mural", "landscape",
      "portrait", "studio-grade", "impasto", "glaze", "primer", "masterpiece",
      "artwork"],
     {"Paints": ["tubes", "cadmium", "ultramarine", "titanium-white",
                 "gouache", "ochre", "sienna", "vermilion", "lightfast"],
      "Brushes & Tools": ["filbert", "sable", "bristle", "palette-knife",
                          "fan-brush", "detail", "flat", "round", "liner"],
      "Surfaces": ["stretched", "panel", "linen", "cold-press", "sketchbook",
                   "board", "primed", "paper-pad", "archival"]},
     ["ArtNova", "Brushstroke", "Palette Pro"]),
    ("gardening",
     ["gardening", "garden", "plant", "seeds", "soil", "compost", "trowel",
      "pruner", "watering", "hose", "planter", "mulch", "fertilizer", "bloom",
      "seedling", "greenhouse", "weed", "harvest", "perennial", "vegetable",
      "herb", "shovel", "rake", "gardener", "sprinkler", "potting", "grow",
      "backyard"],
     {"Tools": ["shears", "hoe", "loppers", "dibber", "cultivator",
                "wheelbarrow", "spade", "knee-pad", "gloves"],
      "Seeds & Plants": ["tomato", "basil", "heirloom", "bulbs", "succulent",
                         "wildflower", "germination", "lettuce", "sprout"]},
     ["GreenThumb", "Rootstock", "Bloomfield"]),
    ("photography",
     ["photography", "camera", "lens", "shutter", "aperture", "tripod",
      "photo", "dslr", "mirrorless", "zoom", "focus", "exposure", "iso",
      "flash", "photographer", "sensor", "megapixel", "bokeh", "viewfinder",
      "lightroom", "snapshot", "portrait-mode", "wide-angle", "telephoto",
      "lens-cap", "monopod", "shoot", "gimbal"],
     {"Lenses": ["prime", "50mm", "macro", "fisheye", "stabilized",
                 "autofocus", "f1.8", "lens-hood", "bayonet"],
      "Lighting": ["softbox", "ring-light", "speedlight", "reflector",
                   "diffuser", "strobe", "led-panel", "light-stand",
                   "umbrella"],
      "Bags & Storage": ["camera-bag", "sling", "sd-card", "padded",
                         "dividers", "hard-case", "strap-mount", "dry-box",
                         "rolling"]},
     ["LensCraft", "ShutterPro", "Aperture Works"]),
    ("chess",
     ["chess", "chessboard", "pieces", "king", "queen", "rook", "bishop",
      "knight", "pawn", "checkmate", "gambit", "opening", "endgame", "grandmaster",
      "tournament", "castling", "stalemate", "chess-clock", "notation",
      "strategy", "tactics", "blitz", "rating", "player", "sicilian",
      "defense", "middlegame", "puzzle"],
     {"Boards & Sets": ["walnut", "staunton", "weighted", "magnetic",
                        "folding", "inlaid", "felted", "boxwood", "ebony"],
      "Books & Training": ["workbook", "manual", "lessons", "exercises",
                           "annotated", "beginner", "masterclass",
                           "opening-repertoire", "study"]},
     ["Gambit House", "Rook & Pawn", "Checkmate Co"]),
    ("aquarium",
     ["aquarium", "fish", "tank-kit", "aquatic", "filter-media", "gravel",
      "substrate", "water", "freshwater", "saltwater", "reef", "coral",
      "heater", "algae", "pump-head", "bubbler", "aquascape", "tetra",
      "guppy", "betta", "goldfish", "cichlid", "fishkeeping", "nitrate",
      "dechlorinator", "siphon-vacuum", "shrimp", "marine"],
     {"Equipment": ["canister", "powerhead", "air-stone", "thermometer",
                    "led-hood", "protein-skimmer", "uv-sterilizer",
                    "sponge-filter", "wavemaker"],
      "Plants & Decor": ["driftwood", "java-fern", "anubias", "moss",
                         "cave", "ornament", "carpet-plant", "rock",
                         "background"]},
     ["AquaLife", "Reefside", "Tidepool"]),
]

# related topic pairs for drift (symmetric)
RELATED_PAIRS = [("coffee", "baking"), ("yoga", "skincare"),
                 ("camping", "cycling"), ("painting", "photography"),
                 ("gardening", "aquarium"), ("chess", "guitar")]

GENERIC_BRANDS = ["EverydayCo", "UltraHome", "Basics Plus"]

ADJECTIVES = ["premium", "classic", "durable", "new", "deluxe", "professional",
              "compact", "lightweight", "portable", "essential", "ultimate",
              "handmade", "eco-friendly", "heavy-duty", "vintage", "modern"]
NOUNS = ["set", "kit", "bundle", "pack", "collection", "starter-kit",
         "accessory", "gift-set", "combo", "edition"]
SIZES = ["small", "medium", "large", "XL", "mini", "travel-size",
         "family-size", "12 oz", "2-pack", "3-pack"]
COLORS = ["black", "white", "red", "blue", "green", "gray", "navy", "pink",
          "beige", "silver", "gold", "teal"]
FILLER_GOOD = ["quality", "everyday", "use", "design", "gift", "beginners",
               "experts", "home", "travel", "easy", "clean", "store",
               "perfect", "reliable", "value", "great", "comfortable"]


def tc(word):
    """Title-case a token (keep things like 'v60', '50mm', 'f1.8', 'XL')."""
    if not word or not word[0].isalpha() or word.isupper():
        return word
    return "-".join(p[:1].upper() + p[1:] for p in word.split("-"))


# --------------------------------------------------------------------------
# Item generation
# --------------------------------------------------------------------------
def make_title(rng, brand, twords, swords, used_titles):
    for _attempt in range(100):
        parts = [brand]
        if rng.random() < 0.5:
            parts.append(tc(rng.choice(ADJECTIVES)))
        parts += [tc(w) for w in rng.sample(swords, rng.choice([1, 1, 2]))]
        parts += [tc(w) for w in rng.sample(twords, rng.choice([1, 2]))]
        parts.append(tc(rng.choice(NOUNS)))
        title = " ".join(parts)
        r = rng.random()
        if r < 0.3:
            title += ", " + tc(rng.choice(COLORS))
        elif r < 0.5:
            title += " - " + tc(rng.choice(SIZES))
        if title not in used_titles:
            used_titles.add(title)
            return title
    raise RuntimeError("could not make a unique title")


def make_sentence(rng, twords, swords, topic):
    t = lambda: rng.choice(twords)
    s = lambda: rng.choice(swords)
    a = lambda: rng.choice(ADJECTIVES)
    n = lambda: rng.choice(NOUNS)
    k = rng.randrange(7)
    if k == 0:
        return f"{tc(a())} {s()} {t()} {n()} for every {t()} lover."
    if k == 1:
        return f"Designed for {s()} and {t()}, with {a()} {t()} and {s()}."
    if k == 2:
        return f"Includes {t()}, {s()}, {t()} and a {a()} {n()}."
    if k == 3:
        return f"It's the {a()} choice for {topic} fans who love {s()} {t()}."
    if k == 4:
        f1, f2 = rng.sample(FILLER_GOOD, 2)
        return f"Perfect {t()} {s()} for {f1} {f2}, {rng.choice(SIZES)} size."
    if k == 5:
        return f"{tc(t())} {s()} {t()} in {rng.choice(COLORS)}, {a()} and {a()}."
    return f"A \"must-have\" {s()} {t()} for {t()} and {s()}."


def make_description(rng, twords, swords, topic, noise_words):
    sents = [make_sentence(rng, twords, swords, topic)
             for _ in range(rng.choice([1, 2, 2, 3]))]
    if noise_words is not None:
        # occasionally a word from another topic
        sents.append(f"Also pairs well with {rng.choice(noise_words)}.")
    return " ".join(sents)


def generate_items(rng):
    """Return list of item dicts (in generation order, grouped by topic)."""
    items = []
    used_titles = set()
    all_topic_words = [tw for (_n, tw, _s, _b) in TOPICS]
    gsub = 0
    subtopic_names = []
    for ti, (name, twords, subs, brands) in enumerate(TOPICS):
        n_items = rng.randint(30, 36)
        sub_names = list(subs.keys())
        # uneven split of items among subtopics
        weights = [rng.uniform(0.8, 1.3) for _ in sub_names]
        tot = sum(weights)
        counts = [max(8, int(round(n_items * w / tot))) for w in weights]
        for si, sname in enumerate(sub_names):
            subtopic_names.append(f"{name}/{sname}")
            swords = subs[sname]
            for pos in range(counts[si]):
                r = rng.random()
                if r < 0.88:
                    brand = brands[rng.randrange(len(brands))]
                elif r < 0.95:
                    brand = rng.choice(GENERIC_BRANDS)
                else:  # a brand borrowed from another topic
                    brand = rng.choice(TOPICS[(ti + 1 + rng.randrange(11)) % 12][3])
                title = make_title(rng, brand, twords, swords, used_titles)
                noise = None
                if rng.random() < 0.12:
                    other = (ti + 1 + rng.randrange(len(TOPICS) - 1)) % len(TOPICS)
                    noise = all_topic_words[other]
                desc = make_description(rng, twords, swords, name, noise)
                items.append({
                    "topic": ti, "subtopic": gsub, "pos": pos,
                    "title": title, "description": desc, "brand": brand,
                    "categories": f"Hobbies,{tc(name)},{sname}",
                })
            gsub += 1
    return items, subtopic_names


def add_edge_cases(rng, items):
    """Deterministically plant a few realistic text edge cases."""
    def first(topic_name, k=0):
        ti = [t[0] for t in TOPICS].index(topic_name)
        return [it for it in items if it["topic"] == ti][k]

    it = first("coffee", 0)   # HTML entity
    it["title"] = f"{it['brand']} Beans &amp; Brew Espresso Crema Starter-Kit"
    it = first("coffee", 3)   # accented word
    it["title"] = f"{it['brand']} Café Latte Mug Set, Navy"
    it["description"] = ("A café-style latte mug for your morning brew. "
                         + it["description"])
    it = first("baking", 2)   # accented words
    it["title"] = f"{it['brand']} Crème Brûlée Ramekin Bakeware Set of 6"
    it["description"] = ("Bake a perfect crème brûlée in these ramekins. "
                         + it["description"])
    it = first("chess", 4)    # empty description
    it["description"] = ""
    it = first("photography", 1)  # very long description
    ti = it["topic"]
    _n, twords, subs, _b = TOPICS[ti]
    swords = [w for ws in subs.values() for w in ws]
    sents = []
    while sum(len(s.split()) for s in sents) < 150:
        sents.append(make_sentence(rng, twords, swords, "photography"))
    it["description"] = " ".join(sents)


# --------------------------------------------------------------------------
# Interaction generation
# --------------------------------------------------------------------------
def weighted_choice(rng, cands, weights):
    x = rng.random() * sum(weights)
    acc = 0.0
    for c, w in zip(cands, weights):
        acc += w
        if x < acc:
            return c
    return cands[-1]


def generate_sequences(rng, items, n_users):
    n_topics = len(TOPICS)
    names = [t[0] for t in TOPICS]
    related = {}
    for a, b in RELATED_PAIRS:
        related[names.index(a)] = names.index(b)
        related[names.index(b)] = names.index(a)
    assert len(related) == n_topics

    topic_items = [[] for _ in range(n_topics)]
    sub_items = {}
    for iid, it in enumerate(items):
        topic_items[it["topic"]].append(iid)
        sub_items.setdefault(it["subtopic"], []).append(iid)
    for s in sub_items:
        sub_items[s].sort(key=lambda i: items[i]["pos"])
    pos_in_sub = {}
    for s, lst in sub_items.items():
        for p, i in enumerate(lst):
            pos_in_sub[i] = p

    # skewed item popularity within a topic (Zipf over a random rank)
    pop = [0.0] * len(items)
    for ti in range(n_topics):
        lst = list(topic_items[ti])
        rng.shuffle(lst)
        for r, iid in enumerate(lst):
            pop[iid] = 1.0 / (r + 1) ** 0.7

    # skewed topic popularity (Zipf-like, in TOPICS order)
    topic_w = [1.0 / (r + 1) ** 0.6 for r in range(n_topics)]

    def pick_pop(cands, used):
        cands = [c for c in cands if c not in used]
        if not cands:
            return None
        return weighted_choice(rng, cands, [pop[c] for c in cands])

    user_topic = []
    seqs = []
    for _u in range(n_users):
        mt = weighted_choice(rng, list(range(n_topics)), topic_w)
        user_topic.append(mt)
        length = min(30, 5 + int(rng.expovariate(1.0 / 5.5)))
        seq = []
        used = set()
        cur = mt
        anchor = pick_pop(topic_items[mt], used)  # last in-topic item
        seq.append(anchor)
        used.add(anchor)
        while len(seq) < length:
            r = rng.random()
            nxt = None
            if r < 0.80:  # stay in the current topic
                q = rng.random()
                if q < 0.65 and anchor is not None and items[anchor]["topic"] == cur:
                    lst = sub_items[items[anchor]["subtopic"]]
                    p = pos_in_sub[anchor]
                    cands = [lst[(p + d) % len(lst)] for d in (1, 2, 3)]
                    ws = [0.55, 0.3, 0.15]
                    cw = [(c, w) for c, w in zip(cands, ws) if c not in used]
                    if cw:
                        nxt = weighted_choice(rng, [c for c, _ in cw],
                                              [w for _, w in cw])
                elif q < 0.85 and anchor is not None:
                    nxt = pick_pop(sub_items[items[anchor]["subtopic"]], used)
                if nxt is None:
                    nxt = pick_pop(topic_items[cur], used)
                if nxt is not None:
                    anchor = nxt
            elif r < 0.95:  # drift to the related topic
                cur = related[cur]
                nxt = pick_pop(topic_items[cur], used)
                if nxt is not None:
                    anchor = nxt
            else:  # random item (noise); anchor/topic unchanged
                nxt = rng.randrange(len(items))
                if nxt in used:
                    nxt = None
            if nxt is None:  # fallback: any unused item
                nxt = pick_pop([i for i in range(len(items))], used)
            seq.append(nxt)
            used.add(nxt)
        seqs.append(seq)
    return seqs, user_topic, sub_items, pos_in_sub


def enforce_5core(rng, items, seqs, user_topic, sub_items, pos_in_sub, k=5):
    """Add interactions with under-used items to users of the same topic."""
    added = 0
    counts = [0] * len(items)
    for s in seqs:
        for i in s:
            counts[i] += 1
    for iid in range(len(items)):
        if counts[iid] >= k:
            continue
        it = items[iid]
        sub = sub_items[it["subtopic"]]
        subset = set(sub)
        # users who know the subtopic first, then other users of the topic
        cands = []
        for u, s in enumerate(seqs):
            if iid in s or len(s) >= 30:
                continue
            same_sub = sum(1 for x in s if x in subset)
            if same_sub == 0 and user_topic[u] != it["topic"]:
                continue
            cands.append((-same_sub, rng.random(), u))
        cands.sort()
        for _ns, _r, u in cands:
            if counts[iid] >= k:
                break
            s = seqs[u]
            # insert right after the closest predecessor in the subtopic order
            p = pos_in_sub[iid]
            best = None
            for idx, x in enumerate(s):
                if x in subset:
                    d = (p - pos_in_sub[x]) % len(sub)
                    if best is None or d < best[0]:
                        best = (d, idx)
            at = best[1] + 1 if best is not None else len(s)
            s.insert(at, iid)
            counts[iid] += 1
            added += 1
        assert counts[iid] >= k, f"cannot make item {iid} {k}-core"
    return added


# --------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------
def write_text(path, text):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--out", default=os.path.join(repo, "data", "tiny"))
    ap.add_argument("--users", type=int, default=600)
    args = ap.parse_args()

    rng = Random(args.seed)
    gen_items, subtopic_names = generate_items(rng)
    add_edge_cases(rng, gen_items)

    # shuffle items so ids do not group by topic; raw id I%04d == int id
    order = list(range(len(gen_items)))
    rng.shuffle(order)
    items = [gen_items[o] for o in order]

    seqs, user_topic, sub_items, pos_in_sub = generate_sequences(
        rng, items, args.users)
    n_before = sum(len(s) for s in seqs)
    added = enforce_5core(rng, items, seqs, user_topic, sub_items, pos_in_sub)

    n_items, n_users = len(items), len(seqs)
    counts = [0] * n_items
    for s in seqs:
        assert len(s) == len(set(s)), "repeated item in a sequence"
        for i in s:
            counts[i] += 1
    n_inter = sum(len(s) for s in seqs)
    min_item = min(counts)
    min_user = min(len(s) for s in seqs)
    assert min_item >= 5 and min_user >= 5, "data is not 5-core"
    pairs = same = same_sub = succ = 0
    for s in seqs:
        for a, b in zip(s, s[1:]):
            pairs += 1
            same += items[a]["topic"] == items[b]["topic"]
            if items[a]["subtopic"] == items[b]["subtopic"]:
                same_sub += 1
                n_sub = len(sub_items[items[a]["subtopic"]])
                succ += (pos_in_sub[b] - pos_in_sub[a]) % n_sub in (1, 2, 3)
    purity = same / pairs
    sub_purity = same_sub / pairs
    main_share = sum(sum(1 for i in s if items[i]["topic"] == user_topic[u])
                     for u, s in enumerate(seqs)) / n_inter
    n_train = sum(len(s) - 3 for s in seqs)

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    P = lambda ext: os.path.join(out, f"{DATASET}.{ext}")

    # LETTER / LC-Rec json files
    inter = {str(u): s for u, s in enumerate(seqs)}
    write_text(P("inter.json"), json.dumps(inter, indent=4))
    item_json = {str(i): {"title": it["title"],
                          "description": it["description"],
                          "brand": it["brand"],
                          "categories": it["categories"]}
                 for i, it in enumerate(items)}
    write_text(P("item.json"), json.dumps(item_json, indent=1,
                                          ensure_ascii=False))
    write_text(P("item2id"), "".join(f"I{i:04d}\t{i}\n" for i in range(n_items)))
    write_text(P("user2id"), "".join(f"U{u:04d}\t{u}\n" for u in range(n_users)))
    topics = {"item_topic": [it["topic"] for it in items],
              "item_subtopic": [it["subtopic"] for it in items],
              "topics": [t[0] for t in TOPICS],
              "subtopics": subtopic_names,
              "user_topic": user_topic}
    write_text(P("topics.json"), json.dumps(topics))

    # timestamps: strictly increasing per user
    ts = []
    for s in seqs:
        t = 1400000000 + rng.randrange(100000000)
        row = []
        for _ in s:
            t += rng.randint(600, 30 * 86400)
            row.append(t)
        ts.append(row)

    # CSV: rows grouped by user; every 8th user has its rows shuffled so a
    # loader must sort by timestamp to recover the order.
    lines = ["user,item,timestamp\n"]
    n_shuffled = 0
    for u, s in enumerate(seqs):
        rows = [(f"U{u:04d}", f"I{i:04d}", t) for i, t in zip(s, ts[u])]
        if u % 8 == 3:
            rng.shuffle(rows)
            if [r[2] for r in rows] == ts[u]:
                rows.reverse()
            n_shuffled += 1
        lines += [f"{a},{b},{c}\n" for a, b, c in rows]
    write_text(P("csv"), "".join(lines))

    # RecBole atomic files
    lines = ["user_id:token\titem_id:token\ttimestamp:float\n"]
    for u, s in enumerate(seqs):
        lines += [f"U{u:04d}\tI{i:04d}\t{t}\n" for i, t in zip(s, ts[u])]
    write_text(P("inter"), "".join(lines))
    lines = ["item_id:token\ttitle:token_seq\tbrand:token\tcategories:token_seq\n"]
    for i, it in enumerate(items):
        fields = [f"I{i:04d}", it["title"], it["brand"], it["categories"]]
        assert all("\t" not in f and "\n" not in f for f in fields)
        lines.append("\t".join(fields) + "\n")
    write_text(P("item"), "".join(lines))

    # stats
    lens = sorted(len(s) for s in seqs)
    topic_users = [user_topic.count(t) for t in range(len(TOPICS))]
    topic_nitems = [sum(1 for it in items if it["topic"] == t)
                    for t in range(len(TOPICS))]
    stats = [
        ("users", n_users),
        ("items", n_items),
        ("interactions", n_inter),
        ("interactions added by 5-core fix-up", n_inter - n_before),
        ("mean sequence length", f"{n_inter / n_users:.2f}"),
        ("min / median / max sequence length",
         f"{lens[0]} / {lens[len(lens) // 2]} / {lens[-1]}"),
        ("min item count", min_item),
        ("max item count", max(counts)),
        ("training samples (sum of len-3)", n_train),
        ("topic purity (consecutive pairs, same topic)", f"{purity:.3f}"),
        ("subtopic purity (consecutive pairs, same subtopic)",
         f"{sub_purity:.3f}"),
        ("successor pairs (next item is j+1..j+3 of the same subtopic)",
         f"{succ / pairs:.3f}"),
        ("share of interactions in the user's main topic", f"{main_share:.3f}"),
        ("users whose CSV rows are shuffled", n_shuffled),
    ]
    assert added == n_inter - n_before
    print(f"wrote {out}")
    for k, v in stats:
        print(f"  {k}: {v}")
    print("  per topic (items / users with that main topic):")
    for t, (name, *_r) in enumerate(TOPICS):
        print(f"    {t:2d} {name:12s} {topic_nitems[t]:3d} / {topic_users[t]:3d}")

    # README
    stat_lines = "\n".join(f"| {k} | {v} |" for k, v in stats)
    topic_lines = "\n".join(
        f"| {t} | {name} | {', '.join(subs.keys())} | {topic_nitems[t]} | "
        f"{topic_users[t]} |"
        for t, (name, _tw, subs, _b) in enumerate(TOPICS))
    pair_lines = ", ".join(f"{a} <-> {b}" for a, b in RELATED_PAIRS)
    readme = f"""# tiny: synthetic dataset for tests

Generated (deterministically; running it again gives byte-identical files) by

    python3 scripts/make_tiny_data.py --seed {args.seed}

(standard library only; `--out DIR` writes elsewhere, default `data/tiny`).
Do not edit these files by hand: change the script and re-run it.

## Files

| file | format |
|---|---|
| `tiny.inter.json` | LETTER / LC-Rec: `{{"user id": [item ids, chronological], ...}}` (`json.dumps(indent=4)`) |
| `tiny.item.json` | LETTER / LC-Rec: `{{"item id": {{"title", "description", "brand", "categories"}}, ...}}` (`indent=1`, UTF-8, not ASCII-escaped) |
| `tiny.item2id` | `raw_id<TAB>int_id` per line, raw ids `I0000`... (here `I%04d` is always the int id) |
| `tiny.user2id` | `raw_id<TAB>int_id` per line, raw ids `U0000`... (here `U%04d` is always the int id) |
| `tiny.topics.json` | ground truth: `item_topic` (topic index per item id), `item_subtopic` (global subtopic index per item id), `topics` (names), `subtopics` (names `topic/Subtopic`, indexed by `item_subtopic`), `user_topic` (main topic per user id) |
| `tiny.csv` | same interactions, header `user,item,timestamp` (raw ids, integer unix seconds). Rows are grouped by user, but every 8th user (`u % 8 == 3`) has its rows in shuffled order: sort by timestamp per user. Timestamps are strictly increasing within a user. |
| `tiny.inter` | RecBole atomic file `user_id:token	item_id:token	timestamp:float`, raw ids, sorted by user then time |
| `tiny.item` | RecBole atomic file `item_id:token	title:token_seq	brand:token	categories:token_seq` (categories keep the Amazon comma-joined form) |

Ids are 0-based and contiguous. Item ids are shuffled, so they do not group
by topic. Every user has >= 5 interactions and every item occurs in >= 5
interactions (already 5-core), and no user interacts with the same item twice.

## Planted structure

* 12 topics with 2-3 subtopics each ({len(subtopic_names)} subtopics). Each
  topic has ~28 distinctive words and each subtopic ~9 more; titles are
  `brand + [adjective] + 1-2 subtopic words + 1-2 topic words + generic noun
  [+ color/size]`, descriptions 1-3 sentences of mostly topic/subtopic words
  plus generic words; ~12% of descriptions contain one word of another topic.
  Categories are `Hobbies,<Topic>,<Subtopic>`. Brands: 3 per topic (~88% of
  items), a few generic brands and a few borrowed from another topic.
* Text edge cases: an `&amp;` entity in a title, accented words (`Café`,
  `Crème Brûlée`), double quotes and apostrophes in descriptions, one empty
  description, one description of ~150 words.
* Users: main topic drawn Zipf-like over topics (weights 1/(r+1)^0.6 in the
  order of the table below). Length 5 + Exp(mean 5.5), capped at 30. Each
  step: 80% stay in the current topic (65% of those follow the successor
  pattern: after item at position j of a subtopic, positions j+1, j+2, j+3 of
  that subtopic with probabilities .55/.30/.15, cyclically; otherwise an item
  of the same subtopic or topic by popularity), 15% drift to the related topic
  (which becomes the current topic), 5% a uniformly random item. Related
  pairs: {pair_lines}. Item popularity within a topic is Zipf-like
  (1/rank^0.7). Items still under 5 interactions are then inserted into
  histories of users of the same subtopic/topic, right after their subtopic
  predecessor.

| topic | name | subtopics | items | users (main topic) |
|---|---|---|---|---|
{topic_lines}

## Stats

| statistic | value |
|---|---|
{stat_lines}
"""
    write_text(os.path.join(out, "README.md"), readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
