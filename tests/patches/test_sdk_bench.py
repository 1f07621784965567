"""The SDK benchmark runs against a real server and reports its ratios (small counts, no timing goal here)."""

from __future__ import annotations

from bench import sdk_bench


def test_the_sdk_benchmark_reports_cached_and_revalidated_reads_against_network_reads() -> None:
    figures = sdk_bench.run(rounds=1, network_reads=5, cached_reads=50)
    assert set(sdk_bench.RATIOS) <= set(figures)
    assert figures["network_read_s"] > 0 and figures["cached_read_s"] > 0
    assert (
        figures["cached_to_network_ratio"] == figures["cached_read_s"] / figures["network_read_s"]
    )
