"""The DMA barrier: the C core issues it between the last buffer write and the LENGTH write.

The core is compiled here for the host with its test hook, driven through callbacks that log
every register access, and the log shows where the barrier falls. On ARM the barrier is a DSB
(plus the PL310 sync when mapped); the generated code is checked where a cross compiler exists.
The Python level calls the board's barrier at the same point, which a spy shows on the model.
"""

from __future__ import annotations

import mmap
import shutil
import subprocess
from pathlib import Path

import pytest

import dmasim
from dmasim import regmap
from dmasim.drivers import registers

NATIVE = Path(dmasim.__file__).parent / "drivers" / "native"

HARNESS = r"""
#include <stdio.h>
#include "dmasim_dma.h"

static int rd(void *ctx, uint64_t addr, uint32_t *v) { (void)ctx; (void)addr; *v = 0; return 0; }
static int wr(void *ctx, uint64_t addr, uint32_t v) {
    (void)ctx; printf("W %llx %x\n", (unsigned long long)addr, v); return 0; }
static int dl(void *ctx, uint64_t ns) { (void)ctx; (void)ns; return 0; }
static int nw(void *ctx, uint64_t *now) { (void)ctx; *now = 0; return 0; }
static void hook(void *ctx) { (void)ctx; printf("BARRIER\n"); }

int main(void) {
    dmasim_ops ops = {rd, wr, dl, nw, NULL};
    dmasim_dev dev;
    dmasim_barrier_hook = hook;
    if (dmasim_init_callbacks(&dev, &ops, 0x40400000u, 0x10000u)) return 2;
    printf("BUFFER\n"); /* the CPU's last buffer write comes before program() */
    if (dmasim_program(&dev, DMASIM_S2MM_BASE, 0x10000000u, 4096u, 1)) return 3;
    if (dmasim_program(&dev, DMASIM_MM2S_DMACR, 0x10001000u, 64u, 0)) return 4;
    printf("DSB %d\n", dmasim_barrier_is_dsb());
    return 0;
}
"""


@pytest.fixture(scope="module")
def cc():
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler on this machine")
    return compiler


def test_core_issues_the_barrier_right_before_length(tmp_path, cc):
    (tmp_path / "harness.c").write_text(HARNESS)
    exe = tmp_path / "harness"
    subprocess.run([cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-DDMASIM_TEST_HOOKS",
                    f"-I{NATIVE}", str(tmp_path / "harness.c"), str(NATIVE / "dmasim_dma.c"),
                    "-o", str(exe)], check=True, capture_output=True, timeout=120)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True,
                         timeout=30).stdout.split("\n")
    base = 0x4040_0000
    s2mm, mm2s = regmap.S2MM, regmap.MM2S
    assert out[:9] == [
        "BUFFER",
        f"W {base + s2mm.ADDR:x} 10000000", f"W {base + s2mm.ADDR_MSB:x} 0",
        "BARRIER", f"W {base + s2mm.LENGTH:x} 1000",
        f"W {base + mm2s.ADDR:x} 10001000",
        "BARRIER", f"W {base + mm2s.LENGTH:x} 40",
        "DSB 0",  # a host build: the barrier is a compiler barrier only
    ]


ARM_CC = ("arm-linux-gnueabihf-gcc", "arm-none-eabi-gcc")


@pytest.mark.parametrize("cross", ARM_CC)
def test_arm_build_emits_dsb_before_the_length_store(tmp_path, cross):
    """Where an ARM cross compiler exists, the generated code has DSB in dmasim_barrier."""
    if shutil.which(cross) is None:
        pytest.skip(f"{cross} is not installed (apt-get install gcc-arm-linux-gnueabihf)")
    asm = tmp_path / "core.s"
    subprocess.run([cross, "-std=c11", "-O2", "-mcpu=cortex-a9", "-mfpu=neon", "-S", f"-I{NATIVE}",
                    str(NATIVE / "dmasim_dma.c"), "-o", str(asm)], check=True,
                   capture_output=True, timeout=120)
    text = asm.read_text()

    def body(fn: str) -> str:
        code = text[text.index(f"\n{fn}:"):]
        return code[:code.index(".size")]

    assert body("dmasim_barrier").count("dsb") >= 2  # before and after the PL310 sync
    program = body("dmasim_program")
    assert "dsb" in program or "dmasim_barrier" in program  # inlined or called


def test_barrier_syncs_the_pl310_through_the_mapping(tmp_path):
    """The binding's Barrier writes 0 to CACHE_SYNC in the mapped file (standing in for
    /dev/mem) and waits for bit 0 to read 0."""
    cffi_device = pytest.importorskip("dmasim.drivers.native.cffi_device")
    from dmasim.board.target import PL310_CACHE_SYNC

    page = PL310_CACHE_SYNC & ~(mmap.PAGESIZE - 1)
    mem = tmp_path / "mem"
    with open(mem, "wb") as f:  # sparse: only the PL310's page holds data
        f.truncate(page + mmap.PAGESIZE)
        f.seek(PL310_CACHE_SYNC)
        f.write((0xDEAD_BEE0).to_bytes(4, "little"))
    barrier = cffi_device.Barrier(str(mem), PL310_CACHE_SYNC)
    assert barrier.outer_sync
    barrier()
    with open(mem, "rb") as f:
        f.seek(PL310_CACHE_SYNC)
        assert f.read(4) == b"\0\0\0\0"
    with pytest.raises(dmasim.TargetError):
        cffi_device.Barrier(str(tmp_path / "absent"), PL310_CACHE_SYNC)


def test_python_level_calls_the_barrier_before_length(monkeypatch):
    """program_transfer: address, barrier, LENGTH (the Python level's order on the board)."""
    log: list[tuple] = []

    class Regs:
        def read(self, offset):
            return 0

        def write(self, offset, value):
            log.append(("W", offset, value))

    registers.program_transfer(Regs(), regmap.MM2S, 0x1000_0000, 64, True,
                               lambda: log.append(("BARRIER",)))
    assert log == [("W", regmap.MM2S.ADDR, 0x1000_0000), ("W", regmap.MM2S.ADDR_MSB, 0),
                   ("BARRIER",), ("W", regmap.MM2S.LENGTH, 64)]


def test_python_level_uses_the_targets_barrier(target, monkeypatch):
    """On any target that offers ``dma_barrier`` (the board), the Python level calls it before
    each LENGTH write: the LENGTH registers seen from inside the barrier show where."""
    if target.name == "board":
        pytest.skip("spies on the barrier; the board's is the real one")
    regs = target.ip_mmio()
    calls = []
    monkeypatch.setattr(target, "dma_barrier",
                        lambda: calls.append((regs.read(regmap.S2MM.LENGTH),
                                              regs.read(regmap.MM2S.LENGTH))), raising=False)
    # The level looks for the barrier when it is created: drop one an earlier test made.
    target._drivers.pop(("python", "axi_dma_0"), None)
    dma = target.driver("python")
    src = target.allocate((16,), "u4")
    dst = target.allocate((16,), "u4")
    src[:] = range(16)
    dma.recvchannel.transfer(dst)
    dma.sendchannel.transfer(src)
    dma.sendchannel.wait()
    dma.recvchannel.wait()
    assert calls == [(0, 0), (64, 0)]
    assert list(dst) == list(range(16))
