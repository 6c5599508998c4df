from threadpoolctl import threadpool_info, threadpool_limits

from plugin.app import create_app
from plugin.core.config import Settings
from plugin.wiring import KitFactory


def blas_threads() -> set[int]:
    return {library["num_threads"] for library in threadpool_info() if library["user_api"] == "blas"}


def test_the_app_gives_blas_one_thread_per_call(settings, engine):
    with threadpool_limits(2, user_api="blas"):
        assert blas_threads() == {2}
        create_app(settings, engine=engine)
        assert blas_threads() == {1}


def test_every_kit_of_a_process_predicts_on_its_one_classifier_pool(session):
    kits = KitFactory(Settings())

    first, second = kits.kit(session, 1), kits.kit(session, 2)

    assert first.classifier_pool is kits.classifier_pool
    assert second.classifier_pool is kits.classifier_pool
