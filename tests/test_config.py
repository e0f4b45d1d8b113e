"""The presets' precision: bfloat16 only where the CPU multiplies it in hardware, the notebook always float32."""

from __future__ import annotations

from pathlib import Path

from mnist_core.config import BF16_NATIVE, HyperParams, native_bf16, preset

AMD_BF16 = "flags\t\t: fpu vme avx2 avx512f avx512_bf16 avx512_vnni\n"
INTEL_AMX = "flags\t\t: fpu avx512f amx_bf16 amx_tile amx_int8\n"
NO_BF16 = "flags\t\t: fpu vme avx2 avx512f avx512_vnni\n"


def test_bf16_is_native_only_with_its_instructions(tmp_path: Path) -> None:
    for text, native in ((AMD_BF16, True), (INTEL_AMX, True), (NO_BF16, False), ("flags : avx512_bf16x\n", False)):
        (tmp_path / "cpuinfo").write_text(text)
        assert native_bf16(tmp_path / "cpuinfo") is native, text
    assert native_bf16(tmp_path / "missing") is False  # not Linux: float32


def test_presets_train_in_bf16_where_it_pays_and_the_notebook_never() -> None:
    assert preset("default").bf16 is BF16_NATIVE and preset("fast").bf16 is BF16_NATIVE
    assert preset("seed").bf16 is False


def test_a_sidecar_from_before_bf16_reads_as_float32() -> None:
    old = {k: v for k, v in HyperParams().to_dict().items() if k != "bf16"}
    assert HyperParams.from_dict(old).bf16 is False
    assert HyperParams.from_dict({**old, "bf16": True}).bf16 is True
