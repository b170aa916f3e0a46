"""A fake vendor layer for testing the bridge's protocol handling without a microscope.

Everything is closed-form so a test can check values exactly:
  scan range       x, y in [0, 10 um]; limits 5 V, 1 uA, 10 V/s
  move_tip(x, y)   goes exactly there (refused outside the range)
  DoIV(t, V)       I = G(x) * V with G(x) = 1e-9 S * (1 + x / 10 um); time and bias as given
  scan(ch, nx, ny) native 64x48; "topography"[iy, ix] = 1e-9 * ix + 2e-9 * iy (m),
                   "current"[iy, ix] = 1e-12 * (ix + iy) (A); x0 = y0 = 0,
                   dx = 10 um / (nx - 1), dy = 10 um / (ny - 1)
  "fail" in the channel list raises VendorError("disconnected", ...) (a lost controller link).
Fault injection for the tests, from the environment:
  SDM_FAKE_SWEEP_DELAY_S   seconds every DoIV takes on top (a vendor slower than the client's timeout)
  SDM_FAKE_TRIP_ABOVE_A    a sweep whose |I| exceeds this raises VendorError("tripped", ...)
state() reports "idle, N sweeps" (N: DoIV calls that ran), so a test can count physical sweeps.
"""
import os
import time

import numpy as np

from sdm_bridge import Instrument, VendorError

RANGE_M = 10e-6


class FakeInstrument(Instrument):
    name = "fake vendor (tests)"

    def __init__(self):
        self.x_m = 0.0
        self.y_m = 0.0
        self.clock = 0.0
        self.sweeps = 0
        self.sweep_delay_s = float(os.environ.get("SDM_FAKE_SWEEP_DELAY_S", "0"))
        self.trip_above_a = float(os.environ.get("SDM_FAKE_TRIP_ABOVE_A", "inf"))

    def limits(self):
        return dict(x_min_m=0.0, x_max_m=RANGE_M, y_min_m=0.0, y_max_m=RANGE_M, max_bias_v=5.0,
                    max_current_a=1e-6, max_sweep_rate_v_per_s=10.0, channels=["topography", "current"],
                    signal_name="current", signal_unit="A")

    def position(self):
        return self.x_m, self.y_m

    def clock_s(self):
        return self.clock

    def state(self):
        return "idle, %d sweeps" % self.sweeps

    def move_tip(self, x_m, y_m):
        if not (0.0 <= x_m <= RANGE_M and 0.0 <= y_m <= RANGE_M):
            raise VendorError("refused", "position (%g, %g) m is outside the 10 um scan range" % (x_m, y_m))
        self.x_m, self.y_m = x_m, y_m
        return x_m, y_m

    def DoIV(self, time_s, bias_v):  # noqa: N802
        self.sweeps += 1
        if self.sweep_delay_s > 0:
            time.sleep(self.sweep_delay_s)
        g = 1e-9 * (1.0 + self.x_m / RANGE_M)
        self.clock += float(time_s[-1])
        current = g * bias_v
        if np.max(np.abs(current)) > self.trip_above_a:
            raise VendorError("tripped", "current compliance tripped: |I| = %g A > %g A" % (np.max(np.abs(current)), self.trip_above_a))
        return time_s, bias_v, current

    def scan(self, channels, nx, ny):
        if "fail" in channels:
            raise VendorError("disconnected", "controller link lost during the scan")
        nx = nx or 64
        ny = ny or 48
        ix = np.arange(nx)[None, :]
        iy = np.arange(ny)[:, None]
        maps = {"topography": ("m", 1e-9 * ix + 2e-9 * iy), "current": ("A", 1e-12 * (ix + iy))}
        out = []
        for c in channels:
            if c not in maps:
                raise VendorError("refused", "no channel %s; available: topography, current" % c)
            unit, data = maps[c]
            out.append((c, unit, np.broadcast_to(data, (ny, nx))))
        axes = dict(nx=nx, ny=ny, x0_m=0.0, y0_m=0.0, dx_m=RANGE_M / (nx - 1), dy_m=RANGE_M / (ny - 1))
        return dict(axes=axes, channels=out)
