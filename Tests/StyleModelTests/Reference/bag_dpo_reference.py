"""Golden numbers for DPO on bag-of-words scores, from fixed logits at the blank.

A pair's score of an answer a under the policy, with L the look's blank logits and E the
empty outfit's (context-free calibration; E absent: none):
  s(a) = (1/|a| if mean else 1) * sum_{t in a} [log_softmax(L)[t] - log_softmax(E)[t]]
loss = mean_i -log sigmoid(beta * ((s(c_i) - rc_i) - (s(r_i) - rr_i)))
and its gradient with respect to every logit row (float64, by hand).

Run: python3 bag_dpo_reference.py > bag-dpo-golden.json
"""
import json
import numpy as np

def log_softmax(x):
    m = x.max()
    return x - (m + np.log(np.exp(x - m).sum()))

rng = np.random.default_rng(16)
cases = []
V = 13
for beta, mean, prior in [(0.1, True, True), (1.0, False, True), (0.5, True, False)]:
    n = 3
    rows = 4  # three looks (rows 0-2) and the empty outfit (row 3)
    logits = rng.normal(0, 2, (rows, V)).astype(np.float32).astype(np.float64)
    looks = [0, 1, 2]
    chosen = [sorted(rng.choice(V, size=k, replace=False).tolist()) for k in (3, 1, 4)]
    rejected = [sorted(rng.choice(V, size=k, replace=False).tolist()) for k in (2, 3, 1)]
    ref_c = rng.normal(0, 1, n).astype(np.float32).astype(np.float64)
    ref_r = rng.normal(0, 1, n).astype(np.float32).astype(np.float64)
    lsm = np.array([log_softmax(r) for r in logits])
    sm = np.exp(lsm)

    def score(look, bag):
        w = 1.0 / len(bag) if mean else 1.0
        s = sum(lsm[look, t] for t in bag)
        if prior:
            s -= sum(lsm[3, t] for t in bag)
        return w * s

    def score_grad(look, bag):
        w = 1.0 / len(bag) if mean else 1.0
        g = np.zeros_like(logits)
        for t in bag:
            e = np.zeros(V); e[t] = 1
            g[look] += w * (e - sm[look])
            if prior:
                g[3] -= w * (e - sm[3])
        return g

    sc = np.array([score(looks[i], chosen[i]) for i in range(n)])
    sr = np.array([score(looks[i], rejected[i]) for i in range(n)])
    z = beta * ((sc - ref_c) - (sr - ref_r))
    loss = np.mean(np.logaddexp(0.0, -z))
    grad = np.zeros_like(logits)
    for i in range(n):
        dz = -beta / (1 + np.exp(z[i])) / n
        grad += dz * (score_grad(looks[i], chosen[i]) - score_grad(looks[i], rejected[i]))
    cases.append({
        "beta": beta, "mean": mean, "prior": prior, "vocab": V,
        "logits": logits.ravel().tolist(), "looks": looks, "prior_row": 3,
        "chosen": chosen, "rejected": rejected,
        "reference_chosen": ref_c.tolist(), "reference_rejected": ref_r.tolist(),
        "score_chosen": sc.tolist(), "score_rejected": sr.tolist(),
        "loss": float(loss), "grad_logits": grad.ravel().tolist(),
    })
print(json.dumps({"cases": cases}, indent=1))
