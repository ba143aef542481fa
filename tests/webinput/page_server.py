"""A test web page on 127.0.0.1 that counts how often it was loaded: a 1280x720 scene of known colours
(a blue background, a red square at a fixed place), a bar that moves every frame, and a 1000 Hz tone."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TONE_HZ = 1000
BACKGROUND = (30, 144, 255)  #: RGB
SQUARE = (220, 20, 20)  #: RGB, at x 100..300, y 400..600
PAGE = f"""<!doctype html><html><head><meta charset="utf-8"><title>scoreboard 比分</title></head>
<body style="margin:0;overflow:hidden;background:rgb{BACKGROUND}">
<canvas id="c" width="1280" height="720"></canvas>
<script>
const c = document.getElementById('c'), g = c.getContext('2d'); let n = 0;
function draw() {{
  n++; g.fillStyle = 'rgb{BACKGROUND}'; g.fillRect(0, 0, 1280, 720);
  g.fillStyle = 'rgb{SQUARE}'; g.fillRect(100, 400, 200, 200);
  g.fillStyle = '#ffffff'; g.fillRect((n * 7) % 1180, 100, 100, 100);
  g.font = '48px sans-serif'; g.fillText('比分 2:1 · frame ' + n, 500, 500);
  requestAnimationFrame(draw);
}}
draw();
const ac = new AudioContext(); const o = ac.createOscillator(); const gain = ac.createGain();
o.frequency.value = {TONE_HZ}; gain.gain.value = 0.5; o.connect(gain); gain.connect(ac.destination); o.start();
</script></body></html>""".encode()


class PageServer:
    """Serves ``/page.html`` (and ``/other.html``, the same page) and counts the loads of each."""

    def __init__(self) -> None:
        loads: dict[str, int] = {}
        self.loads = loads

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                if path not in ("/page.html", "/other.html"):
                    self.send_error(404)
                    return
                loads[path] = loads.get(path, 0) + 1
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(PAGE)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(PAGE)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
