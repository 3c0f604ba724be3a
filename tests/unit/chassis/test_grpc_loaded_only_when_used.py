"""gRPC is loaded only by a platform that speaks it (MERCATO_INTERNAL_TRANSPORT=grpc): on
the default HTTP transport no process imports grpc (~9 MB of RSS each) or serves it."""

from __future__ import annotations

import subprocess
import sys

BUILD_EVERY_APP = """
import sys
from mercato.chassis import Runtime, load_settings
from mercato.chassis.runtime import make_instance
import mercato.gateway, mercato.cli.main
for name in ('identity', 'catalog', 'inventory', 'cart', 'orders', 'payments', 'shipping',
             'notifications'):
    module = __import__(f'mercato.services.{name}.bootstrap', fromlist=['build'])
    runtime = Runtime(name, load_settings(), make_instance(name, 1, 'http://x', '1'))
    module.build(runtime)
    assert not runtime.grpc_on
print(sorted(m for m in sys.modules if m == 'grpc' or m.startswith('grpc.'))[:1])
"""


def test_building_every_service_on_the_http_transport_loads_no_grpc():
    done = subprocess.run([sys.executable, "-c", BUILD_EVERY_APP],
                          env={"MERCATO_INTERNAL_TRANSPORT": "http", "PATH": ""},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"  # the first grpc module loaded, if any

