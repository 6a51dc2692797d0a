"""Cloud Function `worker`: executes one test case per Pub/Sub message (a CloudEvent)."""

import functions_framework
from assay.web.cloudevents import handle_case_event


@functions_framework.cloud_event
def worker(event):  # type: ignore[no-untyped-def]
    handle_case_event(event)
