"""Placeholder until the evaluation harness lands."""


def save_run_figures(run_dir, images, dataset):  # type: ignore[no-untyped-def]
    return None
