#!/usr/bin/env python3
"""Fit the embedded captioner's pattern model (Sources/Imaging/PatternModel.swift).

A multinomial logistic regression, L2-regularised, from `PatternModelFeatures` to the five
patterns (solid, striped, checked, dotted, floral), with the same fitting, standardising
and cross-validation code as the colour-family model (fit_color_family.py). Rows:

- `even` / `odd`: Myntra apparel photos of the garment slots, labelled by the pattern
  word of their titles (the captioner never reads titles; a title without one counts as
  solid, which is itself noisy). Weights are learned ONLY from the even rows; the odd
  rows are the held-out set, printed for information and never used for any choice.
- `synthetic`: garments from the project's sample catalogue generator, labelled by the
  pattern it drew. They always train and never score; they are the only dotted examples
  (two Myntra titles name dots).

    lookbook-bench caption-quality --data ../shared/data/myntra --dump-pattern-features /tmp/pattern.tsv
    python3 Tests/ImagingTests/Reference/fit_pattern.py /tmp/pattern.tsv

writes
    Sources/Imaging/PatternModel+Weights.swift   the learned parameters (no image data)
    Tests/ImagingTests/PatternModelGolden.swift  logits of synthetic feature vectors,
                                                 for the Swift inference test

Needs numpy and scipy (L-BFGS). Deterministic: the same TSV gives the same files.
"""
import argparse
import pathlib

import numpy as np

import fit_color_family as shared

PATTERNS = "solid striped checked dotted floral".split()
ROOT = pathlib.Path(__file__).resolve().parents[3]


def read(path):
    ids, split, y, rule, X = [], [], [], [], []
    with open(path) as f:
        next(f)
        for line in f:
            if not line.strip():
                continue
            i, s, label, r, feats = line.rstrip("\n").split("\t")
            ids.append(int(i) if s != "synthetic" else -1); split.append(s)
            y.append(PATTERNS.index(label)); rule.append(PATTERNS.index(r))
            X.append(np.array(feats.split(","), dtype=float))
    return np.array(ids), np.array(split), np.array(y), np.array(rule), np.vstack(X)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("features", help="TSV from lookbook-bench caption-quality --dump-pattern-features")
    ap.add_argument("--weights", default=str(ROOT / "Sources/Imaging/PatternModel+Weights.swift"))
    ap.add_argument("--golden", default=str(ROOT / "Tests/ImagingTests/PatternModelGolden.swift"))
    args = ap.parse_args()

    shared.FAMILIES = PATTERNS  # the shared fit reads its class count from here
    ids, split, y, rule, X = read(args.features)
    tr = split != "odd"
    syn = split == "synthetic"
    even, odd = split == "even", split == "odd"
    print(f"{len(ids)} rows, {X.shape[1]} features; training on {even.sum()} even ids and {syn.sum()} synthetic photos, "
          f"{odd.sum()} odd ids held out")
    best = None
    for lam in shared.LAMBDAS:
        m, s = shared.cross_validate(X[tr], y[tr], ids[tr], syn[tr], lam)
        print(f"  lambda {lam:g}: 5-fold CV accuracy within even ids {100 * m:.1f} % (± {100 * s:.1f})")
        if best is None or m > best[1] + 1e-12:
            best = (lam, m, s)
    lam, cv, _ = best
    mean, scale = shared.standardiser(X[tr])
    W, b = shared.fit((X[tr] - mean) / scale, y[tr], lam)
    params = (mean, scale, W, b)
    pred = shared.logits(X, *params).argmax(1)
    recall = ", ".join(f"{p} {100 * np.mean(pred[odd & (y == k)] == k):.1f} % of {(odd & (y == k)).sum()}"
                       for k, p in enumerate(PATTERNS) if (odd & (y == k)).any())
    print(f"chosen lambda {lam:g}: CV {100 * cv:.1f} %, training: even ids {100 * np.mean(pred[even] == y[even]):.1f} %, "
          f"synthetic {100 * np.mean(pred[syn] == y[syn]):.1f} %; held out (odd, not used) {100 * np.mean(pred[odd] == y[odd]):.1f} % "
          f"(the rule: {100 * np.mean(rule[odd] == y[odd]):.1f} %); recall {recall}")
    note = (f"Fitted on {even.sum()} Myntra apparel photos with even ids and {syn.sum()} generated garments; lambda {lam:g} by "
            f"5-fold CV within the even ids (CV accuracy {100 * cv:.1f} %).")
    shared.write_weights(pathlib.Path(args.weights), params, note, labels=PATTERNS, model="PatternModel",
                         enum="ShippedPatternParameters", labels_name="labels", script="fit_pattern.py")
    shared.write_golden(pathlib.Path(args.golden), params, labels=PATTERNS, pushed=(1, 2, 4), name="patternGolden",
                        weights="PatternModel+Weights.swift", script="fit_pattern.py", define_case=False)
    print(f"wrote {args.weights} and {args.golden}")


if __name__ == "__main__":
    main()
