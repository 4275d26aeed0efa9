"""The report stage: terminal (rich), JSON and HTML views of saved records.

It may import the shared modules and every stage before it (a report reads their records
and phrases); only `cli` imports it.
"""
