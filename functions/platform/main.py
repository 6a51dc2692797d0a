"""Cloud Function `platform`: its routes are in assay.web.routes; this file only wires them."""

import functions_framework
from assay.web.app import http_function

platform = functions_framework.http(http_function("platform"))
