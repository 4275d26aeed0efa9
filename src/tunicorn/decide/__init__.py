"""Stage 3, deciding: which configurations to try, which held up, and which one to recommend.

`tune` drives the search over a plan: `search` names what to try next, `rank` says which
trials are eligible, best and tied, `settle` re-measures the close calls, `stall` tries the
finalists under a stalled upstream, `recommend` turns the trials into the recommendation,
`modelonly` answers from the models alone (`tunicorn recommend`), and `unmet` says why when
nothing met the target. The formulas they share live in `tunicorn.model`, the intervals in
`tunicorn.interval`.

It may import the shared modules at the top of the package and the earlier stages (`app`,
`launch`, `load`, `run`); never `deploy`, `report` or `cli`.
"""
