"""Golden numbers for the DPO loss (Rafailov et al. 2023) on fixed log-probabilities.

loss = mean_i -log sigmoid(beta * ((pc_i - rc_i) - (pr_i - rr_i)))
d loss / d pc_i = -beta * sigmoid(-z_i) / n,  d loss / d pr_i = +beta * sigmoid(-z_i) / n

Run: python3 dpo_reference.py > dpo-golden.json
"""
import json
import numpy as np

rng = np.random.default_rng(6)
cases = []
for beta, n, scale in [(0.1, 5, 3.0), (0.5, 4, 10.0), (2.0, 3, 40.0)]:
    pc = -rng.uniform(1, 30, n) 
    pr = -rng.uniform(1, 30, n)
    rc = pc + rng.normal(0, scale, n)
    rr = pr + rng.normal(0, scale, n)
    pc, pr, rc, rr = (x.astype(np.float32).astype(np.float64) for x in (pc, pr, rc, rr))
    z = beta * ((pc - rc) - (pr - rr))
    loss = np.mean(np.logaddexp(0.0, -z))  # -log sigmoid(z) = softplus(-z)
    sig_minus = 1.0 / (1.0 + np.exp(z))
    cases.append({
        "beta": beta,
        "policy_chosen": pc.tolist(), "policy_rejected": pr.tolist(),
        "reference_chosen": rc.tolist(), "reference_rejected": rr.tolist(),
        "loss": float(loss),
        "grad_policy_chosen": (-beta * sig_minus / n).tolist(),
        "grad_policy_rejected": (beta * sig_minus / n).tolist(),
    })
print(json.dumps({"cases": cases}, indent=1))
