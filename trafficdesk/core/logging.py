from __future__ import annotations

import logging

from trafficdesk.core.validators import mask_personal_data_in_text


class MaskPersonalDataFilter(logging.Filter):
    """Masks resident ID numbers and mobile numbers in every log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_personal_data_in_text(message)
        if masked != message:
            record.msg = masked
            record.args = None
        return True
