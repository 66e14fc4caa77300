"""Render the call display's sounds into trafficdesk/static/hallqueue/sounds/ (a developer's tool).

    .venv/bin/python scripts/make_board_sounds.py

* chime.ogg — a two-tone "ding-dong" (E5 then C5 with a few harmonics, exponential decay),
  1.2 s, mono 22050 Hz, synthesised here with the standard library (wave + math).
* one clip per word of a call (请, the ticket letters, 零…九, 十, 号到, 号窗口办理; and for the
  English call: "Number", the digits, "please go to window"), spoken by espeak-ng (voice
  "cmn" for Chinese, "en" for English and for the letters), leading and trailing silence cut.

Every file is encoded with oggenc (Vorbis) when it is installed, else kept as 16-bit WAV.
Needs `apt-get install -y espeak-ng vorbis-tools`. The clip names must match
trafficdesk.hallqueue.rules.CLIPS_ZH / CLIPS_EN (tests/hallqueue/test_board_rules.py checks).
The output is generated, so it is in the public domain (CC0); espeak-ng's voice data is GPL-3
but sound it renders is not covered by that licence.
"""

from __future__ import annotations

import array
import math
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "trafficdesk" / "static" / "hallqueue" / "sounds"
RATE = 22050
LETTERS = "ABCDEFGZ"  # the ticket prefixes (hallqueue.services.PREFIX_BY_CATEGORY, and Z)
ZH_DIGITS = "零一二三四五六七八九"

#: clip name -> (espeak-ng voice, text)
CLIPS: dict[str, tuple[str, str]] = {
    "zh-qing": ("cmn", "请"),
    "zh-hao-dao": ("cmn", "号到"),
    "zh-hao-chuangkou": ("cmn", "号窗口办理"),
    "zh-shi": ("cmn", "十"),
    **{f"zh-{n}": ("cmn", digit) for n, digit in enumerate(ZH_DIGITS)},
    **{f"letter-{c.lower()}": ("en", c) for c in LETTERS},
    "en-number": ("en", "Number"),
    "en-please-go-to-window": ("en", "please go to window"),
    **{f"en-{n}": ("en", str(n)) for n in range(10)},
}


def chime_samples(rate: int = RATE, seconds: float = 1.2) -> list[float]:
    """Ding (E5) at 0 s, dong (C5) at 0.42 s, each a bell-like tone with two soft harmonics."""
    total = int(rate * seconds)
    out = [0.0] * total
    for start, freq in ((0.0, 659.25), (0.42, 523.25)):
        first = int(start * rate)
        for i in range(total - first):
            t = i / rate
            envelope = math.exp(-3.2 * t) * min(1.0, t / 0.004)  # 4 ms attack, no click
            tone = (
                math.sin(2 * math.pi * freq * t)
                + 0.35 * math.sin(2 * math.pi * 2 * freq * t) * math.exp(-4 * t)
                + 0.12 * math.sin(2 * math.pi * 3 * freq * t) * math.exp(-6 * t)
            )
            out[first + i] += 0.42 * envelope * tone
    fade = int(0.05 * rate)  # end at silence
    for i in range(fade):
        out[total - 1 - i] *= i / fade
    return out


def write_wav(path: Path, samples: list[float], rate: int = RATE) -> None:
    pcm = array.array("h", (int(max(-1.0, min(1.0, s)) * 32767) for s in samples))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


def read_wav(path: Path) -> tuple[list[float], int]:
    with wave.open(str(path), "rb") as source:
        assert source.getnchannels() == 1 and source.getsampwidth() == 2
        pcm = array.array("h", source.readframes(source.getnframes()))
        return [s / 32768 for s in pcm], source.getframerate()


def trimmed(samples: list[float], rate: int, threshold: float = 0.02) -> list[float]:
    """Cut the silence espeak-ng puts around a word, keeping 30 ms either side."""
    loud = [i for i, s in enumerate(samples) if abs(s) > threshold]
    if not loud:
        return samples
    pad = int(0.03 * rate)
    return samples[max(0, loud[0] - pad) : loud[-1] + pad]


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} is missing: apt-get install -y espeak-ng vorbis-tools")
    return found


def speak(voice: str, text: str, path: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        speed = "150" if voice == "cmn" else "160"
        command = [_tool("espeak-ng"), "-v", voice, "-s", speed, "-w", str(raw), text]
        subprocess.run(command, check=True)  # noqa: S603 - our own fixed words
        samples, rate = read_wav(raw)
        write_wav(path, trimmed(samples, rate), rate)


def encode(wav: Path) -> Path:
    """The WAV as Ogg Vorbis (small) when oggenc is installed; else the WAV itself."""
    if shutil.which("oggenc") is None:
        return wav
    ogg = wav.with_suffix(".ogg")
    command = [_tool("oggenc"), "-Q", "-q", "1", "-o", str(ogg), str(wav)]
    subprocess.run(command, check=True)  # noqa: S603 - our own files
    wav.unlink()
    return ogg


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    write_wav(OUT / "chime.wav", chime_samples())
    made = [encode(OUT / "chime.wav")]
    if shutil.which("espeak-ng") is None:
        print("espeak-ng is missing: only the chime was made (apt-get install -y espeak-ng)")
    else:
        for name, (voice, text) in CLIPS.items():
            speak(voice, text, OUT / f"{name}.wav")
            made.append(encode(OUT / f"{name}.wav"))
    total = sum(p.stat().st_size for p in made)
    print(f"{len(made)} files, {total // 1024} KB in {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
