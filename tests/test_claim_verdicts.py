"""The claims' verdicts on simulated grids whose truth is known, through the real code.

`benchmark.stats.simulate` draws the paper's grid (12 settings, fggp + 4 competitors +
dense, a seed effect shared by the methods) as result dicts and judges them as
`analyse` does. The rates asserted are those of a fixed numpy seed; each bound leaves
room for the Monte-Carlo error of the number of grids, stated per test (3 sd of a 5%
rate over n grids is 3 sqrt(0.05 * 0.95 / n)). `python -m benchmark.stats.simulate`
prints the full tables with 2,000 grids per scenario (docs/results.md).
"""

from __future__ import annotations

import pytest

from benchmark.stats import simulate
from benchmark.stats.claims import TEXTS

NULL_GRIDS = 300
NULL_BOUND = 0.05 + 3 * (0.05 * 0.95 / NULL_GRIDS) ** 0.5  # 8.8%


@pytest.mark.parametrize(
    "seeds, persistent", [(3, 1.5), (5, 0.75)], ids=["3 seeds, persistent 1.5", "5 seeds, 0.75"]
)
def test_all_methods_equal_no_claim_is_decided_more_often_than_alpha(seeds, persistent):
    """Every decision is wrong here. A method's luck with a seed persisting across an
    architecture's settings made the Iman-Davenport verdict 'contradicted' in 20% of
    such grids; each claim's test must keep its 5%, and the family-wise verdicts their
    5% for all five claims together."""
    scenario = simulate.Scenario("null", seeds, 1.5, persistent)
    rates = simulate.rates(scenario, NULL_GRIDS, seed=seeds)
    for claim in TEXTS:
        decided = rates.supported[claim] + rates.contradicted[claim]
        assert decided <= NULL_BOUND, (claim, rates)
    assert rates.any_decided_family <= NULL_BOUND, rates


def test_at_the_papers_scale_of_noise_the_claims_can_be_supported():
    """Run sd 0.15 (the GraNet tables' ±), FGGP ahead of every competitor by 0.5 points
    at 95 and 98% (8 of 12 settings), 5 seeds: claims 1, 4 and 5 were never supported by
    the grid-wide Holm family; each claim's own test must support them in at least 80%
    (measured: 99% or more with 2,000 grids; 100 grids here, bound 80%)."""
    (scenario, *_) = simulate.power_scenarios()
    rates = simulate.rates(scenario, 100, seed=11)
    for claim in (1, 2, 4, 5):
        assert rates.supported[claim] >= 0.8, (claim, rates)
    assert max(rates.contradicted.values()) == 0.0, rates


def test_a_true_lead_is_not_contradicted():
    """sd 1.5, lead 2 in 8 of 12, 5 seeds: too little for claims 1, 4 and 5 to be
    supported often, but no claim that holds may be called contradicted (a 5% bound)."""
    scenario = simulate.power_scenarios()[1]
    rates = simulate.rates(scenario, 100, seed=12)
    assert max(rates.contradicted.values()) <= 0.05, rates
    assert rates.supported[2] >= 0.5, rates  # the rank test over seeds has the power here
