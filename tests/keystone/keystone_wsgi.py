"""gunicorn's entry point for Keystone (``keystone_wsgi:application``).

Keystone's WSGI module parses ``sys.argv`` with oslo.config on import; under gunicorn
that is gunicorn's command line, and the worker would die with "unrecognized
arguments". So the arguments are hidden first. The configuration file comes from
``OS_KEYSTONE_CONFIG_FILES``, which keystone_service.py sets.
"""

import sys

sys.argv = sys.argv[:1]

from keystone.wsgi.api import application  # noqa: E402,F401
