"""Cloud Function `templates`: its routes are in assay.web.routes; this file only wires them."""

import functions_framework
from assay.web.app import http_function

templates = functions_framework.http(http_function("templates"))
