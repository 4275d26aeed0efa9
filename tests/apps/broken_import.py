"""An app whose module raises at import: the error must name this file's line."""

import os

SETTING = os.environ["TUNICORN_TEST_SETTING_THAT_IS_NEVER_SET"]
app = None
