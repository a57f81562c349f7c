#!/usr/bin/env python3
"""Independent reference for OutfitStructureModel (Sources/Recommender/OutfitStructureModel.swift).

Computes, for the small catalog that OutfitStructureModelTests builds, the category
affinities, price tiers and scores from the formulas in the type's documentation, with
plain Python (math only). Its output is pasted into the test as golden numbers:

    python3 Tests/RecommenderTests/Reference/structure_reference.py
"""
import math
from collections import Counter

# id: (category, slot, price or None)
products = {
    "t1": ("Tees", "top", 20), "t2": ("Tees", "top", 30), "t3": ("Blouses", "top", 80),
    "j1": ("Jeans", "bottom", 60), "j2": ("Jeans", "bottom", 50), "s1": ("Skirts", "bottom", 120),
    "n1": ("Sneakers", "shoes", 70), "n2": ("Sneakers", "shoes", 90), "h1": ("Heels", "shoes", 300),
    "b1": ("Totes", "bag", None), "b2": ("Clutches", "bag", 250),
    "x1": ("Bracelets", "jewellery", 15), "x2": ("Bracelets", "jewellery", 25),
}
outfits = [
    ["t1", "j1", "n1"],
    ["t2", "j2", "n2", "b1"],
    ["t3", "s1", "h1", "b2"],
    ["t3", "s1", "h1", "x1", "x2"],
    ["t1", "j2", "n1", "x1"],
    ["t2"],            # one item: not counted
    ["t1", "ghost"],   # one known item: not counted
]
PAIR_PRIOR, SHRINK = 3.0, 5.0
# Popularity counts (the products' `likes` attribute); absent for the others. "bad" is
# not a number: no tier.
likes = {"t1": "120", "t2": "4000", "t3": "15", "j1": "90", "j2": "3500", "s1": "10",
         "n1": "200", "n2": "5000", "h1": "0", "b2": "bad", "x1": "60"}

counted = [[i for i in o if i in products] for o in outfits]
counted = [o for o in counted if len(o) >= 2]
n = len(counted)


def cooccurrence(field):
    """Outfits holding each value of a product field (0: category, 1: slot), and each
    pair of values (a value twice in one outfit counts for the pair (value, value))."""
    single, pairs = Counter(), Counter()
    for o in counted:
        mult = Counter(products[i][field] for i in o)
        values = sorted(mult)
        for k, a in enumerate(values):
            single[a] += 1
            if mult[a] >= 2:
                pairs[(a, a)] += 1
            for b in values[k + 1:]:
                pairs[(a, b)] += 1
    return single, pairs


def smoothed_pmi(single, pairs, a, b):
    if a not in single or b not in single:
        return 0.0
    nab = pairs[tuple(sorted((a, b)))]
    na, nb = single[a], single[b]
    pa, pb = na / n, nb / n
    return 0.5 * (math.log((nab + PAIR_PRIOR * pb) / ((na + PAIR_PRIOR) * pb)) +
                  math.log((nab + PAIR_PRIOR * pa) / ((nb + PAIR_PRIOR) * pa)))


cat_outfits, pair_outfits = cooccurrence(0)
slot_prices, all_prices = {}, []
for o in counted:
    for i in o:
        c, s, p = products[i]
        if p:
            slot_prices.setdefault(s, []).append(math.log(p)); all_prices.append(math.log(p))
mean_lp = sum(all_prices) / len(all_prices)
slot_pop, all_pop = {}, []
for o in counted:
    for i in o:
        v = likes.get(i)
        if v is not None and v.replace(".", "", 1).isdigit():
            x = math.log1p(float(v))
            slot_pop.setdefault(products[i][1], []).append(x); all_pop.append(x)
mean_pop = sum(all_pop) / len(all_pop)
slot_pp = {s: (sum(v) + SHRINK * mean_pop) / (len(v) + SHRINK) for s, v in slot_pop.items()}

def pop_tier(i):
    v = likes.get(i)
    if v is None or not v.replace(".", "", 1).isdigit():
        return None
    return math.log1p(float(v)) - slot_pp.get(products[i][1], mean_pop)

def pop_score(context, cand):
    known = [pop_tier(x) for x in context if pop_tier(x) is not None]
    if pop_tier(cand) is None or not known:
        return None
    return -abs(pop_tier(cand) - sum(known) / len(known))

def pop_compat(items):
    known = [pop_tier(i) for i in items if pop_tier(i) is not None]
    total = sum(known)
    return sum(-abs(t - (total - t) / (len(known) - 1)) for t in known) / len(known)
slot_lp = {s: (sum(v) + SHRINK * mean_lp) / (len(v) + SHRINK) for s, v in slot_prices.items()}

def affinity(a, b):
    return smoothed_pmi(cat_outfits, pair_outfits, a, b)

def tier(i):
    c, s, p = products[i]
    return None if not p else math.log(p) - slot_lp.get(s, mean_lp)

def category_score(context, cand):
    return sum(affinity(products[cand][0], products[x][0]) for x in context) / len(context)

def price_score(context, cand):
    known = [tier(x) for x in context if tier(x) is not None]
    if tier(cand) is None or not known:
        return None
    return -abs(tier(cand) - sum(known) / len(known))

def category_compat(items):
    cats = [products[i][0] for i in items]
    pairs = [(a, b) for k, a in enumerate(cats) for b in cats[k + 1:]]
    return sum(affinity(a, b) for a, b in pairs) / len(pairs)

def price_compat(items):
    known = [tier(i) for i in items if tier(i) is not None]
    total = sum(known)
    return sum(-abs(t - (total - t) / (len(known) - 1)) for t in known) / len(known)

print(f"outfits counted: {n}")
for a, b in [("Tees", "Jeans"), ("Tees", "Heels"), ("Jeans", "Heels"), ("Bracelets", "Bracelets"),
             ("Tees", "Tees"), ("Skirts", "Heels"), ("Totes", "Sneakers"), ("Tees", "Scarves")]:
    print(f'affinity("{a}", "{b}") = {affinity(a, b)!r}')
for i in ["t1", "t3", "h1", "x2", "b1"]:
    print(f"tier({i}) = {tier(i)!r}")
print(f'category_score([t1, j1], n2) = {category_score(["t1", "j1"], "n2")!r}')
print(f'category_score([t1, j1], h1) = {category_score(["t1", "j1"], "h1")!r}')
print(f'price_score([t1, j1, b1], n2) = {price_score(["t1", "j1", "b1"], "n2")!r}')
print(f'price_score([t1, j1], h1) = {price_score(["t1", "j1"], "h1")!r}')
print(f'category_compat([t3, s1, h1, b2]) = {category_compat(["t3", "s1", "h1", "b2"])!r}')
print(f'price_compat([t3, s1, h1, b1]) = {price_compat(["t3", "s1", "h1", "b1"])!r}')
for i in ["t1", "n2", "h1", "x1", "b2", "x2"]:
    print(f"pop_tier({i}) = {pop_tier(i)!r}")
print(f'pop_score([t1, j1, b2], n2) = {pop_score(["t1", "j1", "b2"], "n2")!r}')
print(f'pop_score([t2, j2], n1) = {pop_score(["t2", "j2"], "n1")!r}')
print(f'pop_compat([t2, j2, n2, b1]) = {pop_compat(["t2", "j2", "n2", "b1"])!r}')

# Slot affinities: the same formula over the products' slots.
slot_outfits, slot_pairs = cooccurrence(1)

def slot_affinity(a, b):
    return smoothed_pmi(slot_outfits, slot_pairs, a, b)

for a, b in [("top", "bottom"), ("top", "top"), ("bag", "jewellery"), ("jewellery", "jewellery"), ("shoes", "bag"), ("top", "outerwear")]:
    print(f'slot_affinity("{a}", "{b}") = {slot_affinity(a, b)!r}')
print(f'slot_score([t1, j1], n2) = {sum(slot_affinity("shoes", products[x][1]) for x in ["t1", "j1"]) / 2!r}')
print(f'slot_score([t1, j1], t2) = {sum(slot_affinity("top", products[x][1]) for x in ["t1", "j1"]) / 2!r}')
print(f'slot_score([t3, x1], b2) = {(slot_affinity("bag", "top") + slot_affinity("bag", "jewellery")) / 2!r}')
