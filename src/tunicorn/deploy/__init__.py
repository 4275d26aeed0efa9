"""Stage 4, deploying: the recommendation written, checked and rehearsed as App Service runs it.

`emit` writes the startup command and its files in each format, `check` reads a project
folder (or a startup command) for what App Service would do wrong with it, `rehearse` builds
and starts the app the way Oryx does, and `packages`/`requirements` read what the app
installs.

It may import the shared modules at the top of the package and the earlier stages (`app`,
`launch`, `load`, `run`, `decide`); never `report` or `cli`.
"""
