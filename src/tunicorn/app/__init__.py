"""Stage 1, the app: find what to serve and how to run it, before anything is started.

`target` resolves the app spec (module:attribute, WSGI or ASGI, the interpreter that runs it),
`find` reads a project folder for its entry point, `inapp` is what runs inside the app's own
interpreter (its source is read by path and run with `-c`), and `redact` is the one place a
request's secrets are stopped before anything shows or writes it.

It may import the shared modules at the top of the package (settings, errors, record,
supervise, model, interval, machine, plans) and nothing from a later stage.
"""
