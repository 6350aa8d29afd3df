import os

from hypothesis import HealthCheck, settings

# Deterministic, bounded property tests: CI runs on 2 cores within minutes.
settings.register_profile("tinygan", max_examples=40, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "tinygan"))
