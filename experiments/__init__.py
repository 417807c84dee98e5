"""Research runs beside the course: never imported by ``helpers/`` or the lessons.

``experiments.capstone``: lesson 09's capstone recipe with one idea changed at a time, as typed
specifications that the zoo can train and load (``experiments.capstone.register()``). Run them from the
repository root (``benchmarks/capstone.py --model NAME``), where ``experiments`` is importable; it is not
part of the installed ``helpers`` package.
"""
