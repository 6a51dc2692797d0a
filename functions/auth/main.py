"""Cloud Function `auth`: its routes are in assay.web.routes; this file only wires them."""

import functions_framework
from assay.web.app import http_function

auth = functions_framework.http(http_function("auth"))
