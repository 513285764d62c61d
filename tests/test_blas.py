"""evolino.blas: one BLAS thread inside a context, nested contexts on one thread cost nothing, the setting from
before is back after the outermost."""

import pytest

from evolino import blas

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads() -> set[int]:
    return {info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"}


def test_nested_contexts_hold_one_thread_and_restore_the_setting_after_the_outermost(monkeypatch):
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        with blas.single_threaded_blas():
            assert _blas_threads() == {1}
            limits = []
            monkeypatch.setattr(blas._controller, "limit", lambda **kwargs: limits.append(kwargs))
            with blas.single_threaded_blas(), blas.single_threaded_blas():
                assert _blas_threads() == {1}
            assert limits == []  # the inner contexts did not touch threadpoolctl
            monkeypatch.undo()
            assert _blas_threads() == {1}
        assert _blas_threads() == before
        with pytest.raises(KeyError), blas.single_threaded_blas():
            raise KeyError("leaving by an exception")
        assert _blas_threads() == before and blas._local.depth == 0
