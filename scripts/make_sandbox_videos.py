"""Make the sandbox's bundled MP4s: 5 s at 30 fps, one per common aspect ratio.

Run once by a developer (needs PyAV and NumPy: `pip install av numpy`); the output is
committed as package data (wrapper/wan_i2v/sandbox/videos/) so that the sandbox itself needs
no video library. They stay small whatever tier is asked: the sandbox shapes the nearest one
to each request by writing the tier's size at the input's exact aspect into its track header
(tkhd) and padding it with a free box (wan_i2v/sandbox/_mp4.py).

    python scripts/make_sandbox_videos.py
"""

from __future__ import annotations

from pathlib import Path

# name: (width, height). Small, even sizes (H.264 needs even dimensions).
VARIANTS = {
    "16x9": (320, 180),
    "9x16": (180, 320),
    "1x1": (240, 240),
    "4x3": (320, 240),
    "3x4": (240, 320),
}
FPS = 30
SECONDS = 5


def make(path: Path, width: int, height: int) -> None:
    import av
    import numpy as np

    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "35", "preset": "veryslow", "movflags": "+faststart"}
        for i in range(FPS * SECONDS):
            # A bar sweeping across a gradient: visibly a video, tiny once compressed.
            frame = np.zeros((height, width, 3), dtype=np.uint8)
            frame[..., 0] = np.linspace(40, 200, width, dtype=np.uint8)[None, :]
            frame[..., 2] = np.linspace(200, 60, height, dtype=np.uint8)[:, None]
            x = int(i / (FPS * SECONDS) * width)
            frame[:, max(0, x - 8) : x + 8, 1] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def main() -> None:
    out = Path(__file__).resolve().parents[1] / "wrapper" / "wan_i2v" / "sandbox" / "videos"
    out.mkdir(exist_ok=True)
    for name, (width, height) in VARIANTS.items():
        make(out / f"{name}.mp4", width, height)
        print(out / f"{name}.mp4", (out / f"{name}.mp4").stat().st_size, "bytes")


if __name__ == "__main__":
    main()
