"""Cloud Function `proxy_data`: its routes are in assay.web.routes; this file only wires them."""

import functions_framework
from assay.web.app import http_function

proxy_data = functions_framework.http(http_function("proxy_data"))
