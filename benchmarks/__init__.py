"""Benchmark scripts: thin layers over subrational_gym and llm_experts."""
