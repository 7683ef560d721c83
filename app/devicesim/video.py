"""HLS test stream of the simulator: one ffmpeg process (test pattern + a clock overlay), started on the
first request and stopped after a minute without viewers, so an idle simulator costs no CPU."""

from __future__ import annotations

import glob
import shutil
import subprocess
import threading
import time
from pathlib import Path

FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")


def ffmpeg_path() -> str | None:
    return shutil.which("ffmpeg")


class LiveStream:
    def __init__(self, root: Path, idle_seconds: float = 60.0):
        self.dir = root / "live"
        self.idle = idle_seconds
        self.proc: subprocess.Popen | None = None
        self.last_view = 0.0
        self.lock = threading.Lock()

    def _command(self, exe: str) -> list[str]:
        font = next((f for f in FONTS if Path(f).exists()), None)
        clock = (
            "drawtext=text='%{localtime\\:%H\\\\\\:%M\\\\\\:%S}'"
            ":x=8:y=8:fontsize=28:fontcolor=white:box=1:boxcolor=black@0.6"
        )
        if font:
            clock = f"drawtext=fontfile={font}:" + clock.removeprefix("drawtext=")
        return [
            exe,
            "-hide_banner",
            "-loglevel",
            "error",
            "-re",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x180:rate=10",
            "-vf",
            clock,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
            "-g",
            "10",
            "-pix_fmt",
            "yuv420p",
            "-f",
            "hls",
            "-hls_time",
            "1",
            "-hls_list_size",
            "6",
            "-hls_flags",
            "delete_segments+omit_endlist",
            str(self.dir / "index.m3u8"),
        ]

    def ensure(self) -> bool:
        """Start ffmpeg if needed; False where ffmpeg is not installed."""
        self.last_view = time.time()
        exe = ffmpeg_path()
        if exe is None:
            return False
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                shutil.rmtree(self.dir, ignore_errors=True)
                self.dir.mkdir(parents=True, exist_ok=True)
                self.proc = subprocess.Popen(self._command(exe), stdin=subprocess.DEVNULL)
        return True

    def wait_ready(self, timeout: float = 8.0) -> bool:
        end = time.time() + timeout
        while time.time() < end:
            if (self.dir / "index.m3u8").exists():
                return True
            time.sleep(0.1)
        return False

    def reap_idle(self) -> None:
        with self.lock:
            if self.proc is not None and self.proc.poll() is None and time.time() - self.last_view > self.idle:
                self.stop()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None

    def clip(self, out: Path) -> bool:
        """Save the segments the live stream has now as one MP4 (stream copy, no re-encoding)."""
        exe = ffmpeg_path()
        # The newest segment may still be written and the oldest deleted: copy the finished ones first.
        segs = sorted(glob.glob(str(self.dir / "*.ts")), key=lambda p: Path(p).stat().st_mtime)[:-1]
        if exe is None or not segs:
            return False
        tmp = out.parent / f".{out.stem}-parts"
        tmp.mkdir(exist_ok=True)
        parts = []
        for i, seg in enumerate(segs):
            try:
                parts.append(str(Path(shutil.copy(seg, tmp / f"{i:04d}.ts"))))
            except FileNotFoundError:
                continue
        try:
            res = subprocess.run(
                [
                    exe,
                    "-hide_banner",
                    "-loglevel",
                    "error",
                    "-y",
                    "-i",
                    "concat:" + "|".join(parts),
                    "-c",
                    "copy",
                    "-movflags",
                    "+faststart",
                    str(out),
                ],
                stdin=subprocess.DEVNULL,
                timeout=30,
                check=False,
            )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return bool(parts) and res.returncode == 0 and out.exists()
