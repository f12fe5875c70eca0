"""The main job (``make demo``).

Until the LLM replication lands, it prints the behaviour of every reference policy.
"""

from __future__ import annotations

from benchmarks import reference_policies

if __name__ == "__main__":
    reference_policies.main()
