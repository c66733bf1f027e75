"""Probabilistic matching of CRM records that share no identifier, with Splink on an in-memory DuckDB.

A CRM duplicate (one person registered twice) gets a new ``customer_ref`` and
often an email with a ``+tag`` or a typo, so the deterministic graph keeps the
two records apart. This module scores pairs of customer records with a
Fellegi-Sunter model and returns those at or above a match probability; the
graph takes them as extra edges. It is the only module that imports Splink.

Preparation (polars): names trimmed, lower-cased and stripped of accents;
email local part without its ``+tag``; postcode upper-case without spaces. An
email, local part or phone carried by more than ``_SHARED`` records is a
placeholder or a shared mailbox, not evidence about a person, so it is nulled.

Model: comparisons with Jaro-Winkler levels on names, exact postcode, email
(exact / local part exact / local part within one edit), exact phone and
country. Candidate pairs share postcode+last name, phone, email local part, or
first+last name+postcode area. Training, all deterministic for a given ``seed``:

* the prior (probability two random records match) from deterministic rules
  (same email local part or phone, and the same names) with an assumed recall;
* ``u`` by Splink's seeded random sampling of record pairs (hash-based, so the
  same sample every run);
* ``m`` by expectation maximisation with ``u`` fixed, in two sessions blocked on
  postcode, on phone and on email local part, so that every comparison is
  estimated in at least one even when a session fails (Splink raises when an m
  underflows to 0, which clean synthetic data can cause).
  EM blocked on first+last name was tried and rejected: same-name strangers
  outnumber duplicates there and EM settles on the wrong cluster.

A level EM saw but never observed among matches gets Splink's 1e-6 floor
(listed in ``stats["not_observed"]``). Fewer than ``_MIN_RECORDS`` records, or a
level no training step estimated, returns no pairs with the reason in
``stats["skipped"]``: Splink would fall back on arbitrary defaults, and a false
merge costs more than a missed one.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import polars as pl

_MIN_RECORDS = 100
_SHARED = 10  # records per email / phone beyond which a value says nothing about a person
_MAX_BLOCK = 200  # records per blocking value: bounds each rule to at most ~n * 100 pairs
_U_PAIRS = 1e6  # random pairs for u: enough to see a level with u ~1e-5 about ten times
_EM_PAIRS = 2e6  # EM converges on a hash sample of the blocked pairs as well as on all of them
_RULE_RECALL = 0.8  # assumed share of true duplicates the deterministic prior rules find


@dataclass(frozen=True)
class Matches:
    """Pairs at or above the threshold, the trained model and run figures.

    ``pairs``: customer_ref_l < customer_ref_r, match_probability, match_weight, evidence.
    ``model``: Splink's settings dict with the trained m/u of every level and the prior (json-serialisable).
    ``stats``: records, candidate_pairs, pairs, seconds, prior, skipped (reason or None).
    """

    pairs: pl.DataFrame
    model: dict
    stats: dict


_PAIRS_SCHEMA = {
    "customer_ref_l": pl.String,
    "customer_ref_r": pl.String,
    "match_probability": pl.Float64,
    "match_weight": pl.Float64,
    "evidence": pl.String,
}


def match_customers(customers: pl.DataFrame, threshold: float, seed: int = 0) -> Matches:
    """Score candidate pairs of customer records with a trained Splink model; keep those ≥ ``threshold``."""
    start = time.perf_counter()
    prepared = _prepare(customers)
    stats: dict = {"records": prepared.height, "candidate_pairs": 0, "pairs": 0, "prior": None, "skipped": None}
    stats.update(not_observed=[], em_failed=[])
    pairs, model = pl.DataFrame(schema=_PAIRS_SCHEMA), {}
    if prepared.height < _MIN_RECORDS:
        stats["skipped"] = f"{prepared.height} records: too few to estimate u and m (need {_MIN_RECORDS})"
    else:
        pairs, model = _run_splink(prepared, threshold, seed, stats)
    stats["pairs"] = pairs.height
    stats["seconds"] = round(time.perf_counter() - start, 3)
    return Matches(pairs=pairs, model=model, stats=stats)


def _clean_name(column: str) -> pl.Expr:
    text = pl.col(column).cast(pl.String).str.strip_chars().str.to_lowercase()
    # NFKD splits "é" into "e" and a combining mark, which \p{M} then removes
    text = text.str.normalize("NFKD").str.replace_all(r"\p{M}", "").str.replace_all(r"\s+", " ")
    return pl.when(text.str.len_chars() > 0).then(text).alias(column)


def _prepare(customers: pl.DataFrame) -> pl.DataFrame:
    email = pl.col("email").cast(pl.String)
    local = email.str.extract(r"^([^@+]+)", 1)
    postcode = pl.col("postcode").cast(pl.String).str.to_uppercase().str.replace_all(r"[^0-9A-Z]", "")
    country = pl.col("country").cast(pl.String).str.strip_chars().str.to_uppercase()
    frame = customers.select(
        pl.col("customer_ref").cast(pl.String),
        _clean_name("first_name"),
        _clean_name("last_name"),
        pl.when(postcode.str.len_chars() > 0).then(postcode).alias("postcode"),
        pl.when(country.str.len_chars() > 0).then(country).alias("country"),
        pl.concat_str([local, pl.lit("@"), email.str.extract(r"@(.+)$", 1)]).alias("email"),
        local.alias("email_local"),
        pl.col("phone").cast(pl.String),
    ).filter(pl.col("customer_ref").is_not_null())
    shared = {c: _common(pl.col(c), _SHARED) for c in ("email", "email_local", "phone")}
    frame = frame.with_columns(pl.when(~common).then(pl.col(c)).alias(c) for c, common in shared.items())
    # composite blocking keys; a key held by too many records would make a quadratic block
    keys = {
        "block_postcode_last": ["postcode", "last_name"],
        "block_names_area": ["first_name", "last_name", pl.col("postcode").str.slice(0, 3)],
    }
    key_exprs = {name: pl.concat_str(parts, separator="|") for name, parts in keys.items()}
    return frame.with_columns(
        pl.when(~_common(expr, _MAX_BLOCK)).then(expr).alias(name) for name, expr in key_exprs.items()
    )


def _common(expr: pl.Expr, limit: int) -> pl.Expr:
    return expr.is_not_null() & (pl.len().over(expr) > limit)


def _comparisons(cl, cll) -> list:
    """Splink comparisons; each agreeing level is labelled with the text it adds to ``evidence``."""

    def comparison(column: str, levels: list) -> object:
        return cl.CustomComparison(
            output_column_name=column,
            comparison_levels=[cll.NullLevel(column), *levels, cll.ElseLevel()],
        )

    def exact(column: str, label: str | None = None) -> object:
        return cll.ExactMatchLevel(column).configure(label_for_charts=label or f"{column} exact")

    def similar(column: str, threshold: float, label: str | None = None) -> object:
        text = f"{label or column} ~{threshold}"
        return cll.JaroWinklerLevel(column, threshold).configure(label_for_charts=text)

    names = [comparison(c, [exact(c), similar(c, 0.92), similar(c, 0.8)]) for c in ("first_name", "last_name")]
    email_levels = [
        exact("email"),
        exact("email_local", "email local part exact"),
        # one edit, not Jaro-Winkler: local parts are built from the names, so "maria.ruiz64" and
        # "maria.ruiz17" (two people) score ~0.95 and would count the name agreement twice
        cll.DamerauLevenshteinLevel("email_local", 1).configure(label_for_charts="email local part 1 edit"),
    ]
    return [
        *names,
        comparison("postcode", [exact("postcode")]),
        comparison("email", email_levels),
        comparison("phone", [exact("phone")]),
        comparison("country", [exact("country")]),
    ]


def _run_splink(prepared: pl.DataFrame, threshold: float, seed: int, stats: dict) -> tuple[pl.DataFrame, dict]:
    # Splink takes about a second to import; only runs with matching enabled should pay it
    import duckdb
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    rules = ["block_postcode_last", "phone", "email_local", "block_names_area"]
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="customer_ref",
        comparisons=_comparisons(cl, cll),
        blocking_rules_to_generate_predictions=[block_on(rule) for rule in rules],
        retain_matching_columns=True,  # brings the gamma_ columns the evidence text is read from
        linker_uid=f"cxdata{seed}",  # Splink draws a random one, which would make the model dict differ per run
    )
    con = duckdb.connect(":memory:")
    try:
        db_api = DuckDBAPI(con)
        table = db_api.register(prepared.to_arrow(), table_name="customers_prepared")
        # Splink warns per unobserved level and per sampling probe; `stats` carries what matters of that
        linker = Linker(table, settings, log_level=logging.ERROR)
        training = linker.training
        prior_rules = [
            block_on("email_local", "first_name", "last_name"),
            block_on("phone", "first_name", "last_name"),
        ]
        training.estimate_probability_two_random_records_match(prior_rules, recall=_RULE_RECALL)
        training.estimate_u_using_random_sampling(max_pairs=_U_PAIRS, seed=seed)
        # u stays fixed, so a block made mostly of duplicates is fine: m is then their level distribution
        prior = linker._settings_obj._probability_two_random_records_match
        for column in ("postcode", "phone", "email_local"):
            try:
                training.estimate_parameters_using_expectation_maximisation(block_on(column), max_pairs=_EM_PAIRS)
            except ValueError as error:  # Splink rejects an m that underflowed to 0; the other sessions may do
                stats["em_failed"].append(f"blocked on {column}: {error}")
                # a failed session leaves its within-block prior on the linker
                linker._settings_obj._probability_two_random_records_match = prior
        untrained = _settle_unobserved(linker, stats)
        model = linker.misc.save_model_to_json()
        stats["prior"] = model["probability_two_random_records_match"]
        if untrained or not stats["prior"]:
            what = ", ".join(untrained) or "prior (no pairs meet the deterministic rules)"
            stats["skipped"] = f"model not trained: no estimate for {what}"
            return pl.DataFrame(schema=_PAIRS_SCHEMA), model
        # blocked pairs are ids only; predict reuses them from Splink's cache and scores above the threshold
        blocked = linker.inference.compute_blocked_pairs_for_predict().as_duckdbpyrelation()
        stats["candidate_pairs"] = blocked.count("*").fetchone()[0]
        scored = linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")
        columns = ["customer_ref_l", "customer_ref_r", "match_probability", "match_weight"]
        columns += [f"gamma_{c['output_column_name']}" for c in model["comparisons"]]
        kept = pl.from_arrow(scored.as_duckdbpyrelation().select(*columns).arrow())
    finally:
        con.close()
    return _pairs(kept, model), model


def _settle_unobserved(linker, stats: dict) -> list[str]:
    """Give levels that training saw but never observed Splink's 1e-6 floor; list those never estimated at all.

    Splink leaves a level's m (u) unset when every session that estimated it found
    no pairs at that level — a synthetic CRM copies names exactly, so no duplicate
    shows a name typo. Unset, predict would fall back on arbitrary defaults; the
    data's answer is "about never", which is Splink's own not-observed floor.
    """
    from splink.internals.constants import LEVEL_NOT_OBSERVED_TEXT

    unobserved, never = [], []
    for comparison in linker._settings_obj.comparisons:
        for level in comparison._comparison_levels_excluding_null:
            for kind in ("m", "u"):
                if getattr(level, f"_{kind}_probability") is not None:
                    continue
                tried = getattr(level, f"_trained_{kind}_probabilities")
                (unobserved if tried else never).append(f"{kind}({level.label_for_charts})")
                if tried:
                    setattr(level, f"{kind}_probability", LEVEL_NOT_OBSERVED_TEXT)
    stats["not_observed"] = unobserved
    return never


def _pairs(scored: pl.DataFrame, model: dict) -> pl.DataFrame:
    evidence = []
    for comparison in model["comparisons"]:
        levels = [level for level in comparison["comparison_levels"] if not level.get("is_null_level")]
        # gamma counts down from the first non-null level (n-1) to the else level (0)
        labels = {len(levels) - 1 - i: level["label_for_charts"] for i, level in enumerate(levels[:-1])}
        gamma = pl.col(f"gamma_{comparison['output_column_name']}")
        evidence.append(gamma.replace_strict(labels, default=None, return_dtype=pl.String))
    left, right = pl.col("customer_ref_l"), pl.col("customer_ref_r")
    return (
        scored.select(
            pl.min_horizontal(left, right).alias("customer_ref_l"),
            pl.max_horizontal(left, right).alias("customer_ref_r"),
            pl.col("match_probability").cast(pl.Float64),
            pl.col("match_weight").cast(pl.Float64),
            pl.concat_str(evidence, separator=", ", ignore_nulls=True).alias("evidence"),
        )
        .sort("match_probability", "customer_ref_l", "customer_ref_r", descending=[True, False, False])
        .cast(_PAIRS_SCHEMA)
    )
