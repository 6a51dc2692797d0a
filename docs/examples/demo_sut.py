"""A toy system under test for the README walkthrough: answers geography questions.

    python docs/examples/demo_sut.py            # serves http://127.0.0.1:9000/ask
POST /ask {"question": "..."} -> {"answer": "..."}; it needs `Authorization: Bearer demo-token`.
"""

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CAPITALS = {"france": "Paris", "japan": "Tokyo", "italy": "Rome", "peru": "Lima"}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if self.headers.get("Authorization") != "Bearer demo-token":
            status, reply = 401, {"error": "unauthorized"}
        else:
            question = str(body.get("question", "")).lower()
            country = next((c for c in CAPITALS if c in question), None)
            answer = f"{CAPITALS[country]} is the capital of {country.title()}." if country else "I don't know."
            status, reply = 200, {"answer": answer}
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    print("demo system under test on http://127.0.0.1:9000/ask")
    ThreadingHTTPServer(("127.0.0.1", 9000), Handler).serve_forever()
