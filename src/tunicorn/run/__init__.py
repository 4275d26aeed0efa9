"""Stage 2, running and measuring: the app under a real server and real load, and what it did.

The servers themselves are `tunicorn.launch` and the load `tunicorn.load` (the stages this one
drives). Here: `workload` (what the load asks for: crawled pages, a scenario, a locustfile),
`measure` (one configuration's trial: its windows, errors, CPU and memory), `sample` and
`balance` (the server's processes and where its connections landed), `deal` (a kept-alive
capacity dealt again), `profile` (where a request's time goes, before tuning), `eventloop`
(a blocked ASGI event loop, in figures), `probe` and `stacking` (a running server probed from
outside) and `upstream` (the delaying proxy in front of the app's own upstreams, run as
`python -m tunicorn.run.upstream`).

It may import the shared modules at the top of the package, `tunicorn.app`, `tunicorn.launch`
and `tunicorn.load`; never `decide`, `deploy`, `report` or `cli`.
"""
