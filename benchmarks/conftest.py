"""Benchmark session settings: one BLAS thread, so every figure is per core."""

import pytest

from .common import benchmark_model


@pytest.fixture(scope="session", autouse=True)
def one_blas_thread():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1):
        yield


@pytest.fixture(scope="session")
def model():
    return benchmark_model()


def pytest_benchmark_update_json(config, benchmarks, output_json):
    """Record which model and BLAS the numbers were measured with."""
    import numpy as np
    import threadpoolctl

    m = benchmark_model()
    output_json["smass"] = {
        "model": m.name, "hidden": m.network.n_hidden, "activation": m.network.activation,
        "n_bands": len(m.bands), "numpy": np.__version__,
        "blas": [{k: i.get(k) for k in ("internal_api", "architecture", "version")}
                 for i in threadpoolctl.threadpool_info()],
    }
