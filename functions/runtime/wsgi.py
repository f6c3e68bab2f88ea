"""The WSGI entry point the local gateway server loads: ``functions.runtime.wsgi:application``."""

from functions.runtime.app_loader import load_app
from functions.runtime.gateway import WsgiGateway

application = WsgiGateway(load_app())
