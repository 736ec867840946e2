"""Multi-core decoding is bit-identical to a single-thread decode."""
import numpy as np
import pytest

import mp3restore
from conftest import FIXTURES

NAMES = ["stereo_joint_vbr2_44100.mp3", "stereo_joint_cbr64_44100.mp3", "mono_cbr24_12000.mp3",
         "stereo_joint_cbr128_44100_crc.mp3"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("restore", [False, True])
def test_read_threads_bit_identical(name, restore):
    p = FIXTURES / name
    one, _ = mp3restore.read(p, restore=restore)
    for n in (2, 3, 7):
        many, _ = mp3restore.read(p, restore=restore, threads=n)
        np.testing.assert_array_equal(many, one)


@pytest.mark.parametrize("restore", [False, True])
def test_blocks_threads_bit_identical(restore):
    p = FIXTURES / "stereo_joint_vbr5_44100.mp3"
    one, _ = mp3restore.read(p, restore=restore)
    parts = list(mp3restore.blocks(p, 5000, restore=restore, threads=2))
    np.testing.assert_array_equal(np.concatenate(parts), one)


def test_threads_argument_is_checked():
    with pytest.raises(mp3restore.InputError):
        mp3restore.read(FIXTURES / NAMES[0], threads=-1)
    a, _ = mp3restore.read(FIXTURES / NAMES[0], threads=0)  # all cores
    b, _ = mp3restore.read(FIXTURES / NAMES[0])
    np.testing.assert_array_equal(a, b)
