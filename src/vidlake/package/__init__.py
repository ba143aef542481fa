"""HLS packaging shared by VOD and live: see :mod:`vidlake.package.hls`."""
