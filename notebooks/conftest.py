"""pytest settings for running the notebooks with nbval (``pytest notebooks --nbval-lax``).

nbval reads a cell's output messages only after the cell has finished, and a
Jupyter client keeps at most about 1,000 unread messages: a long cell that
updates a progress-bar widget ten times a second can lose the rest, including
the "idle" message nbval waits for, and nbval then fails a cell that ran
correctly ("Timeout of N seconds exceeded waiting for output"; seen on notebook
08 in CI). So the helpers' progress bars update at most once a second
(``helpers.config.PROGRESS_INTERVAL_S``). nbval also waits a hard-coded 5
seconds for each message (computationalmodelling/nbval#136, #231), short on a
busy 2-core machine: give it a minute. The cell's own time limit
(``--nbval-cell-timeout``) is unchanged.
"""

OUTPUT_TIMEOUT_SECONDS = 60


def pytest_collection_modifyitems(config, items):
    for item in items:
        if hasattr(item, "output_timeout"):
            item.output_timeout = OUTPUT_TIMEOUT_SECONDS
