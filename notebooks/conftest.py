"""pytest settings for running the notebooks with nbval (``pytest notebooks --nbval-lax``).

nbval waits a hard-coded 5 seconds for each output message after a cell has
finished (computationalmodelling/nbval#136, #231). On a busy 2-core CI machine a
cell with progress bars can go quiet for longer than that, and nbval then fails
a cell that ran correctly ("Timeout of 5 seconds exceeded waiting for output").
Give it a minute instead; the cell's own time limit (``--nbval-cell-timeout``)
is unchanged.
"""

OUTPUT_TIMEOUT_SECONDS = 60


def pytest_collection_modifyitems(config, items):
    for item in items:
        if hasattr(item, "output_timeout"):
            item.output_timeout = OUTPUT_TIMEOUT_SECONDS
