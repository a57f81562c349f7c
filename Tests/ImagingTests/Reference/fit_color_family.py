#!/usr/bin/env python3
"""Fit the embedded captioner's colour-family model (Sources/Imaging/ColorFamilyModel.swift).

A multinomial logistic regression, L2-regularised, from `ColorFamilyFeatures` to the eleven
basic colour terms. Weights are learned ONLY from the rows whose split is `even` (Myntra
photos with even ids) and `synthetic` (photos from the project's sample catalogue
generator, labelled by the colour it painted, and drawn model shots of tops labelled by
the shirt: clean solid colours, and wearers in trousers of any colour, which Myntra's few
hundred photos per family cover badly); the regularisation is chosen by 5-fold
cross-validation over the even rows (the synthetic rows always train, never score). Rows
with split `odd` are the held-out set: their accuracy is printed for information and
never used for any choice.

    lookbook-bench caption-quality --data ../shared/data/myntra --dump-features /tmp/features.tsv
    python3 Tests/ImagingTests/Reference/fit_color_family.py /tmp/features.tsv

writes
    Sources/Imaging/ColorFamilyModel+Weights.swift   the learned parameters (no image data)
    Tests/ImagingTests/ColorFamilyModelGolden.swift  logits of synthetic feature vectors,
                                                     for the Swift inference test

Needs numpy and scipy (L-BFGS). Deterministic: the same TSV gives the same files.
"""
import argparse
import pathlib

import numpy as np
from scipy.optimize import minimize

FAMILIES = "black white grey red orange yellow green blue purple pink brown".split()
LAMBDAS = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1]
FOLDS = 5
ROOT = pathlib.Path(__file__).resolve().parents[3]


def read(path):
    ids, split, y, X = [], [], [], []
    with open(path) as f:
        next(f)
        for line in f:
            if not line.strip():
                continue
            i, s, _label, family, feats = line.rstrip("\n").split("\t")
            ids.append(int(i) if s != "synthetic" else -1); split.append(s); y.append(FAMILIES.index(family))
            X.append(np.array(feats.split(","), dtype=float))
    return np.array(ids), np.array(split), np.array(y), np.vstack(X)


def standardiser(X):
    mean = X.mean(0)
    scale = X.std(0)
    scale[scale < 1e-6] = 1.0  # constant on the training rows: leave it unscaled
    return mean, scale


def fit(Z, y, lam):
    """Weights (K, d) and bias (K,) minimising mean cross-entropy + lam/2 |W|² (bias free)."""
    n, d = Z.shape
    K = len(FAMILIES)
    Y = np.eye(K)[y]

    def f(w):
        W = w[: K * d].reshape(K, d); b = w[K * d:]
        logits = Z @ W.T + b
        logits -= logits.max(1, keepdims=True)
        P = np.exp(logits); P /= P.sum(1, keepdims=True)
        loss = -np.sum(Y * np.log(P + 1e-300)) / n + 0.5 * lam * np.sum(W * W)
        G = (P - Y) / n
        return loss, np.concatenate([(G.T @ Z + lam * W).ravel(), G.sum(0)])

    r = minimize(f, np.zeros(K * d + K), jac=True, method="L-BFGS-B", options={"maxiter": 1000, "gtol": 1e-6})
    return r.x[: K * d].reshape(K, d), r.x[K * d:]


def logits(X, mean, scale, W, b):
    return ((X - mean) / scale) @ W.T + b


def accuracy(X, y, params):
    return float((logits(X, *params).argmax(1) == y).mean())


def cross_validate(X, y, ids, synthetic, lam):
    """Mean accuracy over 5 folds of the Myntra training rows (fold = (id / 2) mod 5);
    the synthetic rows are in every fold's training part."""
    fold = np.where(synthetic, -1, (ids // 2) % FOLDS)
    accs = []
    for k in range(FOLDS):
        tr, te = fold != k, fold == k
        mean, scale = standardiser(X[tr])
        W, b = fit((X[tr] - mean) / scale, y[tr], lam)
        accs.append(accuracy(X[te], y[te], (mean, scale, W, b)))
    return float(np.mean(accs)), float(np.std(accs))


def learning_curve(X, y, ids, synthetic, lam, sizes=(1, 2, 4)):
    """How accuracy grows with labelled photos: for each of the 5 folds of even ids as the
    test part, fit on `m` of the other 4 folds (the m folds after it, cyclically) plus the
    synthetic rows. Returns [(mean training photos, mean accuracy)] per m."""
    fold = np.where(synthetic, -1, (ids // 2) % FOLDS)
    out = []
    for m in sizes:
        accs, counts = [], []
        for k in range(FOLDS):
            train_folds = [(k + j) % FOLDS for j in range(1, m + 1)]
            tr = synthetic | np.isin(fold, train_folds)
            te = fold == k
            mean, scale = standardiser(X[tr])
            W, b = fit((X[tr] - mean) / scale, y[tr], lam)
            accs.append(accuracy(X[te], y[te], (mean, scale, W, b)))
            counts.append(int((tr & ~synthetic).sum()))
        out.append((float(np.mean(counts)), float(np.mean(accs))))
    return out


def numbers(v, per_line=8):
    v = [repr(float(x)) for x in np.ravel(v)]
    return "\n".join(" ".join(v[i:i + per_line]) for i in range(0, len(v), per_line))


def write_weights(path, params, note, labels=FAMILIES, model="ColorFamilyModel", enum="ShippedColorFamilyParameters",
                  labels_name="families", script="fit_color_family.py"):
    mean, scale, W, b = params
    path.write_text(f'''// Generated by Tests/ImagingTests/Reference/{script}; do not edit.
// {note}
// Learned parameters only (no image data): standardisation, weights, biases.

/// Parameters of `{model}.shipped`, as whitespace-separated decimal numbers
/// (parsed once, on first use: a string compiles in no time where a literal of thousands
/// of `Double`s would not).
enum {enum} {{
    static let {labels_name} = "{' '.join(labels)}"
    static let mean = """
{numbers(mean)}
"""
    static let scale = """
{numbers(scale)}
"""
    /// {len(labels)} rows (one per label) × {len(mean)} features, row-major.
    static let weights = """
{numbers(W)}
"""
    static let bias = """
{numbers(b)}
"""
}}
''')


def write_golden(path, params, labels=FAMILIES, pushed=(2, 3, 9), name="colorFamilyGolden", weights="ColorFamilyModel+Weights.swift",
                 script="fit_color_family.py", define_case=True):
    """Synthetic feature vectors (not from any photo) and the numpy logits of each.
    `define_case`: the file also defines `GoldenCase` (one test target defines it once)."""
    mean, scale, W, b = params
    rng = np.random.default_rng(20251201)
    d = len(mean)
    vectors = [
        np.zeros(d),
        rng.uniform(0, 1, d),
        mean + scale * rng.normal(0, 1, d),
        mean + 2 * scale * rng.normal(0, 1, d),
    ]
    # Vectors the model gives different labels, so the argmax is tested too: the mean
    # pushed along one label's weights.
    for k in pushed:
        vectors.append(mean + scale * 3 * W[k] / np.linalg.norm(W[k]))
    V = np.vstack(vectors)
    L = logits(V, *params)
    cases = []
    for v, l in zip(V, L):
        cases.append(f'''    GoldenCase(features: """
{numbers(v)}
""", logits: """
{numbers(l)}
""", family: "{labels[int(l.argmax())]}"),''')
    case = '''
/// `family`: the arg-max label (a colour family, or a pattern).
struct GoldenCase: Sendable {
    var features: String
    var logits: String
    var family: String
}
''' if define_case else ""
    path.write_text(f'''// Generated by Tests/ImagingTests/Reference/{script}; do not edit.
// Synthetic feature vectors (zeros, uniform noise, the training mean plus Gaussian noise,
// the mean pushed along a label's weights) and the logits numpy computes for them with
// the parameters in Sources/Imaging/{weights}.
{case}
let {name}: [GoldenCase] = [
{chr(10).join(cases)}
]
''')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("features", help="TSV from lookbook-bench caption-quality --dump-features")
    ap.add_argument("--weights", default=str(ROOT / "Sources/Imaging/ColorFamilyModel+Weights.swift"))
    ap.add_argument("--golden", default=str(ROOT / "Tests/ImagingTests/ColorFamilyModelGolden.swift"))
    ap.add_argument("--learning-curve", type=float, metavar="LAMBDA",
                    help="print CV accuracy against the number of even-id photos trained on, at this lambda, and write nothing")
    args = ap.parse_args()

    ids, split, y, X = read(args.features)
    tr = split != "odd"
    syn = split == "synthetic"
    print(f"{len(ids)} rows, {X.shape[1]} features; training on {(split == 'even').sum()} even ids and {syn.sum()} synthetic photos, "
          f"{(~tr).sum()} odd ids held out")
    if args.learning_curve is not None:
        for n, acc in learning_curve(X[tr], y[tr], ids[tr], syn[tr], args.learning_curve):
            print(f"  {n:.0f} even-id photos (+ {syn.sum()} synthetic): CV accuracy {100 * acc:.1f} %")
        return
    best = None
    for lam in LAMBDAS:
        m, s = cross_validate(X[tr], y[tr], ids[tr], syn[tr], lam)
        print(f"  lambda {lam:g}: 5-fold CV accuracy within even ids {100 * m:.1f} % (± {100 * s:.1f})")
        if best is None or m > best[1] + 1e-12:
            best = (lam, m, s)
    lam, cv, cv_sd = best
    mean, scale = standardiser(X[tr])
    W, b = fit((X[tr] - mean) / scale, y[tr], lam)
    params = (mean, scale, W, b)
    even = split == "even"
    train = accuracy(X[even], y[even], params)
    train_syn = accuracy(X[syn], y[syn], params) if syn.any() else float("nan")
    held = accuracy(X[~tr], y[~tr], params)
    print(f"chosen lambda {lam:g}: CV {100 * cv:.1f} %, training: even ids {100 * train:.1f} %, synthetic {100 * train_syn:.1f} %; "
          f"held out (odd, not used) {100 * held:.1f} %")
    note = (f"Fitted on {even.sum()} Myntra photos with even ids and {syn.sum()} generated photos; lambda {lam:g} by 5-fold CV "
            f"within the even ids (CV accuracy {100 * cv:.1f} %, training accuracy on even ids {100 * train:.1f} %).")
    write_weights(pathlib.Path(args.weights), params, note)
    write_golden(pathlib.Path(args.golden), params)
    print(f"wrote {args.weights} and {args.golden}")


if __name__ == "__main__":
    main()
