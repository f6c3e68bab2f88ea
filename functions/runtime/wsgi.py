"""The WSGI entry point the local gateway server loads: ``functions.runtime.wsgi:application``."""

from functions.observability import logger
from functions.runtime.app_loader import load_app
from functions.runtime.gateway import WsgiGateway
from functions.runtime.state import announce_ready

logger.append_keys(function="api_handler")  # ./surge logs tells the functions apart by this
application = WsgiGateway(load_app())
announce_ready("gateway")
