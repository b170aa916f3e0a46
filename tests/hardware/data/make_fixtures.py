"""Writes the small NumPy fixtures the replay tests read (run with python3-numpy).
Values are closed-form so the tests state them independently:
  spectra[iy, ix, k] = 0.5 * (iy * 15 + ix * 5 + k)     shape (4, 3, 5)
  bias_v[k]          = -1 + 0.5 * k                      (5)
  x_m[ix]            = 1e-7 * ix                         (3)
  y_m[iy]            = 1e-6 + 2e-7 * iy                  (4)
  height[iy, ix]     = 1e-9 * (ix + 10 * iy)             (4, 3)
"""
import numpy as np

spectra = 0.5 * np.arange(4 * 3 * 5, dtype=np.float64).reshape(4, 3, 5)
common = dict(spectra=spectra, bias_v=-1 + 0.5 * np.arange(5), x_m=1e-7 * np.arange(3),
              y_m=1e-6 + 2e-7 * np.arange(4), height=1e-9 * (np.arange(3)[None, :] + 10 * np.arange(4)[:, None]),
              signal_name=np.array("current"), signal_unit=np.array("A"))
np.savez_compressed("small_compressed.npz", **common)
np.savez("small_stored.npz", **{**common, "spectra": spectra.astype(np.float32)})
np.save("spectra_fortran_f4be.npy", np.asfortranarray(spectra.astype(">f4")))
