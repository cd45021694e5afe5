"""Which catalog chip a CUDA device name is (its peaks are what measured rates are fractions of)."""

from __future__ import annotations

from coscale.errors import CoscaleError

# (substrings that must all appear in the device name, catalog id), most specific first
_RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("GB200",), "gb200"), (("GB300",), "gb300"), (("B300",), "b300"), (("B200",), "b200"),
    (("GH200",), "gh200"), (("H200",), "h200-sxm"), (("H800",), "h800-sxm"), (("H100", "PCIE"), "h100-pcie"),
    (("H100",), "h100-sxm"), (("A100",), "a100-sxm-80gb"), (("L40S",), "l40s"), (("L4",), "l4"),
    (("A10G",), "a10g"), (("RTX PRO 6000",), "rtx-pro-6000-blackwell"), (("5090",), "rtx-5090"),
    (("4090",), "rtx-4090"), (("MI355",), "mi355x"), (("MI325",), "mi325x"), (("MI300",), "mi300x"),
)


def catalog_id_for(device_name: str) -> str:
    upper = device_name.upper()
    for needles, cid in _RULES:
        if all(n in upper for n in needles):
            return cid
    raise CoscaleError(f"no catalog chip matches device '{device_name}'; pass --hardware <catalog id or JSON file> "
                       "so measured rates can be read as fractions of its peaks")
