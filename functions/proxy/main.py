"""Cloud Function `proxy` (ASGI): forwards any path to ASSAY_PROXY_UPSTREAM; deployed once per
upstream with the label `assay-proxy`. The proxy itself is assay.services.proxy."""

import functions_framework.aio
from assay.web.proxy import proxy

proxy = functions_framework.aio.http(proxy)
