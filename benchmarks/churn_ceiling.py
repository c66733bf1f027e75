"""How far above BTYD any churn score can get on the synthetic projects: the Bayes ceiling.

    uv run python benchmarks/churn_ceiling.py [--customers 4000] [--seeds 17 5 11 23]

For each seed it generates a project, scores churn at as_of the way tests/churn/test_truth.py does, and
prints the ROC AUC against the truth (no order in the horizon after as_of) of BTYD's P(no purchase), the
baseline, of the trained classifier, and of the Bayes posterior under the generator's own process and true
parameters (`cxdata.synth.ceiling`), with the classifier's share of the ceiling's margin over BTYD
(tests/churn/test_truth.py asks for at least half).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from sklearn.metrics import roc_auc_score

from cxdata.churn.features import build_features
from cxdata.churn.score import score_features
from cxdata.churn.train import train
from cxdata.run_context import end_of_day
from cxdata.synth import SynthParams, generate_project
from cxdata.synth.ceiling import bayes_ceiling
from cxdata.synth.facts import churn_inputs, person_facts


def measure(root: Path) -> dict[str, float]:
    """The AUCs of BTYD, the classifier and the Bayes ceiling on a generated project, and the ceiling's
    silence rate and tracked share."""
    config, facts = person_facts(root)
    as_of = end_of_day(config.as_of, config.timezone)
    churn = config.models.churn
    inputs = churn_inputs(facts)
    training = train(inputs, churn, as_of)
    features = build_features(inputs, as_of, churn, training.channels)
    scores = score_features(training, features, churn, "ceiling")
    ceiling = bayes_ceiling(root, facts, features, as_of, churn.horizon_days)
    frame = ceiling.scores.join(scores, on="customer_key", validate="1:1")
    y = frame["churned"].to_numpy()
    return {
        "customers": frame.height,
        "btyd": roc_auc_score(y, frame["btyd_p_no_purchase"].to_numpy()),
        "classifier": roc_auc_score(y, frame["churn_probability"].to_numpy()),
        "ceiling": ceiling.auc,
        "rate": ceiling.silence_rate,
        "share": ceiling.tracked_share,
    }


def main() -> None:
    """Print, per seed, the AUC of BTYD, of the classifier and of the Bayes ceiling, and the margins."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=4000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[17, 5, 11, 23])
    args = parser.parse_args()
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            generate_project(Path(tmp), SynthParams(customers=args.customers, seed=seed))
            m = measure(Path(tmp))
        model, ceiling = m["classifier"] - m["btyd"], m["ceiling"] - m["btyd"]
        print(
            f"seed {seed:>3}  {m['customers']:,} customers  BTYD {m['btyd']:.4f}  "
            f"classifier {m['classifier']:.4f} ({model:+.4f})  Bayes ceiling {m['ceiling']:.4f} ({ceiling:+.4f}; "
            f"absence of signs of life at {m['rate']}/day for {m['share']:.0%} of people)  "
            f"classifier/ceiling margin {model / ceiling:.0%}",
            flush=True,
        )


if __name__ == "__main__":
    main()
