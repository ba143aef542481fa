"""Web inputs: a web page rendered by a real Chromium and streamed into a live stream (Mux's
``/video/v1/web-inputs``). :mod:`~vidlake.webinput.service` is the API side, :mod:`~vidlake.webinput.runner`
runs them in the ``serve`` process that owns live ingest, :mod:`~vidlake.webinput.browser` starts the
processes of one, :mod:`~vidlake.webinput.proxy` guards what its pages may reach."""
