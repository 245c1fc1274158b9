"""Chain loops are found among jobs' on_success_run / on_failure_run before they are synced."""

from repos.chains import chain_loops


def test_loops_are_found_however_long_and_a_plain_chain_is_not_one():
    assert chain_loops({"A": ["B"], "B": ["A"]}, ["A"]) == [["A", "B", "A"]]
    assert chain_loops({"A": ["A"]}, ["A"]) == [["A", "A"]]
    assert chain_loops({"A": ["B"], "B": ["C"], "C": ["B"]}, ["A"]) == [["B", "C", "B"]]
    assert chain_loops({"A": ["B", "C"], "B": ["C"], "C": []}, ["A"]) == []
