"""A webhook receiver for the black-box tests: verifies every delivery with the Standard Webhooks
reference library (`standardwebhooks`), an implementation independent of fieldtrail's, and
appends one JSON line per request to a log file: the webhook-id, the event type and the alert
id when the signature verifies, or the error when it does not.

    webhook_receiver.py PORT SECRET LOG
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

PORT, SECRET, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3]
VERIFIER = Webhook(SECRET)


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            payload = VERIFIER.verify(body, headers)
            line = {
                "id": headers["webhook-id"],
                "type": payload["type"],
                "alert_id": payload["data"]["id"],
                "has_timestamp": "timestamp" in payload,
            }
            status = 204
        except Exception as err:  # noqa: BLE001 - every failure is reported to the test
            line = {"error": f"{type(err).__name__}: {err}", "id": headers.get("webhook-id")}
            status = 400
        with open(LOG, "a", encoding="utf-8") as log:
            log.write(json.dumps(line) + "\n")
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Receiver)
    print("ready", flush=True)
    server.serve_forever()
