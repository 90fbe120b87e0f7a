"""The evaluation harness: BEIR datasets, retrieval and answer metrics, runs, reports and plots."""
