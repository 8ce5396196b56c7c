"""Understanding speed: start-up (gazetteer + classifier) and utterances per second on one core."""

from __future__ import annotations

import json
import time
from pathlib import Path

from config.catalog import load_catalog
from config.settings import PACKAGE_DIR

SAMPLE = [
    "dạ cho em phản ánh đường trước nhà em ngập sâu lắm ở phường nhiêu lộc",
    "cống bị tắc nước đen tràn lên mặt đường ở phường mười một quận gò vấp",
    "đèn đường hẻm một trăm năm đường số tư tắt cả tuần nay tối đi về sợ cướp giật",
    "mất điện từ sáng tới giờ ở xã bình chánh",
    "karaoke hàng xóm mở to quá khuya ở phường thao dien thanh pho thu duc",
    "cây ngã đè đứt dây điện ở phường bảy hiền",
    "xe buýt tuyến mười chín chạy ẩu ở phường bến thành",
    "nop ho so lam can cuoc ma tre hen hoai o phuong an hoi tay",
]


def startup_seconds() -> tuple[float, object]:
    """Seconds to import the modules, load the catalog and gazetteer and compile the classifier."""
    started = time.perf_counter()
    from routing.gazetteer import Gazetteer
    from routing.understand import Understander

    understander = Understander(load_catalog(PACKAGE_DIR), Gazetteer.load())
    return time.perf_counter() - started, understander


def throughput(understander: object, texts: list[str], seconds: float = 3.0) -> float:
    """Utterances understood per second, single thread, over texts repeated for about `seconds`."""
    understand = understander.understand  # type: ignore[attr-defined]
    for text in texts:
        understand(text)  # warm caches
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for text in texts:
            understand(text)
        done += len(texts)
    return done / (time.perf_counter() - started)


def texts_from(path: Path | None) -> list[str]:
    """The sample sentences plus the texts of a labelled JSONL file when it exists."""
    texts = list(SAMPLE)
    if path is not None and path.is_file():
        texts += [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return texts
